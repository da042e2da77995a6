"""Configuration: one SETTINGS table drives validation, `--help` texts and docs/configuration.md.

`Settings.from_env(mapping)` is the only reader of the environment; callers pass `os.environ`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from urllib.parse import urlsplit

from conbench.envvalues import PARSERS, format_duration, split_addr

DOC_PATH = Path(__file__).resolve().parent.parent / "docs" / "configuration.md"
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
IGNORED_VARIABLES = (
    "SECRET_KEY", "REGISTRATION_KEY", "APPLICATION_NAME", "BENCHMARKS_DATA_PUBLIC",
    "DISTRIBUTION_COMMITS", "SVS_TYPE", "CREATE_ALL_TABLES", "DB_HOST", "DB_PORT", "DB_NAME",
    "DB_USERNAME", "DB_PASSWORD", "GOOGLE_CLIENT_ID", "GOOGLE_CLIENT_SECRET",
)  # fmt: skip
GITHUB_APP = (
    "CONBENCH_COMMIT_GITHUB_APP_ID",
    "CONBENCH_COMMIT_GITHUB_APP_INSTALLATION_ID",
    "CONBENCH_COMMIT_GITHUB_APP_PRIVATE_KEY_FILE",
)
OIDC = ("CONBENCH_OIDC_ISSUER_URL", "CONBENCH_OIDC_CLIENT_ID", "CONBENCH_OIDC_CLIENT_SECRET")
# 05 §2.1: pool entries outside this length range are ignored.
TOKEN_MIN_LENGTH, TOKEN_MAX_LENGTH = 5, 130


@dataclass(frozen=True)
class Setting:
    """One environment variable: where it lands in Settings, how it is checked and documented."""

    env: str
    field: str
    group: str
    kind: str
    default: str | None
    help: str
    secret: bool = False


# fmt: off
SETTINGS: tuple[Setting, ...] = (
    Setting("CONBENCH_DB_URL", "db_url", "server", "dsn", None,
            "Database URL (postgres:// or postgresql://); required by serve, migrate and admin."),
    Setting("DATABASE_URL", "db_url", "server", "dsn", None,
            "Fallback for CONBENCH_DB_URL, used only when it is unset (never by repair-commits)."),
    Setting("CONBENCH_ADDR", "addr", "server", "addr", ":8080",
            "Listen address, host:port or :port."),
    Setting("CONBENCH_INTENDED_BASE_URL", "intended_base_url", "server", "base_url", None,
            "Public http(s) URL; drives redirects, report links and the cookie Secure flag."),
    Setting("CONBENCH_LOG_LEVEL", "log_level", "server", "level", "INFO",
            "Log level: DEBUG, INFO, WARNING or ERROR; logs are JSON lines on stderr."),
    Setting("CONBENCH_OIDC_ISSUER_URL", "oidc_issuer_url", "auth", "url", None,
            "OIDC issuer; the OIDC trio, base URL and session secret are all or nothing."),
    Setting("CONBENCH_OIDC_CLIENT_ID", "oidc_client_id", "auth", "str", None,
            "OIDC client id."),
    Setting("CONBENCH_OIDC_CLIENT_SECRET", "oidc_client_secret", "auth", "str", None,
            "OIDC client secret.", secret=True),
    Setting("CONBENCH_SESSION_SECRET", "session_secret", "auth", "str", None,
            "HMAC key (32+ characters) for session cookies; enables the legacy login bridge.",
            secret=True),
    Setting("CONBENCH_API_TOKEN", "api_token", "auth", "str", None,
            "Static operator bearer token for writes (break-glass); not a user.", secret=True),
    Setting("CONBENCH_AUTH_DISABLED", "auth_disabled", "auth", "bool", "false",
            "Development only: disable write auth; refused for a non-loopback base URL."),
    Setting("GITHUB_API_TOKEN", "github_api_tokens", "github", "tokens", None,
            "Comma-separated GitHub token pool for commit enrichment and backfill.", secret=True),
    Setting("CONBENCH_COMMIT_GITHUB_APP_ID", "github_app_id", "github", "str", None,
            "GitHub App id; the App trio is all or none and excludes GITHUB_API_TOKEN."),
    Setting("CONBENCH_COMMIT_GITHUB_APP_INSTALLATION_ID", "github_app_installation_id", "github",
            "int", None, "GitHub App installation id."),
    Setting("CONBENCH_COMMIT_GITHUB_APP_PRIVATE_KEY_FILE", "github_app_private_key_file", "github",
            "path", None, "Path of the GitHub App private key (PEM); must be readable."),
    Setting("CONBENCH_GITHUB_TIMEOUT", "github_timeout", "github", "duration", "5s",
            "Budget for in-request commit enrichment, a duration such as 500ms, 5s or 1m."),
    Setting("CONBENCH_GITHUB_API_URL", "github_api_url", "github", "base_url", "https://api.github.com",
            "GitHub REST base URL for enrichment, backfill and repair (GitHub Enterprise, tests)."),
    Setting("CONBENCH_INIT_SCHEMA", "init_schema", "dev", "bool", "false",
            "Development only: run the migrator at start; never against production."),
    Setting("CONBENCH_SEED", "seed", "dev", "bool", "false",
            "Development only: seed demo data when the database has no results."),
    Setting("CONBENCH_SEED_DEV_TOKEN", "seed_dev_token", "dev", "str", None,
            "Development and e2e only: seed this user API token (8+ characters).", secret=True),
    Setting("CONBENCH_ALERT_WEBHOOK_URL", "alert_webhook_url", "alerts", "url", None,
            "Generic webhook receiver for the webhook channel.", secret=True),
    Setting("CONBENCH_ALERT_SLACK_WEBHOOK_URL", "alert_slack_webhook_url", "alerts", "url", None,
            "Slack incoming-webhook URL for the slack channel.", secret=True),
    Setting("CONBENCH_ALERT_GITHUB_REPOSITORY", "alert_github_repository", "alerts", "github_repo",
            None, "Repository of the github-* channels, https://github.com/<owner>/<repo>."),
    Setting("CONBENCH_ALERT_GITHUB_TOKEN", "alert_github_token", "alerts", "str", None,
            "Token of the github-* channels; falls back to GITHUB_TOKEN, then GITHUB_API_TOKEN.",
            secret=True),
    Setting("GITHUB_TOKEN", "github_token", "alerts", "str", None,
            "Fallback GitHub token for the github-* alert channels.", secret=True),
    Setting("CONBENCH_ALERT_GITHUB_API_URL", "alert_github_api_url", "alerts", "base_url",
            "https://api.github.com", "GitHub REST base URL for the github-* alert channels."),
    Setting("CONBENCH_ALERT_EMAIL_SMTP_ADDR", "alert_email_smtp_addr", "alerts", "host_port", None,
            "SMTP server of the email channel, host:port."),
    Setting("CONBENCH_ALERT_EMAIL_FROM", "alert_email_from", "alerts", "email", None,
            "Sender of alert email: one address, display name allowed."),
    Setting("CONBENCH_ALERT_EMAIL_TO", "alert_email_to", "alerts", "emails", None,
            "Comma-separated recipients of alert email."),
    Setting("CONBENCH_ALERT_EMAIL_USERNAME", "alert_email_username", "alerts", "str", None,
            "SMTP username; set together with the password."),
    Setting("CONBENCH_ALERT_EMAIL_PASSWORD", "alert_email_password", "alerts", "str", None,
            "SMTP password; set together with the username.", secret=True),
)
GROUPS = {
    "server": ("Server", "Read by every command that serves or touches the database."),
    "auth": ("Authentication", "Reads are public; these control who may write."),
    "github": ("GitHub", "Credentials and limits for commit enrichment, backfill and repair."),
    "dev": ("Development", "Never set these in a shared deployment."),
    "alerts": ("Alert delivery", "Fallbacks for the flags of `conbench admin alerts deliver`; each "
               "is required only by the channel that uses it."),
}
# fmt: on


class ConfigError(Exception):
    """Every configuration problem found, reported at once."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True, repr=False)
class Settings:
    """The validated configuration of one process; build it with `Settings.from_env`."""

    db_url: str | None = None
    addr: str = ":8080"
    intended_base_url: str | None = None
    log_level: str = "INFO"
    oidc_issuer_url: str | None = None
    oidc_client_id: str | None = None
    oidc_client_secret: str | None = None
    session_secret: str | None = None
    api_token: str | None = None
    auth_disabled: bool = False
    github_api_tokens: tuple[str, ...] = ()
    github_app_id: str | None = None
    github_app_installation_id: int | None = None
    github_app_private_key_file: str | None = None
    github_timeout: float = 5.0
    github_api_url: str = "https://api.github.com"
    init_schema: bool = False
    seed: bool = False
    seed_dev_token: str | None = None
    alert_webhook_url: str | None = None
    alert_slack_webhook_url: str | None = None
    alert_github_repository: str | None = None
    alert_github_token: str | None = None
    github_token: str | None = None
    alert_github_api_url: str = "https://api.github.com"
    alert_email_smtp_addr: str | None = None
    alert_email_from: str | None = None
    alert_email_to: tuple[str, ...] = ()
    alert_email_username: str | None = None
    alert_email_password: str | None = None
    warnings: tuple[str, ...] = ()

    @classmethod
    def from_env(
        cls, env: Mapping[str, str], *, require_db: bool = True, db_fallback: bool = True
    ) -> Settings:
        """Validate `env`; raise ConfigError listing every problem (never a secret value)."""
        problems: list[str] = []
        values: dict[str, object] = {}
        given: set[str] = set()  # variables set to a non-empty value and not shadowed
        for row in SETTINGS:
            raw = env.get(row.env, "").strip()
            if (row.env == "DATABASE_URL" and not db_fallback) or row.field in _fields_of(given):
                continue
            if raw:
                given.add(row.env)
            text = raw or row.default
            if text is None:
                continue
            try:
                values[row.field] = PARSERS[row.kind](row.env, text)
            except ValueError as exc:
                problems.append(str(exc))
        tokens = values.get("github_api_tokens")
        values["github_api_tokens"], warnings = _usable_tokens(tokens)
        if require_db and "db_url" not in _fields_of(given):
            fallback = " (or DATABASE_URL)" if db_fallback else ""
            problems.append(f"CONBENCH_DB_URL{fallback} is required")
        problems += _cross_checks(values, given)
        ignored = [name for name in IGNORED_VARIABLES if name in env]
        if ignored:
            warnings.append(f"ignoring password-era variables: {', '.join(ignored)}")
        if problems:
            raise ConfigError(problems)
        return cls(**values, warnings=tuple(warnings))  # type: ignore[arg-type]

    def listen(self) -> tuple[str, int]:
        """The (host, port) to bind; an empty host means every interface."""
        host, port = split_addr(self.addr)
        return host or "0.0.0.0", port

    def alert_token(self) -> str | None:
        """The GitHub token of the github-* alert channels: the first of its three sources set."""
        pool = self.github_api_tokens[0] if self.github_api_tokens else None
        return self.alert_github_token or self.github_token or pool

    def redacted(self) -> dict[str, str | None]:
        """Every setting as text for the startup log line, secrets reduced to `***<last 3>`."""
        secret = {row.field for row in SETTINGS if row.secret}
        out = {f.name: _show(getattr(self, f.name), f.name in secret) for f in fields(self)}
        del out["warnings"]
        if self.db_url:
            out["db_url"] = redact_db_url(self.db_url)
        return out

    def __repr__(self) -> str:
        return f"Settings({self.redacted()!r})"


def _show(value: object, secret: bool) -> str | None:
    if value is None or value == ():
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple):
        return ",".join(str(_show(v, secret)) for v in value)
    if isinstance(value, float):
        return format_duration(value)
    return redact_secret(str(value)) if secret else str(value)


def _fields_of(names: set[str]) -> set[str]:
    return {row.field for row in SETTINGS if row.env in names}


def redact_secret(value: str) -> str:
    """`***` plus the last 3 characters; short values (under 8 characters) show nothing."""
    return "***" + value[-3:] if len(value) >= 8 else "***"


def redact_db_url(url: str) -> str:
    """The URL with its password (in the user info or a `password=` parameter) replaced by `***`."""
    scheme, sep, rest = url.partition("://")
    end = min([i for i in (rest.find(c) for c in "/?#") if i >= 0], default=len(rest))
    authority, tail = rest[:end], rest[end:]
    userinfo, at, hosts = authority.rpartition("@")
    user, colon, _ = userinfo.partition(":")
    if at and colon:
        authority = f"{user}:***@{hosts}"
    tail = re.sub(r"([?&]password=)[^&#]*", r"\1***", tail)
    return scheme + sep + authority + tail


def is_loopback_url(url: str | None) -> bool:
    """True when the URL's host is localhost, 127.0.0.1 or ::1; unset or unparsable is not."""
    if not url:
        return False
    try:
        return urlsplit(url).hostname in LOOPBACK_HOSTS
    except ValueError:
        return False


def _usable_tokens(tokens: object) -> tuple[tuple[str, ...], list[str]]:
    """Drop pool tokens of implausible length (05 §2.1), naming them by position and length only."""
    usable, warnings = [], []
    for i, token in enumerate(tokens if isinstance(tokens, tuple) else (), 1):
        if TOKEN_MIN_LENGTH <= len(token) <= TOKEN_MAX_LENGTH:
            usable.append(token)
        else:
            warnings.append(
                f"GITHUB_API_TOKEN entry {i} ignored: {len(token)} characters "
                f"(expected {TOKEN_MIN_LENGTH} to {TOKEN_MAX_LENGTH})"
            )
    return tuple(usable), warnings


def _cross_checks(values: dict[str, object], given: set[str]) -> list[str]:
    """Rules that involve more than one variable, or a length limit worded as in the spec."""
    problems = []
    if given & set(OIDC):
        needed = (*OIDC, "CONBENCH_INTENDED_BASE_URL", "CONBENCH_SESSION_SECRET")
        problems += [
            f"OIDC is partially configured: {n} is required" for n in needed if n not in given
        ]
    for field, env, minimum in (
        ("session_secret", "CONBENCH_SESSION_SECRET", 32),
        ("seed_dev_token", "CONBENCH_SEED_DEV_TOKEN", 8),
    ):
        value = values.get(field)
        if isinstance(value, str) and len(value) < minimum:
            problems.append(f"{env} must be at least {minimum} characters")
    base_url = values.get("intended_base_url")
    if values.get("auth_disabled") and isinstance(base_url, str) and not is_loopback_url(base_url):
        problems.append(
            "CONBENCH_AUTH_DISABLED=true is refused: CONBENCH_INTENDED_BASE_URL is not a loopback "
            "host (localhost, 127.0.0.1, ::1)"
        )
    if given & set(GITHUB_APP):
        problems += [
            f"GitHub App is partially configured: {name} is required"
            for name in GITHUB_APP
            if name not in given
        ]
        if "GITHUB_API_TOKEN" in given:
            problems.append("the GitHub App variables and GITHUB_API_TOKEN are mutually exclusive")
    user, password = "CONBENCH_ALERT_EMAIL_USERNAME", "CONBENCH_ALERT_EMAIL_PASSWORD"
    if (user in given) != (password in given):
        missing, present = (password, user) if user in given else (user, password)
        problems.append(f"{missing} is required when {present} is set")
    return problems


def help_for(env: str) -> str:
    """The `--help` text of a variable: its help plus "(env NAME, default D)"."""
    row = next(row for row in SETTINGS if row.env == env)
    default = f", default {row.default}" if row.default is not None else ""
    return f"{row.help.rstrip('.')} (env {env}{default})"


def render_configuration_doc() -> str:
    """docs/configuration.md, rendered from SETTINGS."""
    lines = [
        "# Configuration",
        "",
        "Conbench reads its configuration once at start, from environment variables only; a",
        "bad value stops the command with `config error: <every problem found>` before it binds",
        "a port or opens the database. Booleans are true only for the exact string `true` (`false`",
        "or empty is false, anything else is an error). Secret values never reach a log line: the",
        "startup configuration line shows them as `***<last 3 characters>`.",
        "",
        "<!-- Generated from conbench/config.py; regenerate with",
        '     python -c "from conbench.config import write_configuration_doc; '
        'write_configuration_doc()" -->',
    ]
    for group, (title, intro) in GROUPS.items():
        lines += ["", f"## {title}", "", intro, ""]
        lines += ["| Variable | Default | Secret | Description |", "|---|---|---|---|"]
        for row in SETTINGS:
            if row.group == group:
                default = f"`{row.default}`" if row.default is not None else "—"
                secret = "yes" if row.secret else "no"
                text = row.help.replace("|", "\\|")
                lines.append(f"| `{row.env}` | {default} | {secret} | {text} |")
    lines += [
        "",
        "## Ignored variables",
        "",
        "These variables of the password-era Flask server are ignored; a startup warning names",
        "those that are set (names only):",
        "",
    ]
    lines += [f"- `{name}`" for name in IGNORED_VARIABLES]
    return "\n".join(lines) + "\n"


def write_configuration_doc(path: Path = DOC_PATH) -> Path:
    """Write docs/configuration.md (run after changing SETTINGS)."""
    path.write_text(render_configuration_doc(), encoding="utf-8")
    return path
