"""Logging: JSON lines on stderr, with credentials scrubbed from every record on the way out."""

import json
import logging
import re
import sys
from datetime import UTC, datetime

LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")

# The last line of defence: code should never log these, so patterns favour over-redaction.
_SCRUBS = (
    (re.compile(r"(?i)\b(bearer\s+)[^\s\"',;]+"), r"\1***"),
    (re.compile(r"(cb_[0-9A-Za-z]{5})[0-9A-Za-z]{38}"), r"\1***"),  # keeps the 8-char prefix
    (re.compile(r"\b(gh[pousr]_[0-9A-Za-z]{2})[0-9A-Za-z]{20,}"), r"\1***"),
    (re.compile(r"\b(github_pat_[0-9A-Za-z]{3})[0-9A-Za-z_]{20,}"), r"\1***"),
    (re.compile(r"(?i)(postgres(?:ql)?://[^:/?#@\s]*:)[^/?#\s]*@"), r"\1***@"),
    (re.compile(r"(?i)\b(password=)[^\s&'\"]+"), r"\1***"),
)
_RECORD_ATTRIBUTES = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


def scrub(text: str) -> str:
    """`text` with bearer tokens, API tokens and database passwords replaced by `***`."""
    for pattern, replacement in _SCRUBS:
        text = pattern.sub(replacement, text)
    return text


class ScrubFilter(logging.Filter):
    """Rewrites each record's message, string extras and traceback through `scrub`."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            record.msg, record.args = scrub(record.getMessage()), None
        except Exception:  # a bad format string: leave it for the handler to report
            pass
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = scrub(record.exc_text)
        if record.stack_info:
            record.stack_info = scrub(record.stack_info)
        for key, value in _extras(record).items():
            if isinstance(value, str):
                setattr(record, key, scrub(value))
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time (RFC 3339 UTC), level, logger, message, then extras."""

    def format(self, record: logging.LogRecord) -> str:
        time = datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")
        entry: dict[str, object] = {
            "time": time.replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in _extras(record).items():
            entry.setdefault(key, value)
        if record.exc_text:
            entry["exception"] = record.exc_text
        elif record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = record.stack_info
        return json.dumps(entry, default=str, ensure_ascii=False)


class _StderrHandler(logging.Handler):
    """Writes to whatever sys.stderr is at the time (gunicorn and pytest both replace it)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(self.format(record) + "\n")
            sys.stderr.flush()
        except Exception:
            self.handleError(record)


def configure_logging(level: str) -> None:
    """Send all logging to stderr as JSON lines at `level`; calling it again replaces the setup."""
    if level.upper() not in LEVELS:
        raise ValueError(f"log level must be one of {', '.join(LEVELS)}")
    root = logging.getLogger()
    for handler in [h for h in root.handlers if isinstance(h, _StderrHandler)]:
        root.removeHandler(handler)
    handler = _StderrHandler()
    handler.addFilter(ScrubFilter())
    handler.setFormatter(JsonFormatter())
    root.addHandler(handler)
    root.setLevel(level.upper())


def _extras(record: logging.LogRecord) -> dict[str, object]:
    names = vars(record).keys() - _RECORD_ATTRIBUTES
    return {k: v for k, v in vars(record).items() if k in names and not k.startswith("_")}
