"""Real server processes for tests: `conbench serve` or `conbench dev` on a free loopback port."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

from conbench.embedded_pg import free_port


@dataclass
class ServerProcess:
    proc: subprocess.Popen
    base_url: str
    log_path: Path
    _log: object = field(repr=False, default=None)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if self._log is not None:
            self._log.close()  # type: ignore[attr-defined]
        return self.proc.returncode


def base_env(**extra: str) -> dict[str, str]:
    """A clean environment for a child server: PATH and what the test says, nothing inherited."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/")}
    env.update(extra)
    return env


def start(
    args: list[str], env: dict[str, str], log_path: Path, port: int | None = None
) -> ServerProcess:
    """Start `conbench <args>` and wait until /api/ping answers (30 s at most)."""
    port = port or free_port()
    env = {**env, "CONBENCH_ADDR": env.get("CONBENCH_ADDR", f"127.0.0.1:{port}")}
    log = open(log_path, "w")  # noqa: SIM115 - closed by the process's end
    proc = subprocess.Popen(
        [sys.executable, "-m", "conbench", *args],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    server = ServerProcess(proc, f"http://{env['CONBENCH_ADDR']}", log_path, log)
    wait_for_ping(server)
    return server


def wait_for_ping(server: ServerProcess, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            server.stop()
            raise RuntimeError(f"server exited with {server.proc.returncode}:\n{server.log()}")
        try:
            if requests.get(server.base_url + "/api/ping", timeout=1).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.1)
    server.stop(signal.SIGKILL)
    raise RuntimeError(f"server did not answer /api/ping within {timeout}s:\n{server.log()}")


def children(pid: int) -> list[int]:
    """Direct child processes of `pid` (gunicorn workers of a master)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == pid:
            found.append(int(entry.name))
    return found
