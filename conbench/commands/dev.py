"""`conbench dev`: one command from a fresh checkout to a working local server.

The embedded PostgreSQL lives in a persistent data directory guarded by a lock file, so two
`conbench dev` never share it; a server left running by a killed earlier run is reused, and
stopped with this run.
"""

from __future__ import annotations

import argparse
import dataclasses
import fcntl
import os
import sys
import time
from pathlib import Path

from conbench.cli import Env, load_settings

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]")


def default_data_dir(env: Env) -> Path:
    base = env.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "conbench" / "dev"


def cmd_dev(env: Env, args: argparse.Namespace) -> int:
    from conbench.embedded_pg import EmbeddedPostgres, EmbeddedPostgresError

    host = args.addr.rsplit(":", 1)[0]
    base_url = f"http://{args.addr}"
    dev_env = {
        **env,
        "CONBENCH_DB_URL": "postgresql://placeholder@127.0.0.1/postgres",
        "CONBENCH_ADDR": args.addr,
        "CONBENCH_INTENDED_BASE_URL": base_url,
        # Writes need no credentials only because the server is reachable from this machine alone.
        "CONBENCH_AUTH_DISABLED": "true" if host in LOOPBACK_HOSTS else "false",
        "CONBENCH_INIT_SCHEMA": "true",
        "CONBENCH_SEED": "true",
    }
    settings = load_settings(dev_env)
    if settings is None:
        return 1

    data_dir = Path(args.data_dir).expanduser() if args.data_dir else default_data_dir(env)
    data_dir.mkdir(parents=True, exist_ok=True)
    lock = _lock_data_dir(data_dir)
    if lock is None:
        print(f"error: another conbench dev is using {data_dir}", file=sys.stderr)
        return 1

    pg = EmbeddedPostgres(data_dir)
    master = os.getpid()
    started_at = time.monotonic()
    try:
        leftover = pg.running()
        if leftover is not None:
            print(
                f"reusing PostgreSQL (pid {leftover.pid}) left running by an earlier conbench dev",
                file=sys.stderr,
            )
        server, _ = pg.start()
        settings = dataclasses.replace(settings, db_url=server.url())
        print(
            f"conbench dev: PostgreSQL {data_dir} ready in {time.monotonic() - started_at:.1f}s",
            file=sys.stderr,
        )
        print(f"conbench dev: serving {base_url}  (Ctrl-C stops server and database)", flush=True)
        from conbench.commands.serve import serve

        return serve(settings, workers=args.workers, threads=1)
    except EmbeddedPostgresError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        if os.getpid() == master:  # forked gunicorn workers unwind through here too
            pg.stop()
            lock.close()


def _lock_data_dir(data_dir: Path):  # type: ignore[no-untyped-def]
    """An exclusive, non-blocking lock on the data directory, held until the process ends."""
    handle = open(data_dir / "dev.lock", "w")  # noqa: SIM115 - held for the process lifetime
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        return None
    handle.write(str(os.getpid()))
    handle.flush()
    # Forked gunicorn workers would keep the lock alive after a killed master; they drop their copy.
    os.register_at_fork(after_in_child=handle.close)
    return handle
