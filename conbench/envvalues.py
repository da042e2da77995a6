"""Parsers for the kinds of values that settings and the matching CLI flags hold.

Each parser takes the variable (or flag) name and the raw text and returns the value, or raises
ValueError with a message naming the variable and the rule; messages never quote secret values.
"""

import re
from collections.abc import Callable
from email.utils import getaddresses
from urllib.parse import urlsplit

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")

_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}
_PART = r"(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h)"
_DURATION = re.compile(rf"([-+]?)((?:{_PART})+)")


def parse_duration(text: str) -> float:
    """Seconds in a duration such as `1.5h`, `1m30s`, `300ms` or `2µs`; ValueError otherwise.

    As in Go's time.ParseDuration: a unit is required except for `0`, and a sign is allowed.
    """
    if text in ("0", "+0", "-0"):
        return 0.0
    match = _DURATION.fullmatch(text)
    if not match:
        raise ValueError(f"invalid duration {text!r}")
    total = sum(float(number) * _UNITS[unit] for number, unit in re.findall(_PART, match[2]))
    return -total if match[1] == "-" else total


def format_duration(seconds: float) -> str:
    """A short duration string for `seconds` (`5s`, `300ms`, `1m30s`), for logs and help texts."""
    if seconds and abs(seconds) < 1:
        return f"{seconds * 1000:g}ms"
    minutes, rest = divmod(seconds, 60)
    if not minutes or rest % 1:
        return f"{seconds:g}s"
    hours, minutes = divmod(int(minutes), 60)
    parts = [
        f"{hours}h" if hours else "",
        f"{minutes}m" if minutes else "",
        f"{rest:g}s" if rest else "",
    ]
    return "".join(parts)


def check_http_url(name: str, value: str) -> str:
    """`value` when it is an http(s) URL with a host; ValueError naming `name` (not the value)."""
    try:
        ok = value.startswith(("http://", "https://")) and bool(urlsplit(value).hostname)
    except ValueError:
        ok = False
    if not ok:
        raise ValueError(f"{name} must start with http:// or https:// and name a host")
    return value


def check_host_port(name: str, value: str, *, host_required: bool = True) -> str:
    """`value` when it is host:port (or :port unless a host is required); else ValueError."""
    try:
        host, _ = split_addr(value)
    except ValueError:
        host = None
    if host is None or (host_required and not host):
        form = "host:port" if host_required else "host:port or :port"
        raise ValueError(f"{name} must be {form} with a port from 1 to 65535 (got {value!r})")
    return value


def normalize_github_repository(value: str) -> str | None:
    """`https://github.com/<owner>/<repo>` for a GitHub repository URL (05 §1), else None."""
    url = value.strip().replace("git@github.com:", "https://github.com/", 1).rstrip("/")
    return url if re.fullmatch(r"https://github\.com/[^/\s]+/[^/\s]+", url) else None


def split_addr(value: str) -> tuple[str, int]:
    """(host, port) of `host:port`, `:port` or `[v6]:port`; ValueError otherwise."""
    host, sep, port = value.rpartition(":")
    if not sep or not re.fullmatch(r"[0-9]{1,5}", port) or not 1 <= int(port) <= 65535:
        raise ValueError(value)
    if host.startswith("[") and host.endswith("]") and len(host) > 2:
        host = host[1:-1]
    elif ":" in host or "[" in host or "]" in host:
        raise ValueError(value)
    if re.search(r"[\s/]", host):
        raise ValueError(value)
    return host, int(port)


def _bool(name: str, raw: str) -> bool:
    if raw not in ("true", "false"):
        raise ValueError(f"{name} must be true or false (got {raw!r})")
    return raw == "true"


def _duration(name: str, raw: str) -> float:
    try:
        seconds = parse_duration(raw)
    except ValueError:
        raise ValueError(
            f"{name} must be a duration such as 500ms, 5s or 1m30s (got {raw!r})"
        ) from None
    if seconds <= 0:
        raise ValueError(f"{name} must be greater than zero (got {raw!r})")
    return seconds


def _dsn(name: str, raw: str) -> str:
    if not raw.startswith(("postgres://", "postgresql://")):
        raise ValueError(f"{name} must be a postgres:// or postgresql:// URL")
    return raw


def _level(name: str, raw: str) -> str:
    if raw.upper() not in LOG_LEVELS:
        raise ValueError(f"{name} must be one of {', '.join(LOG_LEVELS)} (got {raw!r})")
    return raw.upper()


def _int(name: str, raw: str) -> int:
    if not re.fullmatch(r"[0-9]+", raw) or int(raw) == 0:
        raise ValueError(f"{name} must be a positive integer")
    return int(raw)


def _path(name: str, raw: str) -> str:
    try:
        with open(raw, "rb"):
            pass
    except OSError as exc:
        raise ValueError(f"{name} is not a readable file: {raw} ({exc.strerror})") from None
    return raw


def _emails(name: str, raw: str) -> tuple[str, ...]:
    parts = tuple(p.strip() for p in raw.split(",") if p.strip())
    if not parts or not all(_is_address(p) for p in parts):
        raise ValueError(f"{name} must be a comma-separated list of email addresses")
    return parts


def _email(name: str, raw: str) -> str:
    if not _is_address(raw):
        raise ValueError(f"{name} must be one email address (a display name is allowed)")
    return raw


def _is_address(text: str) -> bool:
    parsed = getaddresses([text])
    return len(parsed) == 1 and re.fullmatch(r"[^@\s]+@[^@\s]+", parsed[0][1]) is not None


def _github_repo(name: str, raw: str) -> str:
    repo = normalize_github_repository(raw)
    if repo is None:
        raise ValueError(f"{name} must be a repository URL https://github.com/<owner>/<repo>")
    return repo


PARSERS: dict[str, Callable[[str, str], object]] = {
    "str": lambda name, raw: raw,
    "dsn": _dsn,
    "addr": lambda name, raw: check_host_port(name, raw, host_required=False),
    "host_port": check_host_port,
    "url": check_http_url,
    "base_url": lambda name, raw: check_http_url(name, raw).rstrip("/"),
    "bool": _bool,
    "duration": _duration,
    "level": _level,
    "int": _int,
    "path": _path,
    "tokens": lambda name, raw: tuple(t.strip() for t in raw.split(",") if t.strip()),
    "email": _email,
    "emails": _emails,
    "github_repo": _github_repo,
}
