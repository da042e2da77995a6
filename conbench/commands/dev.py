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

DEV_TOKEN_FILE = "dev-token"


def default_data_dir(env: Env) -> Path:
    base = env.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "conbench" / "dev"


def cmd_dev(env: Env, args: argparse.Namespace) -> int:
    from conbench.embedded_pg import EmbeddedPostgres, EmbeddedPostgresError

    base_url = f"http://{args.addr}"
    data_dir = Path(args.data_dir).expanduser() if args.data_dir else default_data_dir(env)
    data_dir.mkdir(parents=True, exist_ok=True)
    try:
        token = dev_token(data_dir)
    except OSError as exc:
        print(f"error: cannot keep the dev token in {data_dir}: {exc}", file=sys.stderr)
        return 1
    dev_env = {
        **env,
        "CONBENCH_DB_URL": "postgresql://placeholder@127.0.0.1/postgres",
        "CONBENCH_ADDR": args.addr,
        "CONBENCH_INTENDED_BASE_URL": base_url,
        # Writes need the dev token (or a user's token), as in a deployment.
        "CONBENCH_AUTH_DISABLED": "false",
        "CONBENCH_SEED_DEV_TOKEN": token,
        "CONBENCH_INIT_SCHEMA": "true",
        "CONBENCH_SEED": "true",
    }
    settings = load_settings(dev_env)
    if settings is None:
        return 1

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
        print(
            f"conbench dev: API token {token}  (Authorization: Bearer …; kept in "
            f"{data_dir / DEV_TOKEN_FILE})",
            flush=True,
        )
        from conbench.commands.serve import serve

        return serve(settings, workers=args.workers, threads=1)
    except EmbeddedPostgresError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        if os.getpid() == master:  # forked gunicorn workers unwind through here too
            pg.stop()
            lock.close()


def dev_token(data_dir: Path) -> str:
    """The data directory's API token, created (mode 0600) on first use so it survives restarts."""
    from conbench.tokens import new_token

    path = data_dir / DEV_TOKEN_FILE
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        token = path.read_text(encoding="utf-8").strip()
        if len(token) >= 8:
            return token
        path.unlink()
        return dev_token(data_dir)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        token = new_token()
        handle.write(token + "\n")
    return token


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
