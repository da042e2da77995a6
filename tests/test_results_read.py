"""Reading, annotating and deleting results on both surfaces (01 §4.1, §6, §7.1; 02 §4)."""

import dataclasses
import re
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from falcon import testing

from conbench.app import create_app
from conbench.queries import results
from tests.factories import clone_results, make_commit, make_hardware, make_result, now

# Either index that leads with run_id serves these lookups (migration 5 added (run_id, id)).
RUN_ID_INDEX = re.compile(r"benchmark_result_run_id(_id)?_index")

TOKEN = "operator-token-for-tests"
RESULT_KEYS = {
    "id", "run_id", "run_tags", "run_reason", "commit_repo_url", "batch_id", "history_fingerprint",
    "timestamp", "optional_benchmark_info", "validation", "change_annotations", "stats", "error",
    "tags", "commit", "hardware", "links",
}  # fmt: skip


def _app(settings, db):
    return create_app(settings, db)


@pytest.fixture
def client(settings, db):
    return testing.TestClient(_app(settings, db))


@pytest.fixture
def writer(settings, db):
    """A client whose requests carry the operator token."""
    app = _app(dataclasses.replace(settings, api_token=TOKEN), db)
    return testing.TestClient(app, headers={"Authorization": f"Bearer {TOKEN}"})


def test_legacy_result_entity_has_every_field_with_floats_and_absolute_links(client, conn):
    commit = make_commit(conn, sha="a" * 40)
    row = make_result(conn, commit=commit, run_tags={"name": "nightly"}, data=[1, 2.5, 3])
    body = client.simulate_get(f"/api/benchmark-results/{row['id']}/").json
    assert set(body) == RESULT_KEYS
    assert body["stats"]["data"] == [1.0, 2.5, 3.0]
    assert isinstance(body["stats"]["mean"], float)
    assert body["timestamp"].endswith("Z") and len(body["timestamp"]) == 20
    assert body["tags"] == {"name": "file-read", "dataset": "nyctaxi"}
    assert body["commit"]["sha"] == "a" * 40
    assert body["commit"]["url"] == f"https://github.com/org/repo/commit/{'a' * 40}"
    assert body["commit"]["timestamp"] == "2024-01-01T12:00:00"
    assert "links" not in body["commit"] and "links" not in body["hardware"]
    assert "hash" not in body["hardware"] and body["hardware"]["type"] == "machine"
    assert body["links"] == {
        "list": "http://falconframework.org/api/benchmarks/",
        "self": f"http://falconframework.org/api/benchmarks/{row['id']}/",
        "info": f"http://falconframework.org/api/info/{row['info_id']}/",
        "context": f"http://falconframework.org/api/contexts/{row['context_id']}/",
        "run": f"http://falconframework.org/api/runs/{row['run_id']}/",
    }


def test_links_use_the_intended_base_url(settings, db, conn):
    row = make_result(conn)
    app = create_app(dataclasses.replace(settings, intended_base_url="https://cb.example"), db)
    body = testing.TestClient(app).simulate_get(f"/api/benchmarks/{row['id']}/").json
    assert body["links"]["self"] == f"https://cb.example/api/benchmarks/{row['id']}/"


def test_null_arrays_and_annotations_of_old_rows_serialize_as_empty(client, conn):
    row = make_result(conn, data=None, times=None, change_annotations=None, error={"x": 1})
    body = client.simulate_get(f"/api/benchmark-results/{row['id']}/").json
    assert body["stats"]["data"] == [] and body["stats"]["times"] == []
    assert body["change_annotations"] == {}
    assert body["commit"] is None


def test_cluster_hardware_has_info_and_no_links(client, conn):
    hardware = make_hardware(conn, name="c1", type="cluster", info={"workers": 4})
    row = make_result(conn, hardware_id=hardware["id"])
    body = client.simulate_get(f"/api/benchmark-results/{row['id']}/").json
    assert body["hardware"] == {
        "id": hardware["id"], "name": "c1", "type": "cluster", "info": {"workers": 4},
        "optional_info": {},
    }  # fmt: skip


def test_unknown_result_is_404_with_the_legacy_shape(client):
    resp = client.simulate_get("/api/benchmark-results/nope/")
    assert resp.status_code == 404
    assert set(resp.json) == {"code", "name", "description"}


def test_get_result_returns_one_row_with_all_joins(conn):
    row = make_result(conn, commit=make_commit(conn))
    got = results.get_result(conn, row["id"])
    assert got["case_name"] == "file-read" and got["context_tags"] and got["info_tags"]
    assert got["hardware"]["hash"] and got["commit"]["sha"]
    assert isinstance(got["mean"], Decimal)


def _ids(resp):
    return [item["id"] for item in resp.json["data"]]


def test_list_pages_newest_first_and_the_cursor_is_set_exactly_when_the_page_is_full(client, conn):
    rows = [make_result(conn, run_id="r1") for _ in range(5)]
    newest_first = [r["id"] for r in reversed(rows)]
    first = client.simulate_get("/api/benchmark-results/", params={"page_size": 2})
    assert _ids(first) == newest_first[:2]
    cursor = first.json["metadata"]["next_page_cursor"]
    assert cursor == newest_first[1]
    second = client.simulate_get("/api/benchmark-results/?page_size=2&cursor=" + cursor)
    third = client.simulate_get(
        "/api/benchmark-results/?page_size=2&cursor=" + second.json["metadata"]["next_page_cursor"]
    )
    assert _ids(second) + _ids(third) == newest_first[2:]
    assert third.json["metadata"]["next_page_cursor"] is None


def test_a_full_last_page_is_followed_by_an_empty_one(client, conn):
    rows = [make_result(conn, run_id="r2") for _ in range(2)]
    first = client.simulate_get("/api/benchmark-results/?run_id=r2&page_size=2")
    assert first.json["metadata"]["next_page_cursor"] == rows[0]["id"]
    last = client.simulate_get(
        f"/api/benchmark-results/?run_id=r2&page_size=2&cursor={rows[0]['id']}"
    )
    assert last.json == {"data": [], "metadata": {"next_page_cursor": None}}


@pytest.mark.parametrize("cursor", ["", "null"])
def test_empty_or_null_cursor_means_the_first_page(client, conn, cursor):
    row = make_result(conn, run_id="r3")
    resp = client.simulate_get(f"/api/benchmark-results/?run_id=r3&cursor={cursor}")
    assert _ids(resp) == [row["id"]]


def test_list_filters_by_run_id_and_run_reason(client, conn):
    a = make_result(conn, run_id="ra", run_reason="commit")
    b = make_result(conn, run_id="rb", run_reason="pull request")
    assert _ids(client.simulate_get("/api/benchmark-results/?run_id=ra")) == [a["id"]]
    listed = _ids(
        client.simulate_get("/api/benchmark-results/", params={"run_reason": "pull request"})
    )
    assert b["id"] in listed and a["id"] not in listed


def test_rows_before_2023_06_03_are_listed_only_by_run_id(client, conn):
    old = make_result(conn, run_id="old-run", timestamp=datetime(2022, 5, 1))
    assert old["id"] not in _ids(client.simulate_get("/api/benchmark-results/?page_size=1000"))
    assert _ids(client.simulate_get("/api/benchmark-results/?run_id=old-run")) == [old["id"]]


def test_timestamp_window_filters(client, conn):
    t = now()
    inside = make_result(conn, run_id="w", timestamp=t - timedelta(minutes=1))
    make_result(conn, run_id="w", timestamp=t - timedelta(days=2))
    make_result(conn, run_id="w", timestamp=t + timedelta(days=2))
    since = (t - timedelta(hours=1)).isoformat() + "+00:00"
    until = (t + timedelta(hours=1)).isoformat() + "Z"
    resp = client.simulate_get(
        "/api/benchmark-results/",
        params={"run_id": "w", "earliest_timestamp": since, "latest_timestamp": until},
    )
    assert _ids(resp) == [inside["id"]]


def test_earliest_timestamp_also_bounds_the_id(client, conn):
    """Ids encode insertion time: a row stamped recently but inserted long ago is not listed."""
    from conbench.ids import id_for_instant

    early_id = id_for_instant(datetime(2023, 7, 1))[:16] + "8000aaaaaaaaaaaa"
    make_result(conn, id=early_id, run_id="idb", timestamp=now())
    fresh = make_result(conn, run_id="idb", timestamp=now())
    since = (now() - timedelta(hours=1)).isoformat()
    resp = client.simulate_get(f"/api/benchmark-results/?run_id=idb&earliest_timestamp={since}")
    assert _ids(resp) == [fresh["id"]]


@pytest.mark.parametrize("param", ["earliest_timestamp", "latest_timestamp"])
def test_unparsable_timestamp_is_400_naming_the_parameter(client, param):
    resp = client.simulate_get("/api/benchmark-results/", params={param: "yesterday"})
    assert resp.status_code == 400
    assert resp.json["description"] == {"_errors": [f"{param} must be an ISO 8601 timestamp"]}


@pytest.mark.parametrize("size", ["0", "1001", "x"])
def test_bad_page_size_is_400(client, size):
    resp = client.simulate_get(f"/api/benchmark-results/?page_size={size}")
    assert resp.status_code == 400
    assert resp.json["description"] == {
        "_errors": ["page_size must be a positive integer no greater than 1000"]
    }


def test_the_benchmarks_alias_lists_the_same_results(client, conn):
    row = make_result(conn, run_id="alias")
    assert _ids(client.simulate_get("/api/benchmarks/?run_id=alias")) == [row["id"]]


def test_legacy_put_merges_annotations_and_answers_200(writer, conn):
    row = make_result(conn, change_annotations={"keep": 1, "drop": 2})
    resp = writer.simulate_put(
        f"/api/benchmark-results/{row['id']}/",
        json={"change_annotations": {"drop": None, "begins_distribution_change": True}},
    )
    assert resp.status_code == 200
    assert resp.json["change_annotations"] == {"keep": 1, "begins_distribution_change": True}
    again = writer.simulate_get(f"/api/benchmarks/{row['id']}/").json
    assert again["change_annotations"] == resp.json["change_annotations"]


def test_legacy_put_on_unknown_id_is_404_even_with_a_bad_body(writer):
    resp = writer.simulate_put("/api/benchmark-results/nope/", body="not json")
    assert resp.status_code == 404


def test_legacy_put_with_empty_body_or_unknown_key_is_400(writer, conn):
    row = make_result(conn)
    empty = writer.simulate_put(f"/api/benchmark-results/{row['id']}/", json={})
    assert empty.status_code == 400
    assert empty.json["description"] == {"_errors": ["Empty request body."]}
    extra = writer.simulate_put(
        f"/api/benchmark-results/{row['id']}/", json={"change_annotations": {}, "x": 1}
    )
    assert extra.json["description"] == {"x": ["Unknown field."]}


def test_legacy_writes_need_a_principal(client, conn):
    row = make_result(conn)
    put = client.simulate_put(
        f"/api/benchmark-results/{row['id']}/", json={"change_annotations": {}}
    )
    delete = client.simulate_delete(f"/api/benchmark-results/{row['id']}/")
    assert put.status_code == delete.status_code == 401


def test_legacy_delete_is_204_then_404(writer, conn):
    row = make_result(conn)
    assert writer.simulate_delete(f"/api/benchmarks/{row['id']}/").status_code == 204
    assert writer.simulate_delete(f"/api/benchmarks/{row['id']}/").status_code == 404
    assert results.get_result(conn, row["id"]) is None


def test_modern_result_detail(client, conn):
    commit = make_commit(conn, timestamp=datetime(2024, 1, 5, 12, 0, 0, 500000))
    row = make_result(conn, commit=commit, data=[3.0, 1.0, 2.0], submission_key=None)
    body = client.simulate_get(f"/api/benchmark-results/{row['id']}").json
    assert body["name"] == "file-read" and body["tags"] == {"dataset": "nyctaxi"}
    assert body["context"] == {"benchmark_language": "Python"}
    assert body["hardware"]["hash"] == "runner-1-0-4-8-34359738368"
    assert body["commit"]["on_default_branch"] is True
    assert body["commit"]["timestamp"] == "2024-01-05T12:00:00.500000Z"
    assert body["single_value_summary"] == 1.0 and body["single_value_summary_type"] == "min"
    assert body["less_is_better"] is True and body["failed"] is False
    assert body["links"] == {
        "self": f"/results/{row['id']}",
        "series": f"/series/{row['history_fingerprint']}",
        "history": f"/api/history/{row['id']}",
    }


def test_modern_detail_of_a_throughput_and_of_a_failed_result(client, conn):
    rate = make_result(conn, unit="i/s", data=[3.0, 1.0, 2.0])
    body = client.simulate_get(f"/api/benchmark-results/{rate['id']}").json
    assert (body["single_value_summary"], body["single_value_summary_type"]) == (3.0, "max")
    failed = make_result(conn, unit=None, data=[], error={"stack": "boom"})
    body = client.simulate_get(f"/api/benchmark-results/{failed['id']}").json
    assert body["failed"] is True and body["single_value_summary"] is None
    assert body["single_value_summary_type"] == "n/a" and body["less_is_better"] is None


def test_modern_unknown_result_is_a_404_problem(client):
    resp = client.simulate_get("/api/benchmark-results/nope")
    assert resp.status_code == 404
    assert resp.headers["content-type"] == "application/problem+json"
    assert resp.json["detail"] == "benchmark result not found"


def test_modern_list_pages_with_an_opaque_cursor(client, conn):
    rows = [make_result(conn, batch_id="b1") for _ in range(3)]
    first = client.simulate_get("/api/benchmark-results?batch_id=b1&page_size=2").json
    assert [r["id"] for r in first["results"]] == [rows[2]["id"], rows[1]["id"]]
    assert first["next_cursor"] and first["next_cursor"] != rows[1]["id"]
    second = client.simulate_get(
        "/api/benchmark-results", params={"batch_id": "b1", "cursor": first["next_cursor"]}
    ).json
    assert [r["id"] for r in second["results"]] == [rows[0]["id"]]
    assert second["next_cursor"] is None


@pytest.mark.parametrize(
    ("query", "detail"),
    [
        ("cursor=%25%25%25", "invalid cursor"),
        ("earliest_timestamp=2024-01-01", "invalid earliest_timestamp: must be RFC 3339"),
        ("latest_timestamp=soon", "invalid latest_timestamp: must be RFC 3339"),
        ("page_size=0", None),
    ],
)
def test_modern_list_rejects_bad_parameters_with_422(client, query, detail):
    resp = client.simulate_get("/api/benchmark-results?" + query)
    assert resp.status_code == 422
    assert resp.headers["content-type"] == "application/problem+json"
    if detail:
        assert resp.json["detail"] == detail


def test_modern_put_merges_and_a_null_field_is_a_no_op(writer, conn):
    row = make_result(conn, change_annotations={"a": 1})
    path = f"/api/benchmark-results/{row['id']}"
    merged = writer.simulate_put(path, json={"change_annotations": {"b": 2}})
    assert merged.status_code == 200 and merged.json["change_annotations"] == {"a": 1, "b": 2}
    same = writer.simulate_put(path, json={"change_annotations": None})
    assert same.status_code == 200 and same.json["change_annotations"] == {"a": 1, "b": 2}


def test_modern_put_errors_are_problems(client, writer, conn):
    row = make_result(conn)
    path = f"/api/benchmark-results/{row['id']}"
    unauthenticated = client.simulate_put(path, json={"change_annotations": {}})
    assert unauthenticated.status_code == 401
    assert unauthenticated.json["detail"] == "authentication required"
    assert writer.simulate_put(path, json={"x": 1}).status_code == 422
    unknown = writer.simulate_put("/api/benchmark-results/nope", json={"x": 1})
    assert unknown.status_code == 404 and unknown.json["detail"] == "benchmark result not found"


def test_modern_delete(writer, conn):
    row = make_result(conn)
    assert writer.simulate_delete(f"/api/benchmark-results/{row['id']}").status_code == 204
    gone = writer.simulate_delete(f"/api/benchmark-results/{row['id']}")
    assert gone.status_code == 404 and gone.json["detail"] == "benchmark result not found"


def test_slashless_post_redirects_to_the_legacy_create(client):
    resp = client.simulate_post("/api/benchmark-results", query_string="a=1", json={})
    assert resp.status_code == 308
    assert resp.headers["location"] == "/api/benchmark-results/?a=1"


def _plan(conn, name, **params):
    from conbench import sql

    defaults = dict.fromkeys(
        ("run_id", "batch_id", "run_reason", "earliest", "earliest_id", "latest", "cursor")
    )
    query = "EXPLAIN " + sql.load("results")[name]
    rows = conn.execute(query, {**defaults, "page_size": 100, **params}, prepare=False)
    return "\n".join(row["QUERY PLAN"] for row in rows)


def test_list_queries_use_the_indexes_their_doc_lines_name(conn):
    clone_results(conn, make_result(conn), 20_000, runs=2000)
    assert "Index Scan Backward using benchmark_result_id_idx" in _plan(conn, "list_results_recent")
    by_reason = _plan(conn, "list_results_recent", run_reason="a rare reason")
    assert "benchmark_result_run_reason_id_idx" in by_reason
    by_run = _plan(conn, "list_results_scoped", run_id="clone-run-7")
    assert RUN_ID_INDEX.search(by_run)
    by_batch = _plan(conn, "list_results_scoped", batch_id="clone-batch-7")
    assert "benchmark_result_batch_id_index" in by_batch
    assert "benchmark_result_pkey" in _plan(conn, "get_result", id="x")


def test_an_unescaped_plus_in_a_timestamp_offset_is_understood(client, conn):
    row = make_result(conn, run_id="plus", timestamp=datetime(2024, 5, 1, 12, 0))
    query = "run_id=plus&earliest_timestamp=2024-05-01T13:00:00+01:00"
    assert _ids(client.simulate_get("/api/benchmark-results/", query_string=query)) == [row["id"]]
    modern = client.simulate_get("/api/benchmark-results", query_string=query)
    assert [r["id"] for r in modern.json["results"]] == [row["id"]]
