"""Baseline-run searches (04 §8): the legacy candidates of `GET /api/runs/<id>/` (01 §7.6) and the
CI report's pick (02 §9.2)."""

from datetime import datetime, timedelta

import pytest

from conbench.queries import baselines, runs
from conbench.queries.ancestry import ancestors
from conbench.queries.baselines import ci_baseline_run
from conbench.seed import seed_demo_data
from tests.factories import make_commit, make_hardware, make_result

REPO = "https://github.com/org/baselines"
DAY1 = datetime(2024, 1, 1, 12)


def _day(n: float) -> datetime:
    return DAY1 + timedelta(days=n - 1)


def _commit(conn, sha, day, parent=None, **columns):
    return make_commit(
        conn, sha=sha, parent=parent, timestamp=_day(day), repository=REPO, **columns
    )


def _branch_commit(conn, sha, day, parent, fork_point="m3"):
    return _commit(conn, sha, day, parent, branch="me:feature", fork_point_sha=fork_point)


def _run(conn, run_id, commit, day=None, reason="commit", **columns):
    """One result of the shared case on `commit`, timestamped with the commit unless `day`."""
    timestamp = _day(day) if day is not None else commit["timestamp"]
    return make_result(
        conn, run_id=run_id, commit=commit, timestamp=timestamp, run_reason=reason, **columns
    )


def _candidates(client, run_id):
    return client.simulate_get(f"/api/runs/{run_id}/").json["candidate_baseline_runs"]


@pytest.fixture
def line(conn):
    """Default branch m1..m4 (days 1-4, each the parent of the next)."""
    commits, parent = {}, None
    for day in range(1, 5):
        commits[f"m{day}"] = _commit(conn, f"m{day}", day, parent)
        parent = f"m{day}"
    return commits


def test_seed_run_names_its_parent_commit_run_and_is_already_on_the_default_branch(client, conn):
    seed_demo_data(conn)
    found = _candidates(client, "run-commit-05")
    assert found["parent"] == {
        "error": None,
        "baseline_run_id": "run-commit-04",
        "commits_skipped": [],
    }
    assert found["fork_point"] == {
        "error": "the contender run is already on the default branch",
        "baseline_run_id": None,
        "commits_skipped": None,
    }


def test_seed_feature_branch_run_names_the_fork_point_run(client, conn):
    seed_demo_data(conn)
    found = _candidates(client, "run-feature-branch-1")
    assert found["fork_point"]["baseline_run_id"] == "run-commit-03"
    assert found["parent"]["baseline_run_id"] == "run-commit-03"


def test_commits_without_a_matching_run_are_listed_as_skipped(client, conn, line):
    _run(conn, "base", line["m2"])
    _run(conn, "contender", line["m4"])
    found = _candidates(client, "contender")["parent"]
    assert found == {"error": None, "baseline_run_id": "base", "commits_skipped": ["m3"]}


def test_a_run_with_the_contenders_reason_wins_over_a_newer_commit(client, conn, line):
    _run(conn, "same-reason", line["m1"], reason="pull request")
    _run(conn, "newer", line["m3"], reason="commit")
    _run(conn, "contender", line["m4"], reason="pull request")
    found = _candidates(client, "contender")["parent"]
    assert found["baseline_run_id"] == "same-reason"
    assert found["commits_skipped"] == ["m3", "m2"]


def test_null_reasons_are_equal_to_each_other(client, conn, line):
    _run(conn, "null-reason", line["m1"], reason=None)
    _run(conn, "with-reason", line["m3"], reason="commit")
    _run(conn, "contender", line["m4"], reason=None)
    assert _candidates(client, "contender")["parent"]["baseline_run_id"] == "null-reason"


def test_a_contender_with_a_reason_prefers_newer_commits_over_null_reasons(client, conn, line):
    _run(conn, "null-reason", line["m3"], reason=None)
    _run(conn, "other-reason", line["m2"], reason="manual")
    _run(conn, "contender", line["m4"], reason="commit")
    assert _candidates(client, "contender")["parent"]["baseline_run_id"] == "null-reason"


def test_on_one_commit_the_newest_result_then_the_highest_run_id_wins(client, conn, line):
    _run(conn, "older-result", line["m3"], day=3.5)
    _run(conn, "newest-result", line["m3"], day=3.7)
    _run(conn, "a-tie", line["m2"], day=2.5)
    _run(conn, "z-tie", line["m2"], day=2.5)
    _run(conn, "contender", line["m4"])
    assert _candidates(client, "contender")["parent"]["baseline_run_id"] == "newest-result"
    conn.execute("DELETE FROM benchmark_result WHERE commit_id = %s", (line["m3"]["id"],))
    assert _candidates(client, "contender")["parent"]["baseline_run_id"] == "z-tie"


def test_branch_commits_come_before_newer_default_branch_commits(client, conn, line):
    """A branch commit older than the fork point (a rebased branch) still comes first."""
    early = _branch_commit(conn, "b0", 2.5, "m2")
    contender = _branch_commit(conn, "b1", 5, "b0")
    _run(conn, "on-branch", early)
    _run(conn, "on-main", line["m3"])
    _run(conn, "contender", contender)
    found = _candidates(client, "contender")["parent"]
    assert found == {"error": None, "baseline_run_id": "on-branch", "commits_skipped": []}
    assert _candidates(client, "contender")["fork_point"]["baseline_run_id"] == "on-main"


def test_results_older_than_the_oldest_ancestor_are_ignored(client, conn, line):
    """Upstream's speed filter has an effect: a result dated before the searched window."""
    _run(conn, "dated-early", line["m2"], day=0.5)
    _run(conn, "contender", line["m4"])
    assert _candidates(client, "contender")["parent"]["error"] == baselines.NO_MATCH
    _run(conn, "dated-right", line["m1"])
    assert _candidates(client, "contender")["parent"]["baseline_run_id"] == "dated-right"


def test_a_run_on_other_hardware_does_not_match(client, conn, line):
    _run(conn, "elsewhere", line["m3"], hardware_id=make_hardware(conn, "other-box")["id"])
    _run(conn, "contender", line["m4"])
    assert _candidates(client, "contender")["parent"]["error"] == baselines.NO_MATCH


def test_the_search_looks_back_twenty_commits(client, conn):
    parent = None
    for day in range(1, 24):
        commit = _commit(conn, f"c{day:02}", day, parent)
        parent = commit["sha"]
        if day in (1, 2):
            _run(conn, f"run-{day:02}", commit)
    _run(conn, "contender", commit)
    found = _candidates(client, "contender")["parent"]
    # The parent c22 and 19 older commits: c03 is the last one searched.
    assert found["error"] == baselines.NO_MATCH
    _run(conn, "run-03", conn.execute("SELECT * FROM commit WHERE sha = 'c03'").fetchone())
    found = _candidates(client, "contender")["parent"]
    assert found["baseline_run_id"] == "run-03"
    assert found["commits_skipped"] == [f"c{day:02}" for day in range(22, 3, -1)]


def test_a_baseline_commit_without_timestamp_has_no_ancestry(client, conn):
    _commit(conn, "p0", 1)
    make_commit(conn, sha="p1", parent="p0", timestamp=None, repository=REPO)
    _run(conn, "contender", _commit(conn, "p2", 3, "p1"))
    found = _candidates(client, "contender")["parent"]
    assert found["error"] == (
        "could not find the baseline commit's ancestry because commit timestamp is null"
    )


def _run_row(conn, run_id):
    return runs.get_run(conn, run_id)


def test_ci_search_finds_the_seed_baselines(conn):
    seed_demo_data(conn)
    feature = ci_baseline_run(conn, _run_row(conn, "run-feature-branch-1"), "fork_point")
    assert (feature.run_id, feature.commit["sha"], feature.error) == (
        "run-commit-03",
        "commit-03",
        None,
    )
    assert feature.commits_skipped == ()
    parent = ci_baseline_run(conn, _run_row(conn, "run-commit-05"), "parent")
    assert (parent.run_id, parent.commit["sha"]) == ("run-commit-04", "commit-04")


def test_ci_search_on_the_default_branch_has_no_fork_point(conn):
    seed_demo_data(conn)
    found = ci_baseline_run(conn, _run_row(conn, "run-commit-05"), "fork_point")
    assert found.run_id is None
    assert found.error == {
        "code": "default_branch_run",
        "message": "contender is already on the default branch",
    }


def test_ci_search_skips_commits_and_lists_them(conn, line):
    _run(conn, "base", line["m2"])
    _run(conn, "contender", line["m4"])
    found = ci_baseline_run(conn, _run_row(conn, "contender"), "parent")
    assert (found.run_id, found.commits_skipped) == ("base", ("m3",))


def test_ci_search_has_no_branch_first_clause(conn, line):
    early = _branch_commit(conn, "b0", 2.5, "m2")
    contender = _branch_commit(conn, "b1", 5, "b0")
    _run(conn, "on-branch", early)
    _run(conn, "on-main", line["m3"])
    _run(conn, "contender", contender)
    found = ci_baseline_run(conn, _run_row(conn, "contender"), "parent")
    assert (found.run_id, found.commits_skipped) == ("on-main", ("b0",))


def test_ci_search_ignores_result_dates_and_prefers_the_same_reason(conn, line):
    _run(conn, "dated-early", line["m2"], day=0.5, reason="manual")
    _run(conn, "other-reason", line["m3"], reason="commit")
    _run(conn, "contender", line["m4"], reason="manual")
    found = ci_baseline_run(conn, _run_row(conn, "contender"), "parent")
    assert found.run_id == "dated-early"


def test_ci_search_without_a_baseline_run_lists_the_searched_commits(conn, line):
    _run(conn, "contender", line["m4"])
    found = ci_baseline_run(conn, _run_row(conn, "contender"), "latest_default")
    assert found.error == {
        "code": "no_baseline_run",
        "message": "searched 20 ancestors, no baseline run found",
        "searched_ancestor_limit": 20,
        "searched_commit_shas": ["m4", "m3", "m2", "m1"],
    }


@pytest.mark.parametrize(
    ("kind", "columns", "code", "message"),
    [
        ("parent", {"parent": None}, "unknown_parent", "contender parent commit is unknown"),
        (
            "fork_point",
            {"fork_point_sha": None, "branch": "me:x"},
            "unknown_fork_point",
            "contender fork point is unknown",
        ),
        (
            "parent",
            {"parent": "f" * 40},
            "unknown_baseline_candidate",
            "baseline candidate commit metadata not found",
        ),
        (
            "latest_default",
            {"fork_point_sha": "m9", "branch": "me:x", "repository": REPO + "-lonely"},
            "unknown_latest_default",
            "latest default branch commit is unknown",
        ),
    ],
)
def test_ci_search_errors_name_code_and_message(conn, kind, columns, code, message):
    values = {"sha": "cx", "parent": "m1", "timestamp": _day(2), "repository": REPO, **columns}
    make_result(conn, run_id="contender", commit=make_commit(conn, **values))
    found = ci_baseline_run(conn, _run_row(conn, "contender"), kind)
    assert found.error == {"code": code, "message": message}
    assert (found.run_id, found.commit) == (None, None)


def test_ci_search_of_a_commitless_run(conn):
    make_result(conn, run_id="loose")
    found = ci_baseline_run(conn, _run_row(conn, "loose"), "parent")
    assert found.error["code"] == "missing_commit_metadata"


def test_ancestors_sharing_a_timestamp_are_one_step_newest_result_first(client, conn, line):
    """Commits with equal timestamps are ordered by their results, not by where the walk meets
    them: the newer result on the second-listed commit wins, and the CI search agrees."""
    twin = _commit(conn, "m3-twin", 3, "m2")
    listed = [a.sha for a in ancestors(conn, line["m4"], limit=20)]
    first, second = (
        (line["m3"], twin)
        if listed.index("m3") < listed.index("m3-twin")
        else (
            twin,
            line["m3"],
        )
    )
    _run(conn, "older", first, day=3.2)
    _run(conn, "newer", second, day=3.4)
    _run(conn, "contender", _commit(conn, "m5", 5, "m4"))
    found = _candidates(client, "contender")["latest_default"]
    assert found == {
        "error": None,
        "baseline_run_id": "newer",
        "commits_skipped": ["m5", "m4", first["sha"]],
    }
    ci = ci_baseline_run(conn, _run_row(conn, "contender"), "parent")
    assert (ci.run_id, ci.commits_skipped) == ("newer", ("m4", first["sha"]))


def test_same_reason_results_of_other_series_do_not_stop_the_search(client, conn, line):
    """An ancestor carrying the contender's reason only on another hardware is no match; the
    search goes on to other reasons on newer commits before older same-reason ones."""
    other = make_hardware(conn, "other-box")["id"]
    _run(conn, "elsewhere-same-reason", line["m3"], reason="pull request", hardware_id=other)
    _run(conn, "other-reason", line["m3"], reason="commit")
    _run(conn, "contender", line["m4"], reason="pull request")
    assert _candidates(client, "contender")["parent"]["baseline_run_id"] == "other-reason"
    found = ci_baseline_run(conn, _run_row(conn, "contender"), "parent")
    assert found.run_id == "other-reason"
    _run(conn, "old-same-reason", line["m1"], reason="pull request")
    assert _candidates(client, "contender")["parent"]["baseline_run_id"] == "old-same-reason"
    found = ci_baseline_run(conn, _run_row(conn, "contender"), "parent")
    assert found.run_id == "old-same-reason"


def test_null_reason_contender_skips_ancestors_without_null_reasons(client, conn, line):
    _run(conn, "reasoned", line["m3"], reason="commit")
    _run(conn, "contender", line["m4"], reason=None)
    assert _candidates(client, "contender")["parent"]["baseline_run_id"] == "reasoned"
    _run(conn, "null-reason", line["m1"], reason=None)
    assert _candidates(client, "contender")["parent"]["baseline_run_id"] == "null-reason"
    assert ci_baseline_run(conn, _run_row(conn, "contender"), "parent").run_id == "null-reason"


def test_baseline_searches_use_the_indexes_their_doc_lines_name(conn, line):
    for n, commit in enumerate(line.values()):
        for _ in range(30):
            make_result(conn, run_id=f"run-{n}", commit=commit, run_reason="commit")
    conn.execute("ANALYZE benchmark_result")
    conn.execute("SET LOCAL enable_seqscan = off")
    params = {
        "commit_ids": [c["id"] for c in line.values()],
        "run_id": "contender",
        "commit_id": line["m4"]["id"],
        "earliest": _day(1),
        "fingerprints": "{fp-1,fp-2}",
        "run_reason": "pull request",
    }
    for name in ("get_legacy_baseline_result", "get_ci_baseline_result"):
        plan = "\n".join(
            row["QUERY PLAN"] for row in conn.execute("EXPLAIN " + baselines._Q[name], params)
        )
        # The same-reason guard probes the reason index; no plan walks results by timestamp.
        assert "Index Only Scan using benchmark_result_commit_id_run_reason_index" in plan
        assert "benchmark_result_timestamp_index" not in plan


def test_types_naming_the_same_commit_share_one_search(conn, line, monkeypatch):
    """A branch's first commit has the fork point as parent: one search serves both types."""
    contender = _branch_commit(conn, "b1", 5, "m3")
    _run(conn, "on-fork-point", line["m3"])
    _run(conn, "contender", contender)
    searched = []
    real = baselines._legacy_search

    def counting(conn, baseline_commit, *args):
        searched.append(baseline_commit["sha"])
        return real(conn, baseline_commit, *args)

    monkeypatch.setattr(baselines, "_legacy_search", counting)
    found = baselines.candidate_baseline_runs(conn, runs.get_run(conn, "contender"))
    assert sorted(searched) == ["m3", "m4"]
    expected = {"error": None, "baseline_run_id": "on-fork-point", "commits_skipped": []}
    assert found["parent"] == found["fork_point"] == expected
    assert found["parent"] is not found["fork_point"]
    assert found["latest_default"]["baseline_run_id"] == "on-fork-point"
