"""Ancestry of a commit (04 §8): timestamp-based, branch commits first, limited, with the exact
reasons an ancestry cannot be built (01 §7.6)."""

from datetime import datetime, timedelta

import pytest

from conbench.queries import ancestry
from conbench.queries.ancestry import AncestryUnavailable, ancestors
from conbench.seed import seed_demo_data
from tests.factories import make_commit

REPO = "https://github.com/org/ancestry"
DAY1 = datetime(2024, 1, 1, 12)


def _day(n: int) -> datetime:
    return DAY1 + timedelta(days=n - 1)


def _main(conn, sha, day, **columns):
    return make_commit(conn, sha=sha, timestamp=_day(day), repository=REPO, **columns)


def _branch(conn, sha, day, fork_point="m3", branch="me:feature", **columns):
    return make_commit(
        conn, sha=sha, timestamp=_day(day), repository=REPO, branch=branch,
        fork_point_sha=fork_point, **columns,
    )  # fmt: skip


def _shas(conn, commit, limit=100):
    return [a.sha for a in ancestors(conn, commit, limit=limit)]


@pytest.fixture
def graph(conn):
    """main m1..m5 (days 1,2,3,5,7); branch b1, b2 forked at m3 (days 4, 6); another branch."""
    commits = {sha: _main(conn, sha, day) for sha, day in (("m1", 1), ("m2", 2), ("m3", 3))}
    commits["m4"] = _main(conn, "m4", 5)
    commits["m5"] = _main(conn, "m5", 7)
    commits["b1"] = _branch(conn, "b1", 4)
    commits["b2"] = _branch(conn, "b2", 6)
    commits["x1"] = _branch(conn, "x1", 5, branch="other:feature")
    make_commit(conn, sha="m9", timestamp=_day(2), repository="https://github.com/org/elsewhere")
    return commits


def test_default_branch_commit_ancestry_is_the_older_default_branch_newest_first(conn, graph):
    assert _shas(conn, graph["m4"]) == ["m4", "m3", "m2", "m1"]


def test_branch_commit_ancestry_lists_its_branch_then_the_history_up_to_the_fork_point(conn, graph):
    assert _shas(conn, graph["b2"]) == ["b2", "b1", "m3", "m2", "m1"]
    assert _shas(conn, graph["b1"]) == ["b1", "m3", "m2", "m1"]


def test_ancestry_carries_timestamps_and_default_branch_membership(conn, graph):
    first, second = ancestors(conn, graph["b1"], limit=2)
    assert (first.id, first.timestamp, first.on_default_branch) == (
        graph["b1"]["id"],
        _day(4),
        False,
    )
    assert (second.sha, second.on_default_branch) == ("m3", True)


def test_limit_counts_commits_from_the_newest(conn, graph):
    assert _shas(conn, graph["b2"], limit=3) == ["b2", "b1", "m3"]


def test_commits_with_the_same_timestamp_are_ordered_by_id_descending(conn):
    older = _main(conn, "t1", 1)
    same = [_main(conn, f"s{i}", 2) for i in range(3)]
    expected = [c["sha"] for c in sorted(same, key=lambda c: c["id"], reverse=True)]
    assert _shas(conn, same[0]) == [*expected, older["sha"]]


def test_commits_without_timestamp_are_not_ancestors(conn):
    _main(conn, "d1", 1)
    make_commit(conn, sha="d2", timestamp=None, repository=REPO)
    assert _shas(conn, _main(conn, "d3", 3)) == ["d3", "d1"]


def test_a_commit_decoded_from_json_works_like_a_row(conn, graph):
    decoded = dict(graph["b1"], timestamp=graph["b1"]["timestamp"].isoformat())
    assert _shas(conn, decoded) == ["b1", "m3", "m2", "m1"]


def test_default_branch_commit_needs_no_branch_label(conn):
    _main(conn, "n1", 1, branch=None)
    assert _shas(conn, _main(conn, "n2", 2, branch=None)) == ["n2", "n1"]


@pytest.mark.parametrize(
    ("columns", "reason"),
    [
        ({"branch": None}, "commit branch is null"),
        ({"timestamp": None}, "commit timestamp is null"),
        ({"fork_point_sha": None}, "commit fork_point_sha is null"),
        ({"fork_point_sha": "f" * 40}, "the fork point commit isn't in the db"),
    ],
)
def test_missing_metadata_names_the_reason(conn, columns, reason):
    values = {"sha": "q1", "branch": "me:x", "fork_point_sha": "m3", **columns}
    commit = make_commit(conn, repository=REPO, **values)
    with pytest.raises(AncestryUnavailable) as raised:
        ancestors(conn, commit, limit=20)
    assert raised.value.reason == reason


def test_unknown_commit_has_no_branch(conn):
    commit = make_commit(conn, sha="u1", repository=REPO, unknown=True)
    with pytest.raises(AncestryUnavailable, match="commit branch is null"):
        ancestors(conn, commit, limit=20)


def test_fork_point_without_timestamp_names_the_reason(conn):
    make_commit(conn, sha="fp", timestamp=None, repository=REPO)
    commit = _branch(conn, "b9", 4, fork_point="fp")
    with pytest.raises(AncestryUnavailable, match=ancestry.FORK_POINT_TIMESTAMP_NULL):
        ancestors(conn, commit, limit=20)


def test_seed_feature_branch_ancestry(conn):
    seed_demo_data(conn)
    feature = conn.execute("SELECT * FROM commit WHERE sha = 'feature-branch-1'").fetchone()
    assert _shas(conn, feature) == ["feature-branch-1", "commit-03", "commit-02", "commit-01"]
    commit_05 = conn.execute("SELECT * FROM commit WHERE sha = 'commit-05'").fetchone()
    assert _shas(conn, commit_05) == [
        "commit-05",
        "commit-04",
        "commit-03",
        "commit-02",
        "commit-01",
    ]
