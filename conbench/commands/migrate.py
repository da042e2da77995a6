"""`conbench migrate` and `conbench schema dump`."""

from __future__ import annotations

import argparse
import json
import sys

import psycopg

from conbench.cli import Env, load_settings, print_summary
from conbench.db import connect


def cmd_migrate(env: Env, args: argparse.Namespace) -> int:
    from conbench.migrate import MigrationError, check_database, run_migrations

    settings = load_settings(env)
    if settings is None or settings.db_url is None:
        return 1
    try:
        if args.check:
            report = check_database(settings.db_url)
            print(json.dumps(report, indent=2, sort_keys=True, default=str))
            return 0 if report.get("ok") else 1
        result = run_migrations(
            settings.db_url,
            adopt_unversioned=args.adopt_unversioned,
            progress=lambda msg: print(msg, file=sys.stderr),
        )
    except MigrationError as exc:
        print(f"migrate error: {exc}", file=sys.stderr)
        return 1
    except psycopg.OperationalError as exc:
        print(f"migrate error: cannot use the database: {_first_line(exc)}", file=sys.stderr)
        return 1
    print_summary(
        {"state": result.state, "applied": result.applied, "version": result.version}, args.format
    )
    return 0


def _first_line(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def cmd_schema_dump(env: Env, args: argparse.Namespace) -> int:
    from conbench.migrate import schema_file_text

    settings = load_settings(env)
    if settings is None or settings.db_url is None:
        return 1
    with connect(settings.db_url) as conn:
        sys.stdout.write(schema_file_text(conn))
    return 0
