"""`conbench serve`: validate the environment, then run gunicorn around the app."""

from __future__ import annotations

import argparse
import logging
import os

from conbench.cli import Env, load_settings
from conbench.config import Settings

log = logging.getLogger("conbench.serve")


def cmd_serve(env: Env, args: argparse.Namespace) -> int:
    if args.addr:
        env = {**env, "CONBENCH_ADDR": args.addr}
    settings = load_settings(env)
    if settings is None:
        return 1
    return serve(settings, workers=args.workers, threads=args.threads)


def serve(settings: Settings, *, workers: int, threads: int) -> int:
    """Run the server until it is stopped; shared by `serve` and `dev`."""
    from conbench import server

    metrics_dir, created = server.prepare_metrics_dir(os.environ)
    master = os.getpid()
    try:
        return _serve(settings, server, workers, threads)
    finally:
        if created and os.getpid() == master:  # forked workers unwind through here too
            server.remove_metrics_dir(metrics_dir)


def _serve(settings: Settings, server: object, workers: int, threads: int) -> int:
    from conbench.app import create_app
    from conbench.buildinfo import read_build_info
    from conbench.db import Database
    from conbench.logs import configure_logging

    configure_logging(settings.log_level)
    for warning in settings.warnings:
        log.warning(warning)
    if settings.auth_disabled:
        log.warning("CONBENCH_AUTH_DISABLED=true: anyone who can reach this server may write")
    log.info("starting conbench serve", extra={"config": settings.redacted()})
    assert settings.db_url is not None
    if settings.init_schema:
        from conbench.migrate import MigrationError, run_migrations

        try:
            result = run_migrations(settings.db_url, progress=log.info)
        except MigrationError as exc:
            log.error("migration failed: %s", exc)
            return 1
        log.info("schema at version %s", result.version)
    if settings.seed:
        import psycopg

        from conbench.db import connect
        from conbench.seed import seed_demo_data

        try:
            with connect(settings.db_url) as conn:
                seeded = seed_demo_data(conn)
        except psycopg.Error as exc:
            log.error("seeding demo data failed: %s", exc)
            return 1
        log.info("seeded %d demo results", seeded)
    if settings.seed_dev_token and not _seed_dev_token(settings.db_url, settings.seed_dev_token):
        return 1
    db = Database(settings.db_url)
    app = create_app(settings, db, read_build_info(settings.db_url))
    host, port = settings.listen()
    bind = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    from conbench.backfill import server_hooks

    server.run(app, db, bind, workers, threads, server_hooks(settings))  # type: ignore[attr-defined]
    return 0


def _seed_dev_token(db_url: str, token: str) -> bool:
    """CONBENCH_SEED_DEV_TOKEN (07 §10): store the token once; only its prefix is logged."""
    import psycopg

    from conbench.db import connect
    from conbench.queries.auth import seed_dev_token
    from conbench.tokens import token_prefix

    try:
        with connect(db_url) as conn:
            seeded = seed_dev_token(conn, token)
    except psycopg.Error as exc:
        log.error("seeding the dev token failed: %s", type(exc).__name__)
        return False
    state = "seeded" if seeded else "already present"
    log.info("dev token with prefix %s %s", token_prefix(token), state)
    return True
