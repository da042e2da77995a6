"""The environment contract of 07 §1: every rule, every message, no secret in any of them."""

import pytest

from conbench.config import (
    SETTINGS,
    ConfigError,
    Settings,
    help_for,
    is_loopback_url,
    redact_db_url,
)
from conbench.envvalues import format_duration, parse_duration

DB = "postgresql://conbench:hunter2-db-password@db.internal:5432/conbench"
SESSION_SECRET = "s" * 31 + "-session-secret-value"
OIDC = {
    "CONBENCH_OIDC_ISSUER_URL": "https://accounts.example.com",
    "CONBENCH_OIDC_CLIENT_ID": "client-id",
    "CONBENCH_OIDC_CLIENT_SECRET": "oidc-client-secret-value",
    "CONBENCH_INTENDED_BASE_URL": "https://conbench.example.com/",
    "CONBENCH_SESSION_SECRET": SESSION_SECRET,
}


def settings(**env: str) -> Settings:
    return Settings.from_env({"CONBENCH_DB_URL": DB, **env})


def problems(env: dict[str, str], **kwargs: bool) -> list[str]:
    with pytest.raises(ConfigError) as info:
        Settings.from_env(env, **kwargs)
    return info.value.problems


def test_defaults_in_the_table_match_the_dataclass() -> None:
    assert Settings.from_env({}, require_db=False) == Settings()


def test_every_default_is_valid_for_its_variable() -> None:
    env = {row.env: row.default for row in SETTINGS if row.default is not None}
    assert Settings.from_env(env, require_db=False) == Settings()


def test_minimal_environment() -> None:
    s = settings()
    assert s.db_url == DB
    assert s.listen() == ("0.0.0.0", 8080)
    assert s.github_timeout == 5.0
    assert s.github_api_url == "https://api.github.com"
    assert s.warnings == ()


def test_database_url_is_only_a_fallback() -> None:
    other = "postgres://other/db"
    assert Settings.from_env({"DATABASE_URL": other}).db_url == other
    assert Settings.from_env({"CONBENCH_DB_URL": DB, "DATABASE_URL": other}).db_url == DB


def test_invalid_conbench_db_url_does_not_fall_back() -> None:
    env = {"CONBENCH_DB_URL": "mysql://x/y", "DATABASE_URL": "postgres://other/db"}
    assert problems(env) == ["CONBENCH_DB_URL must be a postgres:// or postgresql:// URL"]


def test_missing_database_url() -> None:
    assert problems({}) == ["CONBENCH_DB_URL (or DATABASE_URL) is required"]
    assert Settings.from_env({}, require_db=False).db_url is None


def test_without_fallback_database_url_is_ignored_and_not_mentioned() -> None:
    env = {"DATABASE_URL": "postgres://other/db"}
    assert problems(env, db_fallback=False) == ["CONBENCH_DB_URL is required"]


@pytest.mark.parametrize(
    ("addr", "listen"),
    [
        (":8080", ("0.0.0.0", 8080)),
        ("127.0.0.1:9000", ("127.0.0.1", 9000)),
        ("localhost:1", ("localhost", 1)),
        ("[::1]:8080", ("::1", 8080)),
        ("0.0.0.0:65535", ("0.0.0.0", 65535)),
    ],
)
def test_listen_address(addr: str, listen: tuple[str, int]) -> None:
    assert settings(CONBENCH_ADDR=addr).listen() == listen


@pytest.mark.parametrize("addr", ["8080", ":0", ":65536", "host:", "::1:8080", "[::1]", "h:x"])
def test_bad_listen_address_is_refused(addr: str) -> None:
    [problem] = problems({"CONBENCH_DB_URL": DB, "CONBENCH_ADDR": addr})
    assert problem.startswith("CONBENCH_ADDR must be host:port or :port")


def test_base_url_loses_its_trailing_slash() -> None:
    url = settings(CONBENCH_INTENDED_BASE_URL="https://conbench.example.com/").intended_base_url
    assert url == "https://conbench.example.com"


@pytest.mark.parametrize("url", ["conbench.example.com", "ftp://x.org", "https://", "HTTP://x"])
def test_base_url_must_be_http(url: str) -> None:
    assert problems({"CONBENCH_DB_URL": DB, "CONBENCH_INTENDED_BASE_URL": url}) == [
        "CONBENCH_INTENDED_BASE_URL must start with http:// or https:// and name a host"
    ]


def test_complete_oidc_is_accepted() -> None:
    s = settings(**OIDC)
    assert s.oidc_client_id == "client-id"
    assert s.intended_base_url == "https://conbench.example.com"


def test_partial_oidc_names_each_missing_variable() -> None:
    env = {"CONBENCH_DB_URL": DB, "CONBENCH_OIDC_CLIENT_ID": "client-id"}
    assert problems(env) == [
        "OIDC is partially configured: CONBENCH_OIDC_ISSUER_URL is required",
        "OIDC is partially configured: CONBENCH_OIDC_CLIENT_SECRET is required",
        "OIDC is partially configured: CONBENCH_INTENDED_BASE_URL is required",
        "OIDC is partially configured: CONBENCH_SESSION_SECRET is required",
    ]


def test_short_session_secret_is_refused() -> None:
    assert problems({"CONBENCH_DB_URL": DB, "CONBENCH_SESSION_SECRET": "x" * 31}) == [
        "CONBENCH_SESSION_SECRET must be at least 32 characters"
    ]
    assert settings(CONBENCH_SESSION_SECRET="x" * 32).session_secret == "x" * 32


@pytest.mark.parametrize(("raw", "value"), [("true", True), ("false", False), ("", False)])
def test_booleans(raw: str, value: bool) -> None:
    assert settings(CONBENCH_SEED=raw).seed is value


@pytest.mark.parametrize("raw", ["yes", "1", "TRUE", "True", "on"])
def test_boolean_typo_is_an_error_not_false(raw: str) -> None:
    assert problems({"CONBENCH_DB_URL": DB, "CONBENCH_INIT_SCHEMA": raw}) == [
        f"CONBENCH_INIT_SCHEMA must be true or false (got {raw!r})"
    ]


@pytest.mark.parametrize(
    "base_url", [None, "http://localhost:8080", "http://127.0.0.1", "http://[::1]:8080/"]
)
def test_auth_disabled_is_allowed_on_loopback(base_url: str | None) -> None:
    env = {"CONBENCH_AUTH_DISABLED": "true"}
    if base_url:
        env["CONBENCH_INTENDED_BASE_URL"] = base_url
    assert settings(**env).auth_disabled


def test_auth_disabled_is_refused_for_a_public_base_url() -> None:
    env = {
        "CONBENCH_DB_URL": DB,
        "CONBENCH_AUTH_DISABLED": "true",
        "CONBENCH_INTENDED_BASE_URL": "https://conbench.example.com",
    }
    [problem] = problems(env)
    assert problem.startswith("CONBENCH_AUTH_DISABLED=true is refused")


def test_token_pool_drops_blanks_and_implausible_lengths() -> None:
    s = settings(GITHUB_API_TOKEN=" ghp_first , ,abc,ghp_second,")
    assert s.github_api_tokens == ("ghp_first", "ghp_second")
    assert s.warnings == ("GITHUB_API_TOKEN entry 2 ignored: 3 characters (expected 5 to 130)",)


def test_complete_github_app_is_accepted(tmp_path) -> None:
    key = tmp_path / "key.pem"
    key.write_text("-----BEGIN PRIVATE KEY-----\n")
    s = settings(
        CONBENCH_COMMIT_GITHUB_APP_ID="123",
        CONBENCH_COMMIT_GITHUB_APP_INSTALLATION_ID="456",
        CONBENCH_COMMIT_GITHUB_APP_PRIVATE_KEY_FILE=str(key),
    )
    assert (s.github_app_id, s.github_app_installation_id) == ("123", 456)


def test_github_app_is_all_or_none_and_excludes_the_token_pool(tmp_path) -> None:
    env = {
        "CONBENCH_DB_URL": DB,
        "CONBENCH_COMMIT_GITHUB_APP_ID": "123",
        "CONBENCH_COMMIT_GITHUB_APP_PRIVATE_KEY_FILE": str(tmp_path / "missing.pem"),
        "GITHUB_API_TOKEN": "ghp_secret_token_value",
    }
    assert problems(env) == [
        f"CONBENCH_COMMIT_GITHUB_APP_PRIVATE_KEY_FILE is not a readable file: "
        f"{tmp_path / 'missing.pem'} (No such file or directory)",
        "GitHub App is partially configured: "
        "CONBENCH_COMMIT_GITHUB_APP_INSTALLATION_ID is required",
        "the GitHub App variables and GITHUB_API_TOKEN are mutually exclusive",
    ]


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("5s", 5.0),
        ("300ms", 0.3),
        ("1m30s", 90.0),
        ("1h", 3600.0),
        ("1.5s", 1.5),
        (".5s", 0.5),
        ("2us", 2e-6),
        ("2µs", 2e-6),
        ("2μs", 2e-6),
        ("100ns", 1e-7),
        ("1h2m3s4ms", 3723.004),
        ("0", 0.0),
        ("-1s", -1.0),
    ],
)
def test_parse_duration(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "5", "s", "5 s", "5sec", "1d", "1.2.3s", "--1s", "1e3s"])
def test_parse_duration_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(5.0, "5s"), (0.3, "300ms"), (90.0, "1m30s"), (3600.0, "1h"), (1.5, "1.5s")],
)
def test_format_duration_round_trips(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (
            "soon",
            "CONBENCH_GITHUB_TIMEOUT must be a duration such as 500ms, 5s or 1m30s (got 'soon')",
        ),
        ("0s", "CONBENCH_GITHUB_TIMEOUT must be greater than zero (got '0s')"),
        ("-2s", "CONBENCH_GITHUB_TIMEOUT must be greater than zero (got '-2s')"),
    ],
)
def test_github_timeout_must_be_a_positive_duration(raw: str, message: str) -> None:
    assert problems({"CONBENCH_DB_URL": DB, "CONBENCH_GITHUB_TIMEOUT": raw}) == [message]


def test_github_timeout_is_seconds() -> None:
    assert settings(CONBENCH_GITHUB_TIMEOUT="1500ms").github_timeout == 1.5


def test_seed_dev_token_needs_eight_characters() -> None:
    assert problems({"CONBENCH_DB_URL": DB, "CONBENCH_SEED_DEV_TOKEN": "short"}) == [
        "CONBENCH_SEED_DEV_TOKEN must be at least 8 characters"
    ]


def test_log_level() -> None:
    assert settings(CONBENCH_LOG_LEVEL="debug").log_level == "DEBUG"
    assert problems({"CONBENCH_DB_URL": DB, "CONBENCH_LOG_LEVEL": "TRACE"}) == [
        "CONBENCH_LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR (got 'TRACE')"
    ]


def test_alert_settings() -> None:
    s = settings(
        CONBENCH_ALERT_GITHUB_REPOSITORY="git@github.com:org/repo/",
        CONBENCH_ALERT_EMAIL_SMTP_ADDR="smtp.example:587",
        CONBENCH_ALERT_EMAIL_FROM="Conbench Alerts <alerts@example.com>",
        CONBENCH_ALERT_EMAIL_TO="ops@example.com, perf@example.com",
        CONBENCH_ALERT_WEBHOOK_URL="https://hooks.example/conbench/",
    )
    assert s.alert_github_repository == "https://github.com/org/repo"
    assert s.alert_email_to == ("ops@example.com", "perf@example.com")
    assert s.alert_webhook_url == "https://hooks.example/conbench/"


def test_bad_alert_settings_are_named() -> None:
    env = {
        "CONBENCH_DB_URL": DB,
        "CONBENCH_ALERT_SLACK_WEBHOOK_URL": "hooks.slack.com/services/T0/B0/secret",
        "CONBENCH_ALERT_GITHUB_REPOSITORY": "https://gitlab.com/org/repo",
        "CONBENCH_ALERT_EMAIL_SMTP_ADDR": ":587",
        "CONBENCH_ALERT_EMAIL_FROM": "a@example.com, b@example.com",
        "CONBENCH_ALERT_EMAIL_TO": "ops@example.com, nobody",
        "CONBENCH_ALERT_EMAIL_USERNAME": "mailer",
    }
    assert [p.split(" ")[0] for p in problems(env)] == [
        "CONBENCH_ALERT_SLACK_WEBHOOK_URL",
        "CONBENCH_ALERT_GITHUB_REPOSITORY",
        "CONBENCH_ALERT_EMAIL_SMTP_ADDR",
        "CONBENCH_ALERT_EMAIL_FROM",
        "CONBENCH_ALERT_EMAIL_TO",
        "CONBENCH_ALERT_EMAIL_PASSWORD",
    ]


def test_alert_token_falls_back_to_github_token_then_the_pool() -> None:
    assert settings(GITHUB_API_TOKEN="pool-token-1,pool-token-2").alert_token() == "pool-token-1"
    assert settings(GITHUB_TOKEN="gh-token", GITHUB_API_TOKEN="pool-token").alert_token() == (
        "gh-token"
    )
    assert settings(
        CONBENCH_ALERT_GITHUB_TOKEN="alert-token", GITHUB_TOKEN="gh-token"
    ).alert_token() == ("alert-token")


def test_all_problems_are_reported_at_once() -> None:
    env = {
        "CONBENCH_ADDR": "nope",
        "CONBENCH_INTENDED_BASE_URL": "example.com",
        "CONBENCH_LOG_LEVEL": "LOUD",
        "CONBENCH_SEED": "yes",
    }
    found = problems(env)
    assert len(found) == 5
    assert str(ConfigError(found)) == "; ".join(found)


SECRETS = {
    "CONBENCH_DB_URL": "mysql://user:db-password-123@host/db",
    "CONBENCH_OIDC_CLIENT_SECRET": "oidc-secret-456",
    "CONBENCH_SESSION_SECRET": "short-session-789",
    "CONBENCH_API_TOKEN": "api-token-abc",
    "CONBENCH_SEED_DEV_TOKEN": "seedy",
    "GITHUB_API_TOKEN": "ghp_pool_token_def,xy",
    "CONBENCH_COMMIT_GITHUB_APP_ID": "1",
    "CONBENCH_ALERT_WEBHOOK_URL": "hooks.example/secret-path-ghi",
    "CONBENCH_ALERT_SLACK_WEBHOOK_URL": "ftp://hooks.slack.com/services/slack-jkl",
    "CONBENCH_ALERT_EMAIL_PASSWORD": "smtp-password-mno",
    "CONBENCH_ALERT_GITHUB_TOKEN": "alert-token-pqr",
    "DB_PASSWORD": "legacy-password-stu",
    "SECRET_KEY": "legacy-secret-vwx",
}


def test_no_problem_message_contains_a_secret() -> None:
    found = problems(SECRETS)
    assert len(found) > 5
    text = " ".join(found)
    for value in ["db-password-123", *SECRETS.values()]:
        if value != "1":  # the App id is not a secret and appears in no message anyway
            assert value not in text


def test_warnings_name_password_era_variables_without_values() -> None:
    s = settings(DB_PASSWORD="legacy-password", SECRET_KEY="legacy-secret", DB_HOST="")
    assert s.warnings == ("ignoring password-era variables: SECRET_KEY, DB_HOST, DB_PASSWORD",)


def test_redacted_hides_secrets_and_the_database_password() -> None:
    s = settings(
        CONBENCH_API_TOKEN="operator-token-xyz",
        GITHUB_API_TOKEN="ghp_one_token_111,ghp_two_token_222",
        CONBENCH_SEED_DEV_TOKEN="devtoken",
        CONBENCH_GITHUB_TIMEOUT="1m30s",
        **OIDC,
    )
    shown = s.redacted()
    assert shown["db_url"] == "postgresql://conbench:***@db.internal:5432/conbench"
    assert shown["api_token"] == "***xyz"
    assert shown["github_api_tokens"] == "***111,***222"
    assert shown["session_secret"] == "***lue"
    assert shown["oidc_client_id"] == "client-id"
    assert shown["github_timeout"] == "1m30s"
    assert shown["auth_disabled"] == "false"
    assert shown["alert_email_password"] is None
    assert "warnings" not in shown
    assert "operator-token" not in repr(s) and "hunter2" not in repr(s)


def test_short_secrets_are_not_shown_at_all() -> None:
    assert settings(CONBENCH_API_TOKEN="e2e").redacted()["api_token"] == "***"


@pytest.mark.parametrize(
    ("url", "redacted"),
    [
        ("postgres://u:p@h/db", "postgres://u:***@h/db"),
        ("postgres://u:p@ss@h:5/db?sslmode=disable", "postgres://u:***@h:5/db?sslmode=disable"),
        ("postgresql://u@h/db", "postgresql://u@h/db"),
        (
            "postgresql://postgres:@/postgres?host=/tmp",
            "postgresql://postgres:***@/postgres?host=/tmp",
        ),
        ("postgresql://h/db?user=u&password=p", "postgresql://h/db?user=u&password=***"),
    ],
)
def test_redact_db_url(url: str, redacted: str) -> None:
    assert redact_db_url(url) == redacted


@pytest.mark.parametrize(
    ("url", "loopback"),
    [
        ("http://localhost:8080", True),
        ("http://127.0.0.1", True),
        ("http://[::1]:8080", True),
        ("https://conbench.example.com", False),
        (None, False),
        ("http://[::1", False),
    ],
)
def test_is_loopback_url(url: str | None, loopback: bool) -> None:
    assert is_loopback_url(url) is loopback


def test_help_for_names_the_variable_and_default() -> None:
    assert (
        help_for("CONBENCH_ADDR")
        == "Listen address, host:port or :port (env CONBENCH_ADDR, default :8080)"
    )
    assert help_for("CONBENCH_API_TOKEN").endswith("(env CONBENCH_API_TOKEN)")


def test_surrounding_whitespace_is_ignored() -> None:
    assert settings(CONBENCH_API_TOKEN=" token-value\n").api_token == "token-value"
