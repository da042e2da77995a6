"""`conbench admin lookback warm|prune`: warming stores exactly what a request computes, pruning
deletes only old rows, and bad arguments exit non-zero with one line on stderr."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from types import SimpleNamespace

import psycopg
import pytest

from conbench import cli
from conbench.commands.lookback import prune, warm
from conbench.db import connect
from conbench.queries import lookback
from conbench.queries.ancestry import ancestors
from tests.factories import make_case, make_commit, make_hardware, make_result

BASE = datetime(2024, 3, 1, 12, 0)
ARROW = "https://github.com/org/arrow"
OTHER = "https://github.com/org/other"
WARM_KEYS = (
    "repositories", "commits", "fingerprints", "stored", "already_stored", "not_stored", "seconds",
)  # fmt: skip


@pytest.fixture
def db(fresh_db_url):
    with connect(fresh_db_url, autocommit=True) as conn:
        yield conn


@pytest.fixture
def env(fresh_db_url):
    return {"CONBENCH_DB_URL": fresh_db_url}


@pytest.fixture
def world(db) -> SimpleNamespace:
    """Eight default-branch commits of ARROW a day apart with three series, a branch commit
    (newer than all of them) forking from the second, two commits of OTHER."""
    make_hardware(db)
    cases = [make_case(db, f"case-{i}") for i in range(3)]
    main = [
        make_commit(db, f"main-{i:02d}", repository=ARROW, timestamp=BASE + timedelta(days=i))
        for i in range(8)
    ]
    for i, commit in enumerate(main):
        for j, case in enumerate(cases[: 2 + i % 2]):
            value = 10.0 + i % 3 + j
            make_result(db, commit=commit, case_id=case, data=[value, value + 0.1, value + 0.3])
    branch = make_commit(
        db,
        "pr-01",
        repository=ARROW,
        branch="fork:feature",
        fork_point_sha="main-01",
        timestamp=BASE + timedelta(days=9),
    )
    make_result(db, commit=branch, case_id=cases[0], data=[11.0, 11.1, 11.2])
    other = [
        make_commit(db, f"other-{i}", repository=OTHER, timestamp=BASE + timedelta(days=i))
        for i in range(2)
    ]
    for commit in other:
        make_result(db, commit=commit, case_id=cases[0], data=[5.0, 5.1, 5.2])
    return SimpleNamespace(main=[c["id"] for c in main], branch=branch["id"], other=other)


def _run(capsys, env, *args: str) -> tuple[int, dict | None, str]:
    code = cli.main(["admin", "lookback", *args, "--format", "json"], env)
    out, err = capsys.readouterr()
    return code, (json.loads(out) if out.strip() else None), err


def _stored(conn: psycopg.Connection) -> dict[tuple[str, str], tuple]:
    rows = conn.execute(
        "SELECT commit_id, history_fingerprint, dist_mean, dist_std, computed_at"
        " FROM lookback_distribution"
    ).fetchall()
    return {
        (r["commit_id"], r["history_fingerprint"]): (
            r["dist_mean"],
            r["dist_std"],
            r["computed_at"],
        )
        for r in rows
    }


def _uncached(conn: psycopg.Connection, commit_id: str) -> dict:
    commit = conn.execute("SELECT * FROM commit WHERE id = %s", (commit_id,)).fetchone()
    fingerprints = lookback.list_commit_fingerprints(conn, commit_id)
    ancestry = ancestors(conn, commit, limit=lookback.LOOKBACK_LIMIT)
    return lookback._compute(conn, ancestry, fingerprints)


def test_warm_stores_exactly_what_lookback_for_computes_uncached(capsys, env, db, world):
    code, summary, err = _run(capsys, env, "warm", "--commits", "3")
    assert code == 0, err
    stored = _stored(db)
    # The 3 newest of ARROW, the fork point of the newer branch commit, the 2 of OTHER.
    expected_commits = {*world.main[5:], world.main[1], *(c["id"] for c in world.other)}
    assert {commit_id for commit_id, _ in stored} == expected_commits
    expected = {}
    for commit_id in expected_commits:
        for fingerprint, distribution in _uncached(db, commit_id).items():
            expected[(commit_id, fingerprint)] = distribution
    assert {key: value[:2] for key, value in stored.items()} == expected
    assert summary == {
        **summary,
        "repositories": 2,
        "commits": 6,
        "fingerprints": len(expected),
        "stored": len(expected),
        "already_stored": 0,
        "not_stored": 0,
    }
    assert set(summary) == set(WARM_KEYS)
    assert isinstance(summary["seconds"], float)


def test_warm_is_idempotent(capsys, env, db, world):
    _run(capsys, env, "warm")
    before = _stored(db)
    code, summary, _ = _run(capsys, env, "warm")
    assert code == 0
    assert _stored(db) == before  # computed_at included: nothing was rewritten
    assert summary["stored"] == 0
    assert summary["already_stored"] == summary["fingerprints"] == len(before)


def test_warm_in_small_batches_stores_the_same_values(db, world):
    warm(db, commits=8, batch=1)
    small = {key: value[:2] for key, value in _stored(db).items()}
    db.execute("DELETE FROM lookback_distribution")
    warm(db, commits=8)
    assert {key: value[:2] for key, value in _stored(db).items()} == small


def test_warm_stores_even_when_epoch_rows_are_missing(db, world):
    db.execute("DELETE FROM lookback_epoch")  # as after a load with triggers disabled
    summary = warm(db, commits=2, repository=ARROW)
    assert summary.stored == summary.fingerprints > 0
    assert summary.not_stored == 0


def test_warm_of_one_repository_leaves_the_others_alone(capsys, env, db, world):
    code, summary, _ = _run(capsys, env, "warm", "--repository", OTHER + "/", "--commits", "1")
    assert code == 0
    assert {commit_id for commit_id, _ in _stored(db)} == {world.other[1]["id"]}
    assert (summary["repositories"], summary["commits"]) == (1, 1)


def test_warm_of_an_unknown_repository_exits_2(capsys, env, world):
    code, summary, err = _run(capsys, env, "warm", "--repository", "https://github.com/no/such")
    assert (code, summary) == (2, None)
    assert err == "usage error: --repository: no commit of https://github.com/no/such\n"


def test_warm_text_summary_is_key_value_lines(capsys, env, world):
    assert cli.main(["admin", "lookback", "warm", "--commits", "1"], env) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(": ")[0] for line in lines] == list(WARM_KEYS)


def test_warm_of_an_empty_database_does_nothing(capsys, env):
    code, summary, _ = _run(capsys, env, "warm")
    assert code == 0
    assert (summary["commits"], summary["stored"]) == (0, 0)


@pytest.mark.parametrize("commits", ["0", "-3", "many"])
def test_warm_with_a_bad_commit_count_is_a_usage_error(capsys, env, commits):
    with pytest.raises(SystemExit) as exc:
        cli.main(["admin", "lookback", "warm", "--commits", commits], env)
    assert exc.value.code == 2
    assert "--commits" in capsys.readouterr().err


def test_warm_without_a_database_url_exits_1(capsys):
    assert cli.main(["admin", "lookback", "warm"], {}) == 1
    assert "CONBENCH_DB_URL" in capsys.readouterr().err


def test_a_database_error_exits_1_on_one_line(capsys, fresh_db_url):
    url = fresh_db_url.rsplit("/", 1)[0] + "/no_such_database"
    code = cli.main(["admin", "lookback", "prune", "--older-than", "1"], {"CONBENCH_DB_URL": url})
    assert code == 1
    err = capsys.readouterr().err
    assert err.startswith("lookback prune error: database: ")
    assert len(err.splitlines()) == 1


def _age(conn: psycopg.Connection, commit_id: str, days: int) -> None:
    conn.execute(
        "UPDATE lookback_distribution SET computed_at = computed_at - make_interval(days => %s)"
        " WHERE commit_id = %s",
        (days, commit_id),
    )


def test_prune_deletes_only_rows_older_than_the_cutoff(capsys, env, db, world):
    warm(db, commits=8)
    before = _stored(db)
    _age(db, world.main[7], 10)
    _age(db, world.main[6], 3)
    old = {key for key in before if key[0] == world.main[7]}
    code, summary, err = _run(capsys, env, "prune", "--older-than", "5")
    assert code == 0, err
    assert (summary["deleted"], summary["commits"]) == (len(old), 1)
    assert summary["cutoff"].endswith("Z")
    assert set(_stored(db)) == set(before) - old


def test_prune_in_small_batches_deletes_every_old_row(db, world):
    warm(db, commits=8)
    total = len(_stored(db))
    for commit_id in world.main:
        _age(db, commit_id, 2)
    summary = prune(db, 1.5, batch=1)
    assert summary.deleted == total - 2  # the two OTHER commits stay
    assert {commit_id for commit_id, _ in _stored(db)} == {c["id"] for c in world.other}


def test_prune_with_zero_days_deletes_everything(capsys, env, db, world):
    warm(db, commits=8)
    code, summary, _ = _run(capsys, env, "prune", "--older-than", "0")
    assert code == 0
    assert summary["deleted"] > 0
    assert _stored(db) == {}


@pytest.mark.parametrize("days", ["-1", "nan", "inf"])
def test_prune_with_a_bad_age_exits_2(capsys, env, days):
    code = cli.main(["admin", "lookback", "prune", "--older-than", days], env)
    assert code == 2
    assert capsys.readouterr().err == "usage error: --older-than must be a number of days >= 0\n"


def test_prune_without_an_age_is_a_usage_error(capsys, env):
    with pytest.raises(SystemExit) as exc:
        cli.main(["admin", "lookback", "prune"], env)
    assert exc.value.code == 2
    assert "--older-than" in capsys.readouterr().err


def test_reset_after_bulk_load_creates_epochs_and_forgets_stored_rows(db, world):
    warm(db, commits=2)
    db.execute("DELETE FROM lookback_epoch")
    lookback.reset_after_bulk_load(db)
    assert _stored(db) == {}
    keys = {row["key"] for row in db.execute("SELECT key FROM lookback_epoch").fetchall()}
    fingerprints = db.execute("SELECT DISTINCT history_fingerprint FROM benchmark_result")
    assert keys == {row["history_fingerprint"] for row in fingerprints} | {
        f"repo:{ARROW}",
        f"repo:{OTHER}",
    }


def test_warm_reports_progress_on_a_terminal(capsys, monkeypatch, env, world):
    monkeypatch.setattr("sys.stderr.isatty", lambda: True)
    assert cli.main(["admin", "lookback", "warm", "--commits", "3"], env) == 0
    assert capsys.readouterr().err.splitlines()[-1].startswith("lookback warm: 6/6 commits, ")
