"""JSON-lines logging and the credential scrubber."""

import json
import logging
from collections.abc import Iterator

import pytest

from conbench.logs import configure_logging, scrub

TOKEN = "cb_" + "A1b2C3d4E5" * 4 + "xyz"


@pytest.fixture
def root() -> Iterator[logging.Logger]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield root
    root.handlers[:] = handlers
    root.setLevel(level)


def lines(capsys: pytest.CaptureFixture[str]) -> list[dict[str, object]]:
    return [json.loads(line) for line in capsys.readouterr().err.splitlines()]


def test_records_are_json_lines_on_stderr(root, capsys) -> None:
    configure_logging("INFO")
    logging.getLogger("conbench.test").info("hello %s", "world", extra={"run_id": "r1"})
    logging.getLogger("conbench.test").debug("not shown")
    [entry] = lines(capsys)
    assert entry["message"] == "hello world"
    assert entry["level"] == "INFO"
    assert entry["logger"] == "conbench.test"
    assert entry["run_id"] == "r1"
    assert str(entry["time"]).endswith("Z") and "T" in str(entry["time"])


def test_configure_logging_is_idempotent(root, capsys) -> None:
    configure_logging("INFO")
    configure_logging("DEBUG")
    logging.getLogger("conbench.test").debug("once")
    assert [e["message"] for e in lines(capsys)] == ["once"]


def test_unknown_level_is_refused(root) -> None:
    with pytest.raises(ValueError):
        configure_logging("LOUD")


def test_secrets_are_scrubbed_from_messages_extras_and_tracebacks(root, capsys) -> None:
    configure_logging("INFO")
    log = logging.getLogger("conbench.test")
    log.warning("header Authorization: Bearer %s", "sekrit-value", extra={"token": TOKEN})
    try:
        raise RuntimeError("connect to postgres://u:db-pass@h/db failed")
    except RuntimeError:
        log.exception("boom")
    text = capsys.readouterr().err
    assert "sekrit-value" not in text and TOKEN not in text and "db-pass" not in text
    assert "Bearer ***" in text and TOKEN[:8] + "***" in text


@pytest.mark.parametrize(
    ("text", "scrubbed"),
    [
        ("Authorization: Bearer abc.def-ghi", "Authorization: Bearer ***"),
        ('{"authorization": "bearer xyz"}', '{"authorization": "bearer ***"}'),
        (f"token={TOKEN}!", f"token={TOKEN[:8]}***!"),
        ("postgres://conbench:pw@db:5432/x", "postgres://conbench:***@db:5432/x"),
        ("postgresql://u:p@ss@h/x", "postgresql://u:***@h/x"),
        ("host=h password=pw dbname=x", "host=h password=*** dbname=x"),
        ("ghp_" + "a" * 36, "ghp_aa***"),
        ("postgres://u@h/x and cb_short", "postgres://u@h/x and cb_short"),
    ],
)
def test_scrub(text: str, scrubbed: str) -> None:
    assert scrub(text) == scrubbed
