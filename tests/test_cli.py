"""The command line as an operator meets it: exit codes, stderr messages, no secrets."""

import subprocess
import sys

import pytest

from conbench.cli import get_parser, main
from conbench.config import SETTINGS

SECRET_TOKEN = "operator-token-do-not-print-4f1c"
SECRET_PASSWORD = "db-password-do-not-print-93ab"


def run_cli(*args, env):
    return subprocess.run(
        [sys.executable, "-m", "conbench", *args],
        env={"PATH": "/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_serve_with_a_bad_environment_names_every_problem_and_no_secret():
    proc = run_cli(
        "serve",
        env={
            "CONBENCH_OIDC_CLIENT_ID": "client",
            "CONBENCH_OIDC_CLIENT_SECRET": SECRET_TOKEN,
            "CONBENCH_SESSION_SECRET": "too-short",
            "CONBENCH_GITHUB_TIMEOUT": "5 seconds",
            "CONBENCH_API_TOKEN": SECRET_TOKEN,
            "SECRET_KEY": SECRET_PASSWORD,
        },
    )
    assert proc.returncode == 1
    problems = [line for line in proc.stderr.splitlines() if line.startswith("config error: ")]
    text = "\n".join(problems)
    assert "CONBENCH_DB_URL (or DATABASE_URL) is required" in text
    assert "OIDC is partially configured: CONBENCH_OIDC_ISSUER_URL is required" in text
    assert "CONBENCH_SESSION_SECRET must be at least 32 characters" in text
    assert "CONBENCH_GITHUB_TIMEOUT" in text
    assert len(problems) >= 4
    assert SECRET_TOKEN not in proc.stdout + proc.stderr
    assert SECRET_PASSWORD not in proc.stdout + proc.stderr


def test_database_url_with_a_password_is_never_echoed_in_a_problem():
    proc = run_cli("migrate", env={"CONBENCH_DB_URL": f"mysql://u:{SECRET_PASSWORD}@db/x"})
    assert proc.returncode == 1
    assert "CONBENCH_DB_URL" in proc.stderr
    assert SECRET_PASSWORD not in proc.stderr


def test_unknown_command_is_a_usage_error_with_exit_2(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["frobnicate"], env={})
    assert exc.value.code == 2


def test_migrate_reports_an_unreachable_database_on_one_line():
    proc = run_cli(
        "migrate", env={"CONBENCH_DB_URL": f"postgresql://u:{SECRET_PASSWORD}@127.0.0.1:1/x"}
    )
    assert proc.returncode == 1
    assert proc.stderr.startswith("migrate error: ")
    assert SECRET_PASSWORD not in proc.stderr


def test_serve_help_names_the_environment_variable_behind_its_default():
    serve = get_parser()._subparsers._group_actions[0].choices["serve"]
    assert "CONBENCH_ADDR" in serve.format_help()


def test_every_setting_has_help_text():
    assert all(s.help for s in SETTINGS)
