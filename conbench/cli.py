"""The `conbench` command: `get_parser()` is pure (argparse-manpage reads it), `main()` dispatches.

Handlers are `cmd_x(env, args) -> int`: usage errors exit 2, runtime errors 1 with one line on
stderr; summaries go to stdout, diagnostics to stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Mapping, Sequence

from conbench import __version__
from conbench.config import ConfigError, Settings, help_for

Env = Mapping[str, str]


def get_parser() -> argparse.ArgumentParser:
    """The whole command line, for `main` and for the manpage."""
    parser = argparse.ArgumentParser(
        prog="conbench",
        description="Conbench: continuous-benchmarking server, migrator and admin tools.",
    )
    parser.add_argument("--version", action="version", version=f"conbench {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = sub.add_parser(
        "serve",
        help="run the HTTP server (gunicorn, pre-forking)",
        description="Run the HTTP server. Configuration comes from the environment: "
        "see docs/configuration.md.",
    )
    _add_server_flags(serve)
    serve.set_defaults(func="conbench.commands.serve:cmd_serve")

    migrate = sub.add_parser(
        "migrate",
        help="create or upgrade the database schema (adopts legacy databases)",
        description="Apply the schema migrations to the database at CONBENCH_DB_URL "
        "(or DATABASE_URL). Safe to run concurrently and repeatedly.",
    )
    migrate.add_argument(
        "--check",
        action="store_true",
        help="inspect only: print a JSON report of the database's state; exit 1 on any error",
    )
    migrate.add_argument(
        "--adopt-unversioned",
        action="store_true",
        help="adopt legacy tables that have no alembic_version row (a create_all database)",
    )
    _add_format_flag(migrate)
    migrate.set_defaults(func="conbench.commands.migrate:cmd_migrate")

    dev = sub.add_parser(
        "dev",
        help="run a local server with demo data on an embedded PostgreSQL",
        description="Start an embedded PostgreSQL in a persistent data directory, migrate it, "
        "and serve on a loopback address. Ctrl-C stops the server and the database.",
    )
    dev.add_argument(
        "--data-dir",
        help="where the embedded database lives (default: $XDG_DATA_HOME/conbench/dev, "
        "else ~/.local/share/conbench/dev)",
    )
    dev.add_argument(
        "--addr", default="127.0.0.1:8080", help="listen address (default: 127.0.0.1:8080)"
    )
    dev.add_argument(
        "--workers", type=_positive_int, default=2, help="worker processes (default 2)"
    )
    dev.set_defaults(func="conbench.commands.dev:cmd_dev")

    schema = sub.add_parser("schema", help="schema tooling")
    schema_sub = schema.add_subparsers(dest="schema_command", required=True, metavar="ACTION")
    dump = schema_sub.add_parser(
        "dump",
        help="print the normalized schema of the database at CONBENCH_DB_URL",
        description="Print the normalized schema (the format of sql/schema.sql) to stdout.",
    )
    dump.set_defaults(func="conbench.commands.migrate:cmd_schema_dump")
    return parser


def _add_server_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--addr", help=help_for("CONBENCH_ADDR") + "; this flag overrides the variable"
    )
    parser.add_argument(
        "--workers", type=_positive_int, default=2, help="worker processes (default 2)"
    )
    parser.add_argument(
        "--threads",
        type=_positive_int,
        default=1,
        help="threads per worker (default 1: sync workers; more than 1 selects gthread workers)",
    )


def _add_format_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--format", choices=("text", "json"), default="text", help="output format (default text)"
    )


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def load_settings(env: Env, **kwargs: bool) -> Settings | None:
    """Settings from the environment, or None after printing every problem to stderr."""
    try:
        return Settings.from_env(env, **kwargs)
    except ConfigError as exc:
        for problem in exc.problems:
            print(f"config error: {problem}", file=sys.stderr)
        return None


def print_summary(summary: Mapping[str, object], fmt: str) -> None:
    """A command's summary on stdout: one JSON object, or `key: value` lines."""
    if fmt == "json":
        print(json.dumps(summary, sort_keys=True))
    else:
        for key, value in summary.items():
            print(f"{key}: {value}")


def main(argv: Sequence[str] | None = None, env: Env | None = None) -> int:
    """Entry point of the console script; returns the exit code."""
    args = get_parser().parse_args(argv)
    module_name, func_name = args.func.split(":")
    module = __import__(module_name, fromlist=[func_name])
    try:
        return int(getattr(module, func_name)(os.environ if env is None else env, args))
    except KeyboardInterrupt:
        return 130
