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


class UsageError(Exception):
    """Arguments or environment a command cannot use: it exits 2 with this one line."""


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

    results = sub.add_parser("results", help="client: work with the results of a Conbench server")
    results_sub = results.add_subparsers(dest="results_command", required=True, metavar="ACTION")
    submit = results_sub.add_parser(
        "submit",
        help="validate result files locally and submit them to POST /api/results",
        description="Read JSON files (an object is one result, an array several), validate every "
        "result as the server would, and submit the valid ones. Prints one JSON line per result: "
        "{file, index?, ok, id?, history_fingerprint?, error?}. Exit 1 when any result failed.",
    )
    submit.add_argument(
        "files", nargs="+", metavar="FILE-OR-GLOB", help="result files, or glob patterns (quoted)"
    )
    submit.add_argument("--server", help="server base URL (env CONBENCH_URL)")
    submit.add_argument(
        "--token", help="bearer API token (env CONBENCH_TOKEN, which keeps it out of `ps`)"
    )
    submit.add_argument(
        "--jobs", type=_positive_int, default=8, help="concurrent requests (default 8)"
    )
    submit.add_argument(
        "--bulk",
        action="store_true",
        help="send arrays of up to 5000 results per request (all or nothing per request)",
    )
    submit.add_argument(
        "--submission-key-from-file",
        action="store_true",
        help="idempotent re-runs: key each result without a submission_key as "
        "<sha256 of the file's bytes>:<array index>",
    )
    submit.set_defaults(func="conbench.commands.results:cmd_results_submit")
    _add_admin_commands(sub)
    _add_auth_commands(sub)
    _add_ci_commands(sub)
    return parser


def _add_admin_commands(sub: argparse._SubParsersAction) -> None:
    admin = sub.add_parser("admin", help="operator tools that work on the database directly")
    admin_sub = admin.add_subparsers(dest="admin_command", required=True, metavar="ACTION")
    tokens = admin_sub.add_parser("tokens", help="user API tokens")
    tokens_sub = tokens.add_subparsers(dest="tokens_command", required=True, metavar="ACTION")
    create = tokens_sub.add_parser(
        "create",
        help="give a user (created if needed) a new API token and print it once",
        description="Get or create the user with this email (no password; name from "
        "--user-name, else the email) and store a new API token for them. Prints one JSON line "
        "{user_id, token_id, email, user_name, token_name, token, prefix, created_at}; the token "
        "is shown only this once, the database keeps its SHA-256. Needs CONBENCH_DB_URL. "
        "Exit 2 on usage errors, 1 on database errors.",
    )
    create.add_argument("--email", required=True, help="the user's email: one bare address")
    create.add_argument("--token-name", required=True, help="what the token is for, e.g. ci")
    create.add_argument("--user-name", help="name of a new user (default: the email)")
    create.set_defaults(func="conbench.commands.admin:cmd_admin_tokens_create")
    _add_repair_commits(admin_sub)
    _add_lookback_commands(admin_sub)
    _add_history_cache_commands(admin_sub)


def _add_repair_commits(admin_sub: argparse._SubParsersAction) -> None:
    repair = admin_sub.add_parser(
        "repair-commits",
        help="repair unknown commit rows in place from GitHub",
        description="Look up unknown commit rows (stored when GitHub enrichment failed) on "
        "GitHub, in (repository, sha) order, and fill them in place; results that point at them "
        "then appear in history, series and baselines. Needs CONBENCH_DB_URL (DATABASE_URL is "
        "not read) and GITHUB_API_TOKEN or the GitHub App variables. Prints one summary (text "
        "or JSON) on stdout, diagnostics on stderr. Exit 0 when the run completed (per-row "
        "failures included), 1 when every GitHub attempt failed on authentication or quota, the "
        "backfill did not drain in time, or on a database error, 2 on usage errors.",
    )
    repair.add_argument("--repository", metavar="URL", help="only commits of this repository")
    repair.add_argument(
        "--limit", type=int, default=100, metavar="N", help="rows to inspect (default 100)"
    )
    repair.add_argument(
        "--cursor", metavar="C", help="continue after this cursor (next_cursor of an earlier run)"
    )
    repair.add_argument(
        "--dry-run", action="store_true", help="call GitHub and report, but write nothing"
    )
    repair.add_argument(
        "--backfill",
        action="store_true",
        help="enqueue and run the default-branch backfill of repaired default-branch commits",
    )
    repair.add_argument(
        "--backfill-timeout",
        metavar="D",
        default="2m",
        help="how long to wait for the queued backfill to drain (default 2m)",
    )
    repair.add_argument(
        "--github-timeout",
        metavar="D",
        default="20s",
        help="time budget of each commit's GitHub lookups (default 20s)",
    )
    _add_format_flag(repair)
    repair.set_defaults(func="conbench.commands.repair:cmd_admin_repair_commits")


def _add_lookback_commands(admin_sub: argparse._SubParsersAction) -> None:
    lookback = admin_sub.add_parser(
        "lookback",
        help="the lookback distribution cache (docs/lookback-cache.md)",
        description="Fill and prune the stored lookback distributions that CI reports and "
        "compares read (docs/lookback-cache.md).",
    )
    lookback_sub = lookback.add_subparsers(dest="lookback_command", required=True, metavar="ACTION")
    warm = lookback_sub.add_parser(
        "warm",
        help="compute and store the distributions that the next requests will ask for",
        description="For the N newest default-branch commits of each repository (or of "
        "--repository), and the fork points of the branch commits at least as new as the oldest "
        "of them, store the lookback distribution of every fingerprint with results on the "
        "commit, through the server's own read path (values are exactly what a request "
        "computes). Already stored distributions are kept: a second run is cheap. Safe while the "
        "server runs; run it after the nightly benchmarks. Needs CONBENCH_DB_URL (or "
        "DATABASE_URL). Prints a summary {repositories, commits, fingerprints, stored, "
        "already_stored, not_stored, seconds} on stdout, progress on stderr when it is a "
        "terminal. Exit 2 on usage errors (including a repository without commits), 1 on "
        "database errors.",
    )
    warm.add_argument(
        "--repository", metavar="URL", help="only this repository (default: every repository)"
    )
    warm.add_argument(
        "--commits",
        type=_positive_int,
        default=5,
        metavar="N",
        help="newest default-branch commits per repository (default 5)",
    )
    _add_format_flag(warm)
    warm.set_defaults(func="conbench.commands.lookback:cmd_admin_lookback_warm")
    prune = lookback_sub.add_parser(
        "prune",
        help="delete stored distributions computed more than DAYS days ago",
        description="Delete the stored lookback distributions whose computed_at is more than "
        "DAYS days before the database's clock, a few thousand rows per transaction, so no lock "
        "is held for long; requests recompute (and store) what they need. Needs "
        "CONBENCH_DB_URL (or DATABASE_URL). Prints {cutoff, commits, deleted, seconds} on "
        "stdout. Exit 2 on usage errors, 1 on database errors.",
    )
    prune.add_argument(
        "--older-than",
        required=True,
        type=float,
        metavar="DAYS",
        help="age in days (a decimal number, 0 deletes every row)",
    )
    _add_format_flag(prune)
    prune.set_defaults(func="conbench.commands.lookback:cmd_admin_lookback_prune")


def _add_history_cache_commands(admin_sub: argparse._SubParsersAction) -> None:
    history_cache = admin_sub.add_parser(
        "history-cache",
        help="the history response cache (docs/history-cache.md)",
        description="Prune the stored history responses that the history routes read "
        "(docs/history-cache.md).",
    )
    history_cache_sub = history_cache.add_subparsers(
        dest="history_cache_command", required=True, metavar="ACTION"
    )
    prune = history_cache_sub.add_parser(
        "prune",
        help="delete stale stored responses (and, with --older-than, old ones)",
        description="Delete the stored history responses that can never be served again "
        "(their epoch is not their fingerprint's current one) and, with --older-than, those "
        "whose computed_at is more than DAYS days before the database's clock, a few hundred "
        "rows per transaction, so no lock is held for long; requests recompute (and store) "
        "what they need. Needs CONBENCH_DB_URL (or DATABASE_URL). Prints {cutoff, stale, old, "
        "deleted, seconds} on stdout (stale and old: the rows found; cutoff null without "
        "--older-than), progress on stderr when it is a terminal. Exit 2 on usage errors, 1 on "
        "database errors.",
    )
    prune.add_argument(
        "--older-than",
        type=float,
        metavar="DAYS",
        help="also delete valid rows older than this, in days (a decimal number, 0 deletes "
        "every row; default: only stale rows)",
    )
    _add_format_flag(prune)
    prune.set_defaults(func="conbench.commands.history_cache:cmd_admin_history_cache_prune")


def _add_auth_commands(sub: argparse._SubParsersAction) -> None:
    auth = sub.add_parser("auth", help="client: sign in to a Conbench server, manage API tokens")
    auth_sub = auth.add_subparsers(dest="auth_command", required=True, metavar="ACTION")
    login = auth_sub.add_parser(
        "login",
        help="sign in through the browser and store an API token for the server",
        description="Listen on 127.0.0.1 (a random port), print the sign-in URL (and open a "
        "browser), wait for the server to send the browser back with a one-time code, exchange "
        "it for an API token named 'cli <hostname> <date>' and store it in "
        "$XDG_CONFIG_HOME/conbench/credentials.json (else ~/.config/conbench/credentials.json; "
        "directory 0700, file 0600). Works behind several server replicas.",
    )
    login.add_argument("--server", help="server base URL (env CONBENCH_URL)")
    login.add_argument(
        "--no-browser", action="store_true", help="only print the sign-in URL, open nothing"
    )
    login.add_argument(
        "--timeout",
        type=_positive_int,
        default=180,
        help="seconds to wait for the browser (default 180)",
    )
    login.set_defaults(func="conbench.commands.auth:cmd_auth_login")
    token = auth_sub.add_parser("token", help="list or revoke your API tokens")
    token_sub = token.add_subparsers(dest="token_command", required=True, metavar="ACTION")
    listing = token_sub.add_parser(
        "list", help="your API tokens, newest first", description="GET /api/tokens."
    )
    revoke = token_sub.add_parser(
        "revoke", help="revoke one of your API tokens", description="DELETE /api/tokens/<id>."
    )
    revoke.add_argument("id", help="the token's id (see `conbench auth token list`)")
    for parser, handler in ((listing, "cmd_auth_token_list"), (revoke, "cmd_auth_token_revoke")):
        parser.add_argument("--server", help="server base URL (env CONBENCH_URL)")
        parser.add_argument(
            "--token",
            help="bearer API token (env CONBENCH_TOKEN; default: the token `conbench auth "
            "login` stored for the server)",
        )
        _add_format_flag(parser)
        parser.set_defaults(func=f"conbench.commands.auth:{handler}")


def _add_ci_commands(sub: argparse._SubParsersAction) -> None:
    ci = sub.add_parser("ci", help="client: the CI verdict of a Conbench server")
    ci_sub = ci.add_subparsers(dest="ci_command", required=True, metavar="ACTION")
    report = ci_sub.add_parser(
        "report",
        help="print the CI report of a commit or of runs; the exit code is the verdict",
        description="GET /api/ci/report and print it as Markdown (for a PR comment or job "
        "summary) or JSON. Select a commit's runs with --repository and --commit, or runs with "
        "--run-ids (both: only those runs of the commit). Exit 0 when the report status is "
        "success or skipped, 1 for failure or action_required (or when no report could be "
        "fetched), 2 for usage errors, including parameters the server refuses.",
    )
    report.add_argument("--server", help="server base URL (env CONBENCH_URL)")
    report.add_argument("--repository", help="repository URL, e.g. https://github.com/org/repo")
    report.add_argument("--commit", help="commit SHA (with --repository)")
    report.add_argument(
        "--run-ids", nargs="+", metavar="RUN_ID", help="run ids (space- or comma-separated)"
    )
    report.add_argument(
        "--baseline-run-ids",
        nargs="+",
        metavar="RUN_ID",
        help="explicit baseline runs, paired with --run-ids by position",
    )
    report.add_argument(
        "--baseline",
        choices=("fork_point", "parent", "latest_default"),
        help="baseline commit to search from (server default: fork_point)",
    )
    report.add_argument(
        "--threshold", type=float, help="pairwise percent-change threshold (server default 5)"
    )
    report.add_argument(
        "--threshold-z", type=float, help="lookback z-score threshold (server default 5)"
    )
    report.add_argument(
        "--format",
        choices=("md", "markdown", "json"),
        default="md",
        help="output format: Markdown (md, markdown; default) or the report's JSON",
    )
    report.set_defaults(func="conbench.commands.ci:cmd_ci_report")


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
