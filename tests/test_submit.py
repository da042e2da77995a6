"""Submitting results over HTTP: the legacy create, the idempotent modern route, its bulk form."""

import json
import threading
import time
from pathlib import Path

import psycopg
import pytest
from falcon import testing

from conbench.app import create_app
from conbench.config import Settings
from conbench.db import connect
from conbench.ingest import (
    SubmissionConflict,
    UnknownCommitResolver,
    store_results,
    submit_payloads,
)
from conbench.validation import prepare_result
from tests import payloads

TOKEN = "submit-test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
TABLES = ("benchmark_result", '"case"', "context", "info", "hardware", "commit")


@pytest.fixture
def writer(work_db_url, db):
    settings = Settings.from_env({"CONBENCH_DB_URL": work_db_url, "CONBENCH_API_TOKEN": TOKEN})
    return testing.TestClient(create_app(settings, db))


def counts(conn):
    return {t: conn.execute(f"SELECT count(*) AS n FROM {t}").fetchone()["n"] for t in TABLES}


def post(client, path, body, headers=AUTH):
    return client.simulate_post(path, json=body, headers=headers)


# --- legacy create -----------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/benchmark-results/", "/api/benchmarks/"])
def test_legacy_create_answers_201_with_the_full_entity_and_location(writer, path):
    resp = post(writer, path, payloads.legacy_result())
    assert resp.status_code == 201
    body = resp.json
    assert resp.headers["location"] == body["links"]["self"]
    assert body["links"]["self"] == f"http://falconframework.org/api/benchmarks/{body['id']}/"
    assert body["tags"] == {"name": "file-read", "dataset": "nyctaxi", "compression": "snappy"}
    assert body["run_tags"] == {
        "arch": "x86_64",
        "name": "commit: 0123456789abcdef0123456789abcdef01234567",
    }
    assert body["timestamp"] == "2024-01-05T12:00:00Z"
    assert body["stats"]["data"] == [1.1, 1.2, 1.3]
    assert body["stats"]["mean"] == pytest.approx(1.2)
    assert body["commit"]["sha"] == "0123456789abcdef0123456789abcdef01234567"
    assert body["commit"]["message"] == ""  # unknown commit: no GitHub credentials
    assert body["hardware"]["name"] == "ci-runner-1"
    assert len(body["history_fingerprint"]) == 32


def test_legacy_create_without_credentials_is_401_in_the_legacy_shape(writer, conn):
    before = counts(conn)
    resp = post(writer, "/api/benchmark-results/", payloads.legacy_result(), headers={})
    assert resp.status_code == 401
    assert set(resp.json) == {"code", "name", "description"}
    assert counts(conn) == before


def test_legacy_schema_error_is_400_naming_the_field(writer, conn):
    before = counts(conn)
    resp = post(writer, "/api/benchmark-results/", payloads.legacy_result(run_id=payloads.DROP))
    assert resp.status_code == 400
    assert resp.json == {
        "code": 400,
        "name": "Bad Request",
        "description": {"run_id": ["Missing data for required field."]},
    }
    assert counts(conn) == before


def test_legacy_business_rule_is_400_with_the_description_only(writer):
    resp = post(writer, "/api/benchmark-results/", payloads.legacy_result(tags={"x": "1"}))
    assert resp.status_code == 400
    assert resp.json == {
        "description": "`name` property must be present in `tags` "
        "(the name of the conceptual benchmark)"
    }


def test_legacy_create_refuses_a_submission_key(writer):
    body = payloads.legacy_result(submission_key="k")
    resp = post(writer, "/api/benchmark-results/", body)
    assert resp.status_code == 400
    assert resp.json["description"] == {"submission_key": ["Unknown field."]}


def test_legacy_reposting_stores_a_second_result(writer, conn):
    first = post(writer, "/api/benchmarks/", payloads.legacy_result()).json
    second = post(writer, "/api/benchmarks/", payloads.legacy_result()).json
    assert first["id"] != second["id"]
    assert first["history_fingerprint"] == second["history_fingerprint"]


def test_legacy_non_json_body_is_the_generic_400(writer):
    resp = writer.simulate_post(
        "/api/benchmark-results/", body="run_id=1", headers={**AUTH, "Content-Type": "text/plain"}
    )
    assert resp.status_code == 400
    assert resp.json["description"].startswith("The browser (or proxy) sent a request")


# --- modern single -----------------------------------------------------------------------------


def test_modern_submit_answers_201_with_id_run_id_and_fingerprint(writer, conn):
    resp = post(writer, "/api/results", payloads.modern_result())
    assert resp.status_code == 201
    assert set(resp.json) == {"id", "run_id", "history_fingerprint"}
    assert resp.json["run_id"] == "run-0123456789"
    assert "idempotent-replayed" not in resp.headers
    row = conn.execute(
        "SELECT submission_key, submission_payload_sha256 FROM benchmark_result WHERE id = %s",
        (resp.json["id"],),
    ).fetchone()
    assert row["submission_key"] == "key-1"
    assert len(row["submission_payload_sha256"]) == 64


def test_same_key_and_payload_is_replayed_without_a_second_row(writer, conn):
    first = post(writer, "/api/results", payloads.modern_result())
    before = counts(conn)
    again = post(writer, "/api/results", payloads.modern_result())
    assert again.status_code == 201
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json == first.json
    assert counts(conn) == before


def test_duplicate_submission_key_with_other_payload_is_409(writer, conn):
    post(writer, "/api/results", payloads.modern_result())
    before = counts(conn)
    resp = post(writer, "/api/results", payloads.modern_result(run_id="other"))
    assert resp.status_code == 409
    assert resp.headers["content-type"] == "application/problem+json"
    assert resp.json["detail"] == "submission key already exists with different content"
    assert counts(conn) == before


def test_replay_is_decided_before_validation(writer, conn):
    """A key stored under an older rule set replays even if its body would fail validation now."""
    invalid = payloads.modern_result(submission_key="old-key", stats={"data": [1], "unit": "x"})
    stored = prepare_result(payloads.modern_result(submission_key="old-key"), modern=True)
    from dataclasses import replace

    from conbench.canonical import payload_sha256

    forged = replace(stored, payload_sha256=payload_sha256(invalid))
    (original,) = store_results(conn, [forged], commits=UnknownCommitResolver(), surface=None)
    resp = post(writer, "/api/results", invalid)
    assert resp.status_code == 201
    assert resp.json["id"] == original.id


def test_modern_validation_error_is_422_with_locations(writer, conn):
    before = counts(conn)
    body = payloads.modern_result(stats=payloads.stats(data=[1, "x", 3]), run_id=payloads.DROP)
    resp = post(writer, "/api/results", body)
    assert resp.status_code == 422
    assert resp.headers["content-type"] == "application/problem+json"
    locations = {e["location"] for e in resp.json["errors"]}
    assert locations == {"body.run_id", "body.stats.data[1]"}
    assert counts(conn) == before


def test_modern_business_rule_is_422_with_the_legacy_text(writer):
    resp = post(writer, "/api/results", payloads.modern_result(stats=payloads.stats(unit="km")))
    assert resp.status_code == 422
    assert resp.json["detail"] == "invalid unit string `km`, pick one of: B, B/s, s, ns, i/s"


def test_modern_submit_without_credentials_is_401_problem(writer):
    resp = post(writer, "/api/results", payloads.modern_result(), headers={})
    assert resp.status_code == 401
    assert resp.headers["content-type"] == "application/problem+json"
    assert resp.json["status"] == 401


def test_modern_submit_counts_ingested_results_by_surface(writer):
    post(writer, "/api/results", payloads.modern_result(submission_key=None))
    post(writer, "/api/benchmarks/", payloads.legacy_result())
    text = writer.simulate_get("/metrics").text
    assert 'conbench_results_ingested_total{surface="modern"}' in text
    assert 'conbench_results_ingested_total{surface="legacy"}' in text


# --- modern bulk -------------------------------------------------------------------------------


def _bulk(n, **overrides):
    return [
        payloads.modern_result(submission_key=f"bulk-{i}", run_id=f"run-{i % 3}", **overrides)
        for i in range(n)
    ]


def test_bulk_stores_every_result_and_answers_in_input_order(writer, conn):
    before = counts(conn)["benchmark_result"]
    resp = post(writer, "/api/results", _bulk(5))
    assert resp.status_code == 201
    results = resp.json["results"]
    assert [r["run_id"] for r in results] == ["run-0", "run-1", "run-2", "run-0", "run-1"]
    assert all(r["replayed"] is False for r in results)
    assert counts(conn)["benchmark_result"] == before + 5
    keys = conn.execute(
        "SELECT id, submission_key FROM benchmark_result WHERE id = ANY(%s)",
        ([r["id"] for r in results],),
    ).fetchall()
    by_id = {row["id"]: row["submission_key"] for row in keys}
    assert [by_id[r["id"]] for r in results] == [f"bulk-{i}" for i in range(5)]


def test_bulk_with_bad_items_stores_nothing_and_names_each_index(writer, conn):
    items = _bulk(5)
    items[1]["stats"]["data"][1] = "x"
    items[3]["tags"] = {"no": "name"}
    before = counts(conn)
    resp = post(writer, "/api/results", items)
    assert resp.status_code == 422
    locations = [e["location"] for e in resp.json["errors"]]
    assert locations == ["body[1].stats.data[1]", "body[3]"]
    assert "items 1, 3" in resp.json["detail"]
    assert counts(conn) == before


def test_bulk_item_that_is_not_an_object_is_reported_by_index(writer):
    resp = post(writer, "/api/results", [payloads.modern_result(), 7])
    assert resp.status_code == 422
    assert [e["location"] for e in resp.json["errors"]] == ["body[1]"]


def test_bulk_refused_by_the_database_leaves_no_orphan_rows(writer, conn):
    """A create_all database CHECKs aggregates >= 0: the statement fails as a whole, so the new
    case, context, info, hardware and commit of the good items are not left behind either."""
    conn.execute(
        "ALTER TABLE benchmark_result ADD CONSTRAINT benchmark_result_mean_check CHECK (mean >= 0)"
    )
    items = [
        payloads.modern_result(
            submission_key=f"neg-{i}",
            tags={"name": f"new-bench-{i}"},
            context={"fresh": str(i)},
            info={"fresh": str(i)},
            machine_info=payloads.machine_info(name=f"fresh-{i}"),
            github=payloads.github(commit=f"fresh-commit-{i}"),
        )
        for i in range(3)
    ]
    items[2]["stats"]["data"] = [-1.0, -2.0, -3.0]
    before = counts(conn)
    resp = post(writer, "/api/results", items)
    assert resp.status_code == 422
    assert resp.json["detail"] == "aggregate values must be >= 0"
    assert counts(conn) == before


def test_legacy_create_on_a_create_all_database_maps_the_check_to_a_business_400(writer, conn):
    conn.execute(
        "ALTER TABLE benchmark_result ADD CONSTRAINT benchmark_result_min_check CHECK (min >= 0)"
    )
    body = payloads.legacy_result(stats=payloads.stats(data=[-1.0, -2.0, -3.0]))
    resp = post(writer, "/api/benchmark-results/", body)
    assert resp.status_code == 400
    assert resp.json == {"description": "aggregate values must be >= 0"}


def test_bulk_repeating_a_key_with_the_same_content_stores_one_row(writer, conn):
    item = payloads.modern_result(submission_key="twice")
    before = counts(conn)["benchmark_result"]
    resp = post(writer, "/api/results", [item, payloads.modern_result(submission_key="twice")])
    assert resp.status_code == 201
    first, second = resp.json["results"]
    assert first["id"] == second["id"]
    assert (first["replayed"], second["replayed"]) == (False, True)
    assert counts(conn)["benchmark_result"] == before + 1


def test_bulk_repeating_a_key_with_other_content_is_409_for_that_item(writer, conn):
    items = [payloads.modern_result(submission_key="twice"), payloads.modern_result()]
    items.append(payloads.modern_result(submission_key="twice", run_id="changed"))
    before = counts(conn)
    resp = post(writer, "/api/results", items)
    assert resp.status_code == 409
    assert resp.json["errors"] == [
        {
            "message": "submission key already exists with different content",
            "location": "body[2].submission_key",
        }
    ]
    assert counts(conn) == before


def test_bulk_replays_stored_keys(writer, conn):
    post(writer, "/api/results", _bulk(2))
    before = counts(conn)["benchmark_result"]
    resp = post(writer, "/api/results", _bulk(3))
    assert resp.status_code == 201
    assert [r["replayed"] for r in resp.json["results"]] == [True, True, False]
    assert counts(conn)["benchmark_result"] == before + 1


def test_bulk_over_the_limit_is_413(writer):
    resp = post(writer, "/api/results", [{}] * 5001)
    assert resp.status_code == 413
    assert "at most 5000" in resp.json["detail"]


def test_empty_bulk_is_422(writer):
    resp = post(writer, "/api/results", [])
    assert resp.status_code == 422


def test_text_with_a_nul_character_is_refused_naming_the_field(writer, conn):
    before = counts(conn)
    resp = post(writer, "/api/results", payloads.modern_result(context={"a": "x\u0000y"}))
    assert resp.status_code == 422
    assert "body.context.a" in resp.json["detail"]
    legacy = post(writer, "/api/benchmarks/", payloads.legacy_result(run_id="r\u0000"))
    assert legacy.status_code == 400
    assert "run_id" in legacy.json["description"]
    assert counts(conn) == before


# --- races between two connections ------------------------------------------------------------


def _hold_key(url, body):
    """A connection that has inserted `body` under its key but not committed yet."""
    holder = connect(url)
    holder.execute("SELECT 1")  # open the transaction that holds the row
    store_results(
        holder, [prepare_result(body, modern=True)], commits=UnknownCommitResolver(), surface=None
    )
    return holder


def _submit_in_thread(url, body, outcome):
    def run():
        with connect(url) as conn:
            conn.autocommit = True
            try:
                outcome["stored"] = submit_payloads(
                    conn, [body], modern=True, commits=UnknownCommitResolver(), surface=None
                )
            except SubmissionConflict as exc:
                outcome["conflict"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def _wait_until_blocked(url):
    deadline = time.monotonic() + 10
    with psycopg.connect(url, autocommit=True) as watcher:
        while time.monotonic() < deadline:
            waiting = watcher.execute(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND wait_event_type = 'Lock'"
            ).fetchone()[0]
            if waiting:
                return
            time.sleep(0.02)
    raise AssertionError("the second submission never waited for the first")


def test_concurrent_twin_with_the_same_payload_is_replayed(fresh_db_url):
    holder = _hold_key(fresh_db_url, payloads.modern_result(submission_key="race"))
    outcome: dict = {}
    thread = _submit_in_thread(fresh_db_url, payloads.modern_result(submission_key="race"), outcome)
    _wait_until_blocked(fresh_db_url)
    holder.commit()
    holder.close()
    thread.join(10)
    (stored,) = outcome["stored"]
    assert stored.replayed
    with connect(fresh_db_url) as conn:
        assert conn.execute("SELECT count(*) AS n FROM benchmark_result").fetchone()["n"] == 1


def test_concurrent_twin_with_other_content_is_a_conflict(fresh_db_url):
    holder = _hold_key(fresh_db_url, payloads.modern_result(submission_key="race"))
    outcome: dict = {}
    other = payloads.modern_result(submission_key="race", run_id="other")
    thread = _submit_in_thread(fresh_db_url, other, outcome)
    _wait_until_blocked(fresh_db_url)
    holder.commit()
    holder.close()
    thread.join(10)
    assert isinstance(outcome["conflict"], SubmissionConflict)
    with connect(fresh_db_url) as conn:
        assert conn.execute("SELECT count(*) AS n FROM benchmark_result").fetchone()["n"] == 1


def test_the_bulk_example_of_the_api_docs_is_accepted(writer):
    text = (Path(__file__).parent.parent / "docs" / "api.md").read_text(encoding="utf-8")
    section = text.split("### Bulk", 1)[1]
    request = section.split("```http", 1)[1].split("```", 1)[0]
    body = json.loads(request.split("\n\n", 1)[1])
    resp = post(writer, "/api/results", body)
    assert resp.status_code == 201, resp.json
    assert [r["replayed"] for r in resp.json["results"]] == [False, False]


def test_a_commit_sha_longer_than_its_column_is_refused_naming_the_field(writer, conn):
    before = counts(conn)
    sha = "f" * 51
    items = [payloads.modern_result(), payloads.modern_result(github=payloads.github(commit=sha))]
    items[0]["submission_key"] = "other-key"
    resp = post(writer, "/api/results", items)
    assert resp.status_code == 422
    assert resp.json["errors"] == [
        {"message": "Longer than maximum length 50.", "location": "body[1].github.commit"}
    ]
    legacy = post(
        writer, "/api/benchmarks/", payloads.legacy_result(github=payloads.github(commit=sha))
    )
    assert legacy.status_code == 400
    assert legacy.json["description"] == {"github": {"commit": ["Longer than maximum length 50."]}}
    assert counts(conn) == before


def test_a_nan_literal_inside_a_stored_document_is_a_4xx_naming_the_field(writer, conn):
    """Python's JSON parser accepts `NaN`; PostgreSQL's JSON does not (was a 500)."""
    before = counts(conn)
    body = payloads.legacy_result(optional_benchmark_info={"ratio": float("nan")})
    text = json.dumps(body)  # writes the NaN literal
    assert "NaN" in text
    headers = {**AUTH, "Content-Type": "application/json"}
    legacy = writer.simulate_post("/api/benchmark-results/", body=text, headers=headers)
    assert legacy.status_code == 400
    message = "Special numeric values (nan or infinity) are not permitted."
    assert legacy.json["description"] == {"optional_benchmark_info": [message]}
    modern = writer.simulate_post("/api/results", body=text, headers=headers)
    assert modern.status_code == 422
    assert "optional_benchmark_info" in modern.text and message in modern.text
    assert counts(conn) == before
