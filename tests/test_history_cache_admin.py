"""`conbench admin history-cache prune`: it deletes exactly the rows the read path would not serve
(and, with --older-than, old ones), and bad arguments exit 2 with one line on stderr."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from types import SimpleNamespace

import psycopg
import pytest

from conbench import cli
from conbench.commands.history_cache import prune
from conbench.db import connect
from conbench.queries import history
from tests.factories import make_case, make_commit, make_result

BASE = datetime(2024, 3, 1, 12, 0)
KEYS = ("cutoff", "stale", "old", "deleted", "seconds")
UNKNOWN = "fingerprint-without-epoch-row"


@pytest.fixture
def db(fresh_db_url):
    with connect(fresh_db_url, autocommit=True) as conn:
        yield conn


@pytest.fixture
def env(fresh_db_url):
    return {"CONBENCH_DB_URL": fresh_db_url}


def _epoch(conn: psycopg.Connection, fingerprint: str) -> int:
    row = conn.execute("SELECT epoch FROM lookback_epoch WHERE key = %s", (fingerprint,)).fetchone()
    return 0 if row is None else row["epoch"]


def _store(conn: psycopg.Connection, fingerprint: str, variant: str, epoch: int) -> None:
    history.upsert_history_cache(conn, fingerprint, variant, epoch=epoch, body=b'{"points":[]}')


@pytest.fixture
def world(db) -> SimpleNamespace:
    """Series A (modern and CSV stored, valid), series B (modern stored, then a new member made it
    stale) and a fingerprint without an epoch row (epoch 0 valid, epoch 3 stale)."""
    series = {}
    for name in ("a", "b"):
        commit = make_commit(db, f"sha-{name}", timestamp=BASE)
        series[name] = make_result(db, commit=commit, case_id=make_case(db, f"case-{name}"))
    a, b = (series[name]["history_fingerprint"] for name in ("a", "b"))
    _store(db, a, "modern", _epoch(db, a))
    _store(db, a, "csv", _epoch(db, a))
    _store(db, b, "modern", _epoch(db, b))
    later = make_commit(db, "sha-b-later", timestamp=BASE + timedelta(days=1))
    same = {k: series["b"][k] for k in ("case_id", "context_id", "info_id", "hardware_id")}
    make_result(db, commit=later, **same)
    _store(db, UNKNOWN, "modern", 0)
    _store(db, UNKNOWN, "csv", 3)
    return SimpleNamespace(a=series["a"], b=series["b"])


def _rows(conn: psycopg.Connection) -> set[tuple[str, str]]:
    rows = conn.execute("SELECT history_fingerprint, variant FROM history_cache").fetchall()
    return {(row["history_fingerprint"], row["variant"]) for row in rows}


def _served(conn: psycopg.Connection, result: dict, variant: str) -> bool:
    """Whether the read path serves the stored body of `variant` for `result`'s series."""
    return history.get_series_head_cached(conn, result["id"], variant)["cached_body"] is not None


def _age(conn: psycopg.Connection, fingerprint: str, variant: str, days: int) -> None:
    conn.execute(
        "UPDATE history_cache SET computed_at = computed_at - make_interval(days => %s)"
        " WHERE history_fingerprint = %s AND variant = %s",
        (days, fingerprint, variant),
    )


def _run(capsys, env, *args: str) -> tuple[int, dict | None, str]:
    code = cli.main(["admin", "history-cache", "prune", *args, "--format", "json"], env)
    out, err = capsys.readouterr()
    return code, (json.loads(out) if out.strip() else None), err


def test_prune_deletes_stale_rows_and_keeps_valid_ones(capsys, env, db, world):
    a = world.a["history_fingerprint"]
    assert not _served(db, world.b, "modern")
    assert _served(db, world.a, "modern") and _served(db, world.a, "csv")
    code, summary, err = _run(capsys, env)
    assert code == 0, err
    assert summary == {**summary, "cutoff": None, "stale": 2, "old": 0, "deleted": 2}
    assert set(summary) == set(KEYS)
    assert isinstance(summary["seconds"], float)
    assert _rows(db) == {(a, "modern"), (a, "csv"), (UNKNOWN, "modern")}
    assert _served(db, world.a, "modern") and _served(db, world.a, "csv")


def test_prune_keeps_what_the_read_path_serves(db, world):
    served = {variant for variant in ("modern", "csv") if _served(db, world.a, variant)}
    prune(db)
    assert {variant for fingerprint, variant in _rows(db) if fingerprint != UNKNOWN} == served


def test_older_than_also_deletes_old_valid_rows(capsys, env, db, world):
    a = world.a["history_fingerprint"]
    _age(db, a, "csv", 10)
    _age(db, a, "modern", 3)
    code, summary, err = _run(capsys, env, "--older-than", "5")
    assert code == 0, err
    assert (summary["stale"], summary["old"], summary["deleted"]) == (2, 1, 3)
    assert summary["cutoff"].endswith("Z")
    assert _rows(db) == {(a, "modern"), (UNKNOWN, "modern")}


def test_older_than_zero_deletes_every_row(capsys, env, db, world):
    code, summary, _ = _run(capsys, env, "--older-than", "0")
    assert code == 0
    assert (summary["stale"], summary["old"], summary["deleted"]) == (2, 3, 5)
    assert _rows(db) == set()


def test_prune_in_batches_of_one_deletes_every_stale_row(db, world):
    summary = prune(db, batch=1)
    assert (summary.stale, summary.deleted) == (2, 2)
    assert len(_rows(db)) == 3


def test_a_row_stored_valid_after_the_listing_is_kept(db, world):
    b = world.b["history_fingerprint"]
    listed = history.list_prunable_history_cache(db, None)
    assert (b, "modern", True) in listed
    _store(db, b, "modern", _epoch(db, b))  # a request stored a fresh body meanwhile
    assert history.delete_prunable_history_cache(db, [(b, "modern")], None) == 0
    assert _served(db, world.b, "modern")


def test_text_summary_is_key_value_lines(capsys, env, world):
    assert cli.main(["admin", "history-cache", "prune"], env) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(": ")[0] for line in lines] == list(KEYS)


def test_prune_of_an_empty_table_does_nothing(capsys, env):
    code, summary, _ = _run(capsys, env, "--older-than", "1")
    assert code == 0
    assert (summary["stale"], summary["old"], summary["deleted"]) == (0, 0, 0)


@pytest.mark.parametrize("days", ["-1", "nan", "inf"])
def test_a_bad_age_exits_2(capsys, env, days):
    code = cli.main(["admin", "history-cache", "prune", "--older-than", days], env)
    assert code == 2
    assert capsys.readouterr().err == "usage error: --older-than must be a number of days >= 0\n"


@pytest.mark.parametrize("args", [["--older-than", "soon"], ["--format", "xml"], ["--dry-run"], []])
def test_unusable_arguments_are_usage_errors(capsys, env, args):
    argv = ["admin", "history-cache", *(["prune", *args] if args else [])]
    with pytest.raises(SystemExit) as exc:
        cli.main(argv, env)
    assert exc.value.code == 2
    assert "usage:" in capsys.readouterr().err


def test_help_names_the_database_variable(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["admin", "history-cache", "prune", "--help"], {})
    assert exc.value.code == 0
    assert "CONBENCH_DB_URL" in capsys.readouterr().out


def test_without_a_database_url_exits_1(capsys):
    assert cli.main(["admin", "history-cache", "prune"], {}) == 1
    assert "CONBENCH_DB_URL" in capsys.readouterr().err


def test_a_database_error_exits_1_on_one_line(capsys, fresh_db_url):
    url = fresh_db_url.rsplit("/", 1)[0] + "/no_such_database"
    code = cli.main(["admin", "history-cache", "prune"], {"CONBENCH_DB_URL": url})
    assert code == 1
    err = capsys.readouterr().err
    assert err.startswith("history-cache prune error: database: ")
    assert len(err.splitlines()) == 1


def test_progress_is_reported_on_a_terminal(capsys, monkeypatch, env, world):
    monkeypatch.setattr("sys.stderr.isatty", lambda: True)
    assert cli.main(["admin", "history-cache", "prune"], env) == 0
    assert capsys.readouterr().err.splitlines()[-1] == "history-cache prune: 2/2 rows, 2 deleted"
