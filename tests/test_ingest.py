"""The write path below HTTP: dimension dedupe, hardware identity, fingerprints, commit rows."""

import threading
import time

from conbench.db import connect
from conbench.identity import history_fingerprint
from conbench.ingest import (
    CommitRef,
    LocalCommitMap,
    NewCommit,
    UnknownCommitResolver,
    store_results,
)
from conbench.validation import prepare_result
from tests import payloads

UNKNOWN = UnknownCommitResolver()


def store(conn, *bodies, modern=False, commits=UNKNOWN):
    inputs = [prepare_result(body, modern=modern) for body in bodies]
    return store_results(conn, inputs, commits=commits, surface=None)


def row_of(conn, result_id):
    return conn.execute("SELECT * FROM benchmark_result WHERE id = %s", (result_id,)).fetchone()


def hardware_of(conn, result_id):
    return conn.execute(
        "SELECT h.* FROM hardware h JOIN benchmark_result r ON r.hardware_id = h.id"
        " WHERE r.id = %s",
        (result_id,),
    ).fetchone()


def test_results_with_equal_dimensions_share_their_rows(conn):
    a, b = store(conn, payloads.legacy_result(), payloads.legacy_result(run_id="other-run"))
    first, second = row_of(conn, a.id), row_of(conn, b.id)
    for column in ("case_id", "context_id", "info_id", "hardware_id", "commit_id"):
        assert first[column] == second[column], column
    assert a.history_fingerprint == b.history_fingerprint


def test_dimensions_are_reused_across_calls_and_differ_when_their_keys_do(conn):
    (a,) = store(conn, payloads.legacy_result())
    (b,) = store(conn, payloads.legacy_result(context={"benchmark_language": "R"}))
    first, second = row_of(conn, a.id), row_of(conn, b.id)
    assert first["case_id"] == second["case_id"]
    assert first["context_id"] != second["context_id"]
    assert a.history_fingerprint != b.history_fingerprint


def test_numerically_equal_json_documents_share_one_context_row(conn):
    """jsonb equality (1 = 1.0) decides, as the unique index does, even inside one statement."""
    a, b = store(
        conn, payloads.legacy_result(context={"n": 1}), payloads.legacy_result(context={"n": 1.0})
    )
    assert row_of(conn, a.id)["context_id"] == row_of(conn, b.id)["context_id"]


def test_fingerprint_is_the_md5_of_case_context_hardware_hash_and_repository(conn):
    (stored,) = store(conn, payloads.legacy_result())
    row = row_of(conn, stored.id)
    expected = history_fingerprint(
        row["case_id"], row["context_id"], "ci-runner-1-0-4-8-33672359936", row["commit_repo_url"]
    )
    assert stored.history_fingerprint == row["history_fingerprint"] == expected


def test_legacy_machine_strings_are_stored_as_integers_with_the_upstream_hash(conn):
    (stored,) = store(conn, payloads.legacy_result())
    hardware = hardware_of(conn, stored.id)
    assert hardware["type"] == "machine"
    assert hardware["cpu_thread_count"] == 8
    assert hardware["kernel_name"] == "None"
    assert hardware["gpu_product_names"] == []
    assert hardware["hash"] == "ci-runner-1-0-4-8-33672359936"


def _partial_machine(**extra):
    info = {"name": "partial", "cpu_core_count": 2, "cpu_thread_count": 4}
    return {**info, "memory_bytes": 1024, "gpu_count": 0, **extra}


def test_partial_modern_machines_match_their_nulls_as_equal(conn):
    a, b = store(
        conn,
        payloads.modern_result(submission_key="p1", machine_info=_partial_machine()),
        payloads.modern_result(submission_key="p2", machine_info=_partial_machine()),
        modern=True,
    )
    (c,) = store(
        conn,
        payloads.modern_result(submission_key="p3", machine_info=_partial_machine()),
        modern=True,
    )
    ids = {hardware_of(conn, s.id)["id"] for s in (a, b, c)}
    assert len(ids) == 1
    hardware = hardware_of(conn, a.id)
    assert hardware["os_name"] is None
    assert hardware["gpu_product_names"] == []
    assert hardware["hash"] == "partial-0-2-4-1024"


def test_a_partial_machine_differing_in_an_optional_column_is_another_row(conn):
    (a,) = store(conn, payloads.modern_result(machine_info=_partial_machine()), modern=True)
    machine = _partial_machine(os_name="Linux")
    (b,) = store(
        conn, payloads.modern_result(submission_key="k2", machine_info=machine), modern=True
    )
    first, second = hardware_of(conn, a.id), hardware_of(conn, b.id)
    assert first["id"] != second["id"]
    assert first["hash"] == second["hash"]
    assert a.history_fingerprint == b.history_fingerprint  # the hash, not the row, is the identity


def test_cluster_hash_follows_upstream_and_clusters_dedupe(conn):
    bodies = [
        payloads.legacy_result(machine_info=payloads.DROP, cluster_info=payloads.cluster_info())
        for _ in range(2)
    ]
    a, b = store(conn, *bodies)
    hardware = hardware_of(conn, a.id)
    assert hardware["type"] == "cluster"
    assert hardware["hash"] == "c1-bb018ab84e04e12cd6e14b8b3ff9c548"
    assert hardware["info"] == {"workers": 4, "region": "us"}
    assert hardware["cpu_core_count"] is None
    assert hardware_of(conn, b.id)["id"] == hardware["id"]


def test_clusters_with_other_optional_info_are_other_rows_with_the_same_hash(conn):
    other = payloads.cluster_info(optional_info={"note": "x"})
    a, b = store(
        conn,
        payloads.legacy_result(machine_info=payloads.DROP, cluster_info=payloads.cluster_info()),
        payloads.legacy_result(machine_info=payloads.DROP, cluster_info=other),
    )
    first, second = hardware_of(conn, a.id), hardware_of(conn, b.id)
    assert first["id"] != second["id"]
    assert first["hash"] == second["hash"]


def test_measurements_keep_every_digit(conn):
    data = [0.30000000000000004, 1e-05, 123456789.12345679]
    (stored,) = store(conn, payloads.legacy_result(stats=payloads.stats(data=data, times=data)))
    row = row_of(conn, stored.id)
    assert [float(v) for v in row["data"]] == data
    assert str(row["data"][0]) == "0.30000000000000004"
    assert str(row["times"][1]) == "0.00001"


def test_errored_result_keeps_its_stats_verbatim_with_empty_arrays(conn):
    body = payloads.legacy_result(stats=payloads.DROP, error={"stack_trace": "boom"})
    (stored,) = store(conn, body)
    row = row_of(conn, stored.id)
    assert row["error"] == {"stack_trace": "boom"}
    assert row["data"] == [] and row["times"] == []
    assert row["unit"] is None


def test_unknown_commit_row_has_only_sha_and_repository(conn):
    (stored,) = store(conn, payloads.legacy_result(github=payloads.github(commit="abc123")))
    commit = conn.execute(
        "SELECT c.* FROM commit c JOIN benchmark_result r ON r.commit_id = c.id WHERE r.id = %s",
        (stored.id,),
    ).fetchone()
    assert (commit["sha"], commit["repository"]) == ("abc123", "https://github.com/conbench/demo")
    assert (commit["message"], commit["author_name"]) == ("", "")
    for column in ("parent", "author_login", "author_avatar", "timestamp", "branch"):
        assert commit[column] is None, column
    assert commit["fork_point_sha"] is None


def test_commitless_result_has_no_commit_row(conn):
    (stored,) = store(conn, payloads.legacy_result(github=payloads.github(commit=payloads.DROP)))
    assert row_of(conn, stored.id)["commit_id"] is None


class CountingResolver:
    """An online resolver (like GitHub enrichment): asked only about missing commits."""

    offline = False

    def __init__(self):
        self.asked = []

    def resolve(self, ref: CommitRef) -> NewCommit:
        self.asked.append(ref.sha)
        return NewCommit(message=f"resolved {ref.sha}", author_name="someone")


def test_an_online_resolver_is_asked_once_per_missing_commit_only(conn):
    store(conn, payloads.legacy_result(github=payloads.github(commit="known")))
    resolver = CountingResolver()
    bodies = [
        payloads.legacy_result(github=payloads.github(commit=sha))
        for sha in ("known", "new", "new")
    ]
    store(conn, *bodies, commits=resolver)
    assert resolver.asked == ["new"]
    rows = conn.execute("SELECT sha, message FROM commit WHERE sha IN ('known', 'new')").fetchall()
    messages = {r["sha"]: r["message"] for r in rows}
    assert messages == {"known": "", "new": "resolved new"}


def test_local_commit_map_synthesizes_default_branch_commits_dated_like_the_result(conn):
    (stored,) = store(
        conn,
        payloads.legacy_result(github=payloads.github(commit="dev1")),
        commits=LocalCommitMap(),
    )
    commit = conn.execute("SELECT * FROM commit WHERE sha = 'dev1'").fetchone()
    assert commit["fork_point_sha"] == "dev1"
    assert commit["timestamp"].isoformat() == "2024-01-05T12:00:00.123456"
    assert commit["branch"] is None and commit["parent"] is None


def test_a_dimension_insert_that_loses_a_race_takes_the_winners_row(fresh_db_url):
    """The loser's insert waits on the unique index, skips the winner's committed row, stores
    nothing, and the second run of its statement finds that row."""
    winner = connect(fresh_db_url)
    winner.execute("SELECT 1")  # open the transaction that holds the winner's rows
    (won,) = store(winner, payloads.legacy_result(**_raced()))
    outcome = {}

    def lose():
        with connect(fresh_db_url, autocommit=True) as conn:
            outcome["stored"] = store(conn, payloads.legacy_result(**_raced()))[0]

    thread = threading.Thread(target=lose)
    thread.start()
    _wait_until_a_session_waits_for_a_lock(fresh_db_url)
    winner.commit()
    winner.close()
    thread.join(10)
    with connect(fresh_db_url) as conn:
        a, b = row_of(conn, won.id), row_of(conn, outcome["stored"].id)
        assert (a["case_id"], a["context_id"]) == (b["case_id"], b["context_id"])
        assert conn.execute('SELECT count(*) AS n FROM "case"').fetchone()["n"] == 1


def _raced():
    return {"tags": {"name": "raced"}, "context": {"raced": "yes"}}


def _wait_until_a_session_waits_for_a_lock(url):
    deadline = time.monotonic() + 10
    with connect(url, autocommit=True) as watcher:
        while time.monotonic() < deadline:
            row = watcher.execute(
                "SELECT count(*) AS n FROM pg_stat_activity"
                " WHERE datname = current_database() AND wait_event_type = 'Lock'"
            ).fetchone()
            if row["n"]:
                return
            time.sleep(0.02)
    raise AssertionError("the second insert never waited for the first")


def test_concurrent_bulk_stores_creating_the_same_new_rows_both_succeed(fresh_db_url):
    bodies = [
        payloads.legacy_result(tags={"name": f"bench-{i}"}, context={"variant": str(i)})
        for i in range(40)
    ]
    start = threading.Barrier(2)
    stored: list = []

    def run(items):
        with connect(fresh_db_url, autocommit=True) as conn:
            start.wait()
            stored.append(store(conn, *items))

    threads = [threading.Thread(target=run, args=(b,)) for b in (bodies, bodies[::-1])]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert [len(s) for s in stored] == [40, 40]
    with connect(fresh_db_url) as conn:
        counts = conn.execute(
            'SELECT (SELECT count(*) FROM "case") AS cases, (SELECT count(*) FROM context) AS ctx,'
            " (SELECT count(*) FROM benchmark_result) AS results"
        ).fetchone()
    assert counts == {"cases": 40, "ctx": 40, "results": 80}


def test_a_single_result_with_known_dimensions_returns_the_row_get_result_reads(conn):
    from conbench.queries.results import get_result

    store(conn, payloads.legacy_result())
    tags = {"name": "file-write", "dataset": "other"}
    inputs = [prepare_result(payloads.legacy_result(tags=tags), modern=False)]
    (stored,) = store_results(conn, inputs, commits=UNKNOWN, surface=None, detail=True)
    assert stored.row is not None  # a new case alone does not need the creating statement
    assert dict(stored.row) == get_result(conn, stored.id)


def test_a_single_result_with_a_missing_dimension_is_stored_by_the_creating_statement(conn):
    store(conn, payloads.legacy_result())
    body = payloads.legacy_result(context={"benchmark_language": "R"}, tags={"name": "new"})
    inputs = [prepare_result(body, modern=False)]
    (stored,) = store_results(conn, inputs, commits=UNKNOWN, surface=None, detail=True)
    assert stored.row is None
    row = row_of(conn, stored.id)
    cases = conn.execute('SELECT count(*) AS n FROM "case" WHERE name = %s', ("new",)).fetchone()
    assert cases["n"] == 1 and row["history_fingerprint"] == stored.history_fingerprint


def _same_dimensions_new_case():
    return payloads.legacy_result(run_id="later-run", tags={"name": "cached", "dataset": "d"})


def test_a_result_with_cached_dimension_ids_is_stored_like_one_looked_up(conn):
    """The second result fills the process's cache; the third is stored by insert_result_known
    (its case is new) and must name the same rows and fingerprint as a lookup would."""
    from conbench.ingest_cache import DIMENSIONS

    first, second = store(conn, payloads.legacy_result()), store(conn, payloads.legacy_result())
    inp = prepare_result(_same_dimensions_new_case(), modern=False)
    from conbench.ingest_rows import found_result
    from conbench.queries.ingest import found_params

    assert DIMENSIONS.lookup(DIMENSIONS.keys(found_params(found_result(inp)))) is not None
    (stored,) = store_results(conn, [inp], commits=UNKNOWN, surface=None)
    row, looked_up = row_of(conn, stored.id), row_of(conn, second[0].id)
    for column in ("context_id", "info_id", "hardware_id", "commit_id", "commit_repo_url"):
        assert row[column] == looked_up[column]
    case = conn.execute('SELECT * FROM "case" WHERE id = %s', (row["case_id"],)).fetchone()
    assert (case["name"], case["tags"]) == ("cached", {"dataset": "d"})
    expected = history_fingerprint(
        row["case_id"], row["context_id"], "ci-runner-1-0-4-8-33672359936", row["commit_repo_url"]
    )
    assert stored.history_fingerprint == row["history_fingerprint"] == expected
    assert first[0].id != second[0].id != stored.id


def test_a_legacy_result_with_cached_dimension_ids_returns_the_row_get_result_reads(conn):
    from conbench.queries.results import get_result

    store(conn, payloads.legacy_result())
    store(conn, payloads.legacy_result())
    inputs = [prepare_result(_same_dimensions_new_case(), modern=False)]
    (stored,) = store_results(conn, inputs, commits=UNKNOWN, surface=None, detail=True)
    assert stored.row is not None
    assert dict(stored.row) == get_result(conn, stored.id)


def test_a_cached_dimension_deleted_since_is_looked_up_again(conn):
    from conbench.ingest_cache import DIMENSIONS

    store(conn, payloads.legacy_result())
    (second,) = store(conn, payloads.legacy_result())
    old_context = row_of(conn, second.id)["context_id"]
    conn.execute("DELETE FROM benchmark_result")
    conn.execute("DELETE FROM context WHERE id = %s", (old_context,))
    (stored,) = store(conn, _same_dimensions_new_case())  # fails its foreign key, then creates
    new_context = row_of(conn, stored.id)["context_id"]
    assert new_context != old_context
    assert conn.execute("SELECT count(*) AS n FROM benchmark_result").fetchone()["n"] == 1
    store(conn, payloads.legacy_result(run_id="third"))  # found: the cache learns the new row
    inp = prepare_result(payloads.legacy_result(run_id="fourth"), modern=False)
    from conbench.ingest_rows import found_result
    from conbench.queries.ingest import found_params

    known = DIMENSIONS.lookup(DIMENSIONS.keys(found_params(found_result(inp))))
    assert known is not None and known.params()["context_id"] == new_context
