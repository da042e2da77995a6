"""Compare routes: legacy result and run compare (01 §4.3-§4.4, §7.7) and the modern result compare
(02 §8), with the golden numbers of 04 §11 Example 2 on the demo seed (07 §9)."""

from datetime import datetime, timedelta

import psycopg
import pytest

from conbench import serialize
from conbench.queries import compare as compare_queries
from conbench.queries import results as results_queries
from conbench.resources import compare
from conbench.seed import seed_demo_data
from tests.factories import make_case, make_commit, make_result

RESULT_KEYS = {
    "id", "run_id", "run_tags", "run_reason", "commit_repo_url", "batch_id",
    "history_fingerprint", "timestamp", "optional_benchmark_info", "validation",
    "change_annotations", "stats", "error",
}  # fmt: skip
SIDE_KEYS = {
    "benchmark_result_id", "benchmark_name", "case_permutation", "language",
    "single_value_summary", "error", "batch_id", "run_id", "tags", "result",
}  # fmt: skip


@pytest.fixture
def seed(conn):
    seed_demo_data(conn)
    rows = conn.execute(
        "SELECT c.sha, r.id FROM benchmark_result r JOIN commit c ON c.id = r.commit_id"
    ).fetchall()
    return {row["sha"]: row["id"] for row in rows}


def _legacy(client, kind, ids, **params):
    return client.simulate_get(f"/api/compare/{kind}/{ids}/", params=params)


def _modern(client, baseline, contender, **params):
    params = {"baseline": baseline, "contender": contender, **params}
    return client.simulate_get("/api/compare/benchmark-results", params=params)


def _z(body):
    return body["analysis"]["lookback_z_score"]


def test_seed_feature_branch_against_commit_03_is_a_lookback_regression(client, seed):
    resp = _legacy(client, "benchmark-results", f"{seed['commit-03']}...{seed['feature-branch-1']}")
    assert resp.status_code == 200, resp.text
    body = resp.json
    assert body["analysis"] == {
        "pairwise": {
            "percent_change": -63.64,
            "percent_threshold": 5.0,
            "regression_indicated": True,
            "improvement_indicated": False,
        },
        "lookback_z_score": {
            "z_threshold": 5.0,
            "z_score": -19.64,
            "regression_indicated": True,
            "improvement_indicated": False,
        },
    }
    assert (body["unit"], body["less_is_better"]) == ("s", True)
    assert body["history_fingerprint"] is not None


def test_legacy_compare_sides_have_the_upstream_shape(client, seed):
    body = _legacy(
        client, "benchmark-results", f"{seed['commit-03']}...{seed['feature-branch-1']}"
    ).json
    assert set(body) == {
        "unit",
        "history_fingerprint",
        "less_is_better",
        "baseline",
        "contender",
        "analysis",
    }
    contender = body["contender"]
    assert set(contender) == SIDE_KEYS
    assert set(contender["result"]) == RESULT_KEYS
    assert contender["benchmark_result_id"] == seed["feature-branch-1"]
    assert contender["benchmark_name"] == "demo-benchmark"
    assert contender["case_permutation"] == "dataset=uniform"
    assert contender["language"] == "unknown"  # the demo context has no benchmark_language
    assert contender["tags"] == {"name": "demo-benchmark", "dataset": "uniform"}
    assert (contender["run_id"], contender["batch_id"]) == (
        "run-feature-branch-1",
        "batch-feature-branch-1",
    )
    assert (contender["single_value_summary"], contender["error"]) == (1.8, None)
    assert body["baseline"]["single_value_summary"] == 1.1


@pytest.mark.parametrize(
    ("baseline", "contender", "z_score", "percent_change"),
    [
        ("commit-03", "commit-04", -9.165, -27.27),
        ("commit-04", "commit-05", -1.987, -3.571),
    ],
)
def test_seed_z_scores_of_example_2(client, seed, baseline, contender, z_score, percent_change):
    body = _legacy(client, "benchmark-results", f"{seed[baseline]}...{seed[contender]}").json
    assert _z(body)["z_score"] == z_score
    assert body["analysis"]["pairwise"]["percent_change"] == percent_change


def test_a_single_point_distribution_has_no_z_score(client, seed):
    body = _legacy(client, "benchmark-results", f"{seed['commit-01']}...{seed['commit-02']}").json
    assert _z(body) is None
    assert body["analysis"]["pairwise"] is not None


def test_an_errored_side_has_no_unit_and_no_analysis(client, seed):
    body = _legacy(
        client, "benchmark-results", f"{seed['commit-05']}...{seed['commit-06-broken']}"
    ).json
    assert body["unit"] is None and body["less_is_better"] is None
    assert body["analysis"] == {"pairwise": None, "lookback_z_score": None}
    assert body["contender"]["single_value_summary"] is None
    assert body["contender"]["error"] == {"status": "Partial result: not all iterations completed"}


def test_thresholds_are_query_parameters(client, seed):
    body = _legacy(
        client,
        "benchmark-results",
        f"{seed['commit-03']}...{seed['commit-04']}",
        threshold="30",
        threshold_z="9.5",
    ).json
    assert body["analysis"]["pairwise"]["percent_threshold"] == 30.0
    assert body["analysis"]["pairwise"]["regression_indicated"] is False
    assert _z(body) == {
        "z_threshold": 9.5,
        "z_score": -9.165,
        "regression_indicated": False,
        "improvement_indicated": False,
    }


@pytest.mark.parametrize("kind", ["benchmark-results", "runs"])
@pytest.mark.parametrize("name", ["threshold", "threshold_z"])
def test_an_unparsable_threshold_is_400(client, seed, kind, name):
    ids = f"{seed['commit-03']}...{seed['commit-04']}" if kind != "runs" else "run-a...run-b"
    resp = _legacy(client, kind, ids, **{name: "five"})
    assert resp.status_code == 400
    assert resp.json["description"] == {"_errors": [f"{name} must be a number"]}


@pytest.mark.parametrize(
    ("ids", "description"),
    [
        ("just-one-id", "last URL path segment must be of pattern <id>...<id>"),
        ("...b", "empty baseline ID"),
        ("a...", "empty contender ID"),
        ("nope...nix", "no benchmark result found with ID: 'nope'"),
    ],
)
def test_result_compare_404_texts(client, ids, description):
    resp = _legacy(client, "benchmark-results", ids)
    assert resp.status_code == 404
    assert resp.json == {"code": 404, "name": "Not Found", "description": description}


def test_an_unknown_contender_result_is_404(client, seed):
    resp = _legacy(client, "benchmark-results", f"{seed['commit-01']}...nix")
    assert resp.json["description"] == "no benchmark result found with ID: 'nix'"


def test_result_compare_of_different_units_is_400(client, conn):
    seconds = make_result(conn)
    rate = make_result(conn, unit="i/s")
    resp = _legacy(client, "benchmark-results", f"{seconds['id']}...{rate['id']}")
    assert resp.status_code == 400
    assert resp.json["description"] == (
        f"Benchmark units do not match. Benchmark result with ID '{seconds['id']}' has unit 's' "
        f"and benchmark result with ID '{rate['id']}' has unit 'i/s'."
    )


def test_result_compare_across_series_has_no_fingerprint(client, conn):
    a = make_result(conn)
    b = make_result(conn, case_id=make_case(conn, "other-benchmark"))
    body = _legacy(client, "benchmark-results", f"{a['id']}...{b['id']}").json
    assert body["history_fingerprint"] is None
    assert body["unit"] == "s"
    assert body["contender"]["case_permutation"] == "dataset=nyctaxi"


def test_a_baseline_without_commit_has_no_z_score(client, conn):
    a, b = make_result(conn), make_result(conn)
    body = _legacy(client, "benchmark-results", f"{a['id']}...{b['id']}").json
    assert _z(body) is None
    assert body["analysis"]["pairwise"]["percent_change"] == 0.0


def test_case_permutation_sorts_tags_and_names_an_empty_case():
    assert compare.case_permutation({"b": "2", "a": "1", "name": "x"}) == "a=1, b=2"
    assert compare.case_permutation({}) == "no-permutations"


def test_seed_run_compare_gives_the_same_numbers(client, seed):
    resp = _legacy(client, "runs", "run-commit-03...run-feature-branch-1")
    assert resp.status_code == 200, resp.text
    [item] = resp.json["data"]
    assert _z(item)["z_score"] == -19.64
    assert item["analysis"]["pairwise"]["percent_change"] == -63.64
    assert item["baseline"]["run_id"] == "run-commit-03"
    assert resp.json["metadata"] == {"next_page_cursor": None}


@pytest.mark.parametrize(
    ("ids", "missing"), [("nope...run-commit-01", "nope"), ("run-commit-01...nix", "nix")]
)
def test_run_compare_of_an_unknown_run_is_404(client, seed, ids, missing):
    resp = _legacy(client, "runs", ids)
    assert resp.status_code == 404
    assert resp.json["description"] == f"no benchmark results found for run ID: '{missing}'"


def _case(conn, name):
    return make_case(conn, "paged", {"case": name})


@pytest.fixture
def two_runs(conn):
    """Baseline run: cases a, b (twice), c; contender run: b, c, d. One commit each."""
    base_commit = make_commit(conn, timestamp=datetime(2024, 1, 1))
    contender_commit = make_commit(conn, parent=base_commit["sha"], timestamp=datetime(2024, 1, 2))
    for case in ("a", "b", "b", "c"):
        make_result(conn, run_id="base", commit=base_commit, case_id=_case(conn, case))
    for case in ("b", "c", "d"):
        make_result(conn, run_id="cont", commit=contender_commit, case_id=_case(conn, case))
    rows = conn.execute(
        "SELECT DISTINCT history_fingerprint, tags ->> 'case' AS name"
        ' FROM benchmark_result r JOIN "case" cs ON cs.id = r.case_id'
        " WHERE run_id IN ('base', 'cont')"
    ).fetchall()
    return {row["name"]: row["history_fingerprint"] for row in rows}


def _pages(client, ids, page_size):
    pages, cursor = [], None
    while True:
        params = {"page_size": page_size} | ({"cursor": cursor} if cursor else {})
        body = _legacy(client, "runs", ids, **params).json
        pages.append(body["data"])
        cursor = body["metadata"]["next_page_cursor"]
        if cursor is None:
            return pages


def test_run_compare_pages_by_fingerprint_with_the_cartesian_product(client, two_runs):
    by_fingerprint = sorted(two_runs.items(), key=lambda item: item[1])
    pages = _pages(client, "base...cont", 2)
    assert [len(p) for p in pages] == [
        sum(2 if name == "b" else 1 for name, _ in by_fingerprint[i : i + 2]) for i in (0, 2)
    ] + [0]
    items = [item for page in pages for item in page]
    assert [i["history_fingerprint"] for i in items] == sorted(
        fp for name, fp in two_runs.items() for _ in range(2 if name == "b" else 1)
    )
    sides = {}
    for item in items:
        name = (item["baseline"] or item["contender"])["case_permutation"]
        sides.setdefault(name, []).append((item["baseline"] is None, item["contender"] is None))
    assert sides == {
        "case=a": [(False, True)],
        "case=b": [(False, False), (False, False)],
        "case=c": [(False, False)],
        "case=d": [(True, False)],
    }


def test_a_missing_side_has_no_unit_and_no_analysis(client, two_runs):
    items = _pages(client, "base...cont", 100)[0]
    only_base = next(i for i in items if i["history_fingerprint"] == two_runs["a"])
    assert only_base["contender"] is None
    assert only_base["unit"] is None
    assert only_base["analysis"] == {"pairwise": None, "lookback_z_score": None}


def test_the_cursor_is_the_last_fingerprint_of_a_full_page(client, two_runs):
    first = sorted(two_runs.values())
    body = _legacy(client, "runs", "base...cont", page_size=2).json
    assert body["metadata"]["next_page_cursor"] == first[1]
    body = _legacy(client, "runs", "base...cont", page_size=2, cursor="null").json
    assert body["metadata"]["next_page_cursor"] == first[1]


def test_a_run_compare_side_shows_the_legacy_result_without_its_entities(client, conn):
    """Run pages are fetched with measurements as float8 and JSON as text; a side's `result`
    still equals `serialize.legacy_result` of the full row, key for key and in order."""
    case = make_case(conn, "documents", {"size": "large"})
    documents = {
        "run_tags": {"arch": "arm64", "nested": {"a": [1, 2.5, None]}},
        "optional_benchmark_info": {"note": "ünïcode", "big": 12345678901234567890},
        "validation": {"checks": [True, False]},
        "change_annotations": {"begins_distribution_change": True},
    }
    base = make_result(conn, run_id="base-d", case_id=case, data=[0.1, 0.2, 0.30000000000000004])
    cont = make_result(conn, run_id="cont-d", case_id=case, times=[1.5, 2.5], **documents)
    failed = make_result(conn, run_id="cont-d", case_id=case, error={"stack": "boom"}, data=[])
    (first, second) = _legacy(client, "runs", "base-d...cont-d").json["data"]
    expected = {}
    for row in (base, cont, failed):
        full = serialize.legacy_result(results_queries.get_result(conn, row["id"]), "")
        expected[row["id"]] = {
            key: value
            for key, value in full.items()
            if key not in ("tags", "commit", "hardware", "links")
        }
    for item in (first, second):
        for side in (item["baseline"], item["contender"]):
            assert list(side["result"].items()) == list(expected[side["result"]["id"]].items())


def test_run_compare_drops_pairs_whose_units_differ(client, conn):
    case = make_case(conn, "mixed")
    make_result(conn, run_id="base-u", case_id=case, unit="s")
    make_result(conn, run_id="cont-u", case_id=case, unit="i/s")
    body = _legacy(client, "runs", "base-u...cont-u").json
    assert body["data"] == []


def test_run_compare_rejects_a_bad_page_size(client, two_runs):
    resp = _legacy(client, "runs", "base...cont", page_size="0")
    assert resp.status_code == 400


@pytest.mark.parametrize("kind", ["benchmark-results", "runs"])
def test_compare_answers_429_when_both_slots_are_busy(client, kind):
    with compare.COMPARE_SLOTS.held() as first, compare.COMPARE_SLOTS.held() as second:
        assert first and second
        resp = _legacy(client, kind, "a...b")
    assert resp.status_code == 429
    assert resp.json == {"description": "doing other /compare work, retry soon"}
    assert resp.headers["retry-after"] == "1"
    assert _legacy(client, kind, "a...b").status_code == 404


def test_a_compare_query_over_its_time_budget_is_504(client, conn, monkeypatch, seed):
    def slow(db_conn, run_id):
        db_conn.execute("SELECT pg_sleep(1)")

    monkeypatch.setattr(compare, "COMPARE_TIMEOUT_MS", 10)
    monkeypatch.setattr(compare_queries, "exists_run", slow)
    resp = _legacy(client, "runs", "run-commit-01...run-commit-02")
    assert resp.status_code == 504
    assert resp.json["code"] == 504
    assert resp.json["name"] == "Gateway Timeout"


def test_modern_compare_of_the_seed(client, seed):
    resp = _modern(client, seed["commit-03"], seed["feature-branch-1"])
    assert resp.status_code == 200, resp.text
    body = resp.json
    assert body["baseline"] == {
        "benchmark_result_id": seed["commit-03"],
        "run_id": "run-commit-03",
        "commit_sha": "commit-03",
        "single_value_summary": 1.1,
        "single_value_summary_type": "min",
    }
    assert body["contender"]["commit_sha"] == "feature-branch-1"
    assert (body["unit"], body["less_is_better"]) == ("s", True)
    assert _z(body)["z_score"] == -19.64
    assert body["analysis"]["pairwise"]["percent_change"] == -63.64


def test_modern_compare_keeps_full_precision_svs(client, conn):
    case = make_case(conn, "precise")
    a = make_result(conn, case_id=case, data=[1.23456789, 2.0, 3.0])
    b = make_result(conn, case_id=case, data=[2.3456789, 3.0, 4.0])
    body = _modern(client, a["id"], b["id"]).json
    assert body["baseline"]["single_value_summary"] == 1.23456789
    legacy = _legacy(client, "benchmark-results", f"{a['id']}...{b['id']}").json
    assert legacy["baseline"]["single_value_summary"] == 1.235


@pytest.mark.parametrize(
    ("params", "detail"),
    [
        ({"baseline": "x"}, "baseline and contender are required"),
        ({"contender": "x"}, "baseline and contender are required"),
        (
            {"baseline": "x", "contender": "y", "threshold": "0"},
            "invalid threshold: must be a finite number greater than zero",
        ),
        (
            {"baseline": "x", "contender": "y", "threshold_z": "inf"},
            "invalid threshold_z: must be a finite number greater than zero",
        ),
        (
            {"baseline": "x", "contender": "y", "threshold_z": "many"},
            "invalid threshold_z: must be a finite number greater than zero",
        ),
    ],
)
def test_modern_compare_parameter_problems_are_422(client, params, detail):
    resp = client.simulate_get("/api/compare/benchmark-results", params=params)
    assert resp.status_code == 422
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert resp.json["detail"] == detail


def test_modern_compare_of_an_unknown_result_is_404(client, seed):
    resp = _modern(client, seed["commit-01"], "nope")
    assert resp.status_code == 404
    assert resp.json["detail"] == "not found"


def test_modern_compare_refuses_what_is_not_comparable(client, conn, seed):
    other_series = make_result(conn)
    rate = make_result(conn, unit="i/s")
    same_series_rate = conn.execute(
        "SELECT * FROM benchmark_result WHERE id = %s", (rate["id"],)
    ).fetchone()
    cases = [
        (seed["commit-01"], other_series["id"], "not comparable: history fingerprints differ"),
        (other_series["id"], same_series_rate["id"], "not comparable: units differ"),
        (seed["commit-06-broken"], seed["commit-05"], "not comparable: baseline result failed"),
        (seed["commit-05"], seed["commit-06-broken"], "not comparable: contender result failed"),
    ]
    for baseline, contender, detail in cases:
        resp = _modern(client, baseline, contender)
        assert (resp.status_code, resp.json["detail"]) == (422, detail)


def test_modern_compare_read_timeout_is_422(client, monkeypatch, seed):
    from conbench.db import QueryTimeout

    def timed_out(conn, result_id):
        raise QueryTimeout("cancelled")

    monkeypatch.setattr(compare.results, "get_result", timed_out)
    resp = _modern(client, seed["commit-01"], seed["commit-02"])
    assert resp.status_code == 422
    assert resp.json["detail"].startswith("read query timed out")


def test_lookback_serves_many_fingerprints_in_one_query(conn, seed, monkeypatch):
    from conbench.queries import lookback

    executed = []
    original = psycopg.Connection.execute

    def counting(self, query, *args, **kwargs):
        executed.append(query)
        return original(self, query, *args, **kwargs)

    commit_03 = conn.execute("SELECT * FROM commit WHERE sha = 'commit-03'").fetchone()
    fingerprint = conn.execute(
        "SELECT history_fingerprint FROM benchmark_result WHERE id = %s", (seed["commit-03"],)
    ).fetchone()["history_fingerprint"]
    monkeypatch.setattr(psycopg.Connection, "execute", counting)
    found = lookback.lookback_for(conn, commit_03, [fingerprint, "f" * 32, "e" * 32])
    assert executed.count(lookback._Q["list_distribution_rows"]) == 1  # every fingerprint at once
    assert found[fingerprint] == (1.05, 0.03818813079129875)
    assert found["f" * 32] == (None, None)


def test_lookback_skips_errored_rows_and_uses_annotations(conn):
    """04 §11 Example 3 through the database: a spike and an annotated distribution change."""
    from conbench.queries import lookback

    values = [10.0, 10.1, 9.9, 10.0, 10.2, 9.8, 15.0, 12.0, 12.1, 11.9, 12.0, 12.1]
    case = make_case(conn, "example-3")
    parent = None
    for day, value in enumerate(values, start=1):
        commit = make_commit(
            conn, parent=parent, timestamp=datetime(2024, 1, 1) + timedelta(days=day)
        )
        parent = commit["sha"]
        row = make_result(
            conn, commit=commit, case_id=case, data=[value],
            change_annotations={"begins_distribution_change": True} if day == 8 else {},
        )  # fmt: skip
        make_result(conn, commit=commit, case_id=case, data=[1.0], error={"boom": 1})
    found = lookback.lookback_for(conn, commit, [row["history_fingerprint"]])
    assert found[row["history_fingerprint"]] == (12.02, 0.1313219499758305)


@pytest.mark.parametrize(
    ("value", "truthy"),
    [(True, True), (False, False), ("yes", True), ("", False), (1, True), (0, False),
     (0.5, True), ([1], True), ([], False), ({"a": 1}, True), ({}, False), (None, False)],
)  # fmt: skip
def test_a_distribution_change_is_any_truthy_annotation(conn, value, truthy):
    from conbench import sql

    commit = make_commit(conn)
    make_result(conn, commit=commit, change_annotations={"begins_distribution_change": value})
    [row] = conn.execute(
        sql.load("lookback")["list_distribution_rows"],
        {"commit_ids": [commit["id"]], "fingerprints": [make_result(conn)["history_fingerprint"]]},
    ).fetchall()
    assert row["begins_distribution_change"] is truthy
