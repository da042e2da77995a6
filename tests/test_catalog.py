"""Legacy catalogs, users, the retired registration and the 308 rule (01 §1.1, §2.2, §3, §7)."""

import dataclasses
from datetime import datetime

import pytest
from falcon import testing

from conbench.app import create_app
from tests.factories import make_commit, make_context, make_hardware, make_info, make_user, now

TOKEN = "operator-token-for-tests"
BASE = "http://falconframework.org"


@pytest.fixture
def writer(settings, db):
    """A client whose requests carry the operator token."""
    app = create_app(dataclasses.replace(settings, api_token=TOKEN), db)
    return testing.TestClient(app, headers={"Authorization": f"Bearer {TOKEN}"})


def test_api_index_links_every_collection_and_needs_a_principal(client, writer):
    assert client.simulate_get("/api/").status_code == 401
    links = writer.simulate_get("/api/").json["links"]
    assert links["benchmarks"] == f"{BASE}/api/benchmarks/"
    assert links["docs"] == f"{BASE}/api/docs.json"
    assert set(links) == {
        "benchmarks", "commits", "contexts", "docs", "login", "logout", "info", "hardware",
        "ping", "register", "runs", "users",
    }  # fmt: skip


def test_commit_list_is_a_plain_list_newest_first_with_undated_commits_last(client, conn):
    undated = make_commit(conn, timestamp=None)
    old = make_commit(conn, timestamp=datetime(2020, 1, 1))
    new = make_commit(conn, timestamp=datetime(2030, 1, 1))
    body = client.simulate_get("/api/commits/").json
    ids = [c["id"] for c in body]
    assert ids.index(new["id"]) < ids.index(old["id"]) < ids.index(undated["id"])
    assert body[ids.index(new["id"])]["links"] == {
        "list": f"{BASE}/api/commits/",
        "self": f"{BASE}/api/commits/{new['id']}/",
    }


def test_commit_list_by_sha_spans_repositories(client, conn):
    a = make_commit(conn, sha="a" * 40)
    b = make_commit(conn, sha="a" * 40, repository="https://github.com/org/fork")
    make_commit(conn, sha="b" * 40)
    body = client.simulate_get("/api/commits/", params={"sha": f"{'a' * 40},{'c' * 40}"}).json
    assert sorted(c["id"] for c in body) == sorted([a["id"], b["id"]])


def test_commit_detail_links_its_parent_row_or_null(client, conn):
    parent = make_commit(conn, sha="1" * 40)
    child = make_commit(
        conn, sha="2" * 40, parent="1" * 40, timestamp=datetime(2024, 1, 2, 3, 4, 5)
    )
    orphan = make_commit(conn, sha="3" * 40, parent="9" * 40)
    body = client.simulate_get(f"/api/commits/{child['id']}/").json
    assert body == {
        "id": child["id"], "sha": "2" * 40, "branch": "org:main", "fork_point_sha": "2" * 40,
        "url": f"https://github.com/org/repo/commit/{'2' * 40}", "parent_sha": "1" * 40,
        "repository": "https://github.com/org/repo", "message": child["message"],
        "author_name": "Ada", "author_login": "ada", "author_avatar": child["author_avatar"],
        "timestamp": "2024-01-02T03:04:05",
        "links": {
            "list": f"{BASE}/api/commits/", "self": f"{BASE}/api/commits/{child['id']}/",
            "parent": f"{BASE}/api/commits/{parent['id']}/",
        },
    }  # fmt: skip
    assert client.simulate_get(f"/api/commits/{orphan['id']}/").json["links"]["parent"] is None


def test_unknown_commit_row_serializes_with_empty_message_and_nulls(client, conn):
    row = make_commit(conn, unknown=True)
    body = client.simulate_get(f"/api/commits/{row['id']}/").json
    assert body["message"] == "" and body["author_name"] == ""
    assert body["timestamp"] is None and body["branch"] is None and body["parent_sha"] is None


@pytest.mark.parametrize("collection", ["commits", "hardware", "contexts", "info", "users"])
def test_unknown_catalog_item_is_404(writer, collection):
    resp = writer.simulate_get(f"/api/{collection}/nope/")
    assert resp.status_code == 404
    assert set(resp.json) == {"code", "name", "description"}


def test_hardware_machines_have_links_and_clusters_do_not(client, conn):
    machine = make_hardware(conn, name="aaa-machine")
    cluster = make_hardware(conn, name="aaa-cluster", type="cluster")
    listed = {h["id"]: h for h in client.simulate_get("/api/hardware/").json}
    assert listed[machine["id"]]["links"]["self"] == f"{BASE}/api/hardware/{machine['id']}/"
    assert "links" not in listed[cluster["id"]] and "hash" not in listed[machine["id"]]
    detail = client.simulate_get(f"/api/hardware/{machine['id']}/").json
    assert detail["cpu_core_count"] == 4 and detail["memory_bytes"] == 34359738368
    assert detail["gpu_product_names"] == []


@pytest.mark.parametrize(("collection", "make"), [("contexts", make_context), ("info", make_info)])
def test_tag_entities_put_tags_at_top_level_and_the_envelope_wins(client, conn, collection, make):
    row_id = make(conn, {"arrow_compiler_id": "GNU", "id": "spoof", "links": "spoof"})
    body = client.simulate_get(f"/api/{collection}/{row_id}/").json
    assert body == {
        "arrow_compiler_id": "GNU",
        "id": row_id,
        "links": {
            "list": f"{BASE}/api/{collection}/",
            "self": f"{BASE}/api/{collection}/{row_id}/",
        },
    }
    assert row_id in [item["id"] for item in client.simulate_get(f"/api/{collection}/").json]


def test_users_need_a_principal(client, conn):
    user = make_user(conn)
    assert client.simulate_get("/api/users/").status_code == 401
    assert client.simulate_get(f"/api/users/{user['id']}/").status_code == 401


def test_creating_a_user_ignores_the_password(writer, conn):
    resp = writer.simulate_post(
        "/api/users/", json={"email": "new@example.com", "name": "New", "password": "secret"}
    )
    assert resp.status_code == 201
    assert set(resp.json) == {"id", "email", "name", "links"}
    assert resp.headers["location"] == resp.json["links"]["self"]
    stored = conn.execute(
        'SELECT password FROM "user" WHERE id = %s', (resp.json["id"],)
    ).fetchone()
    assert stored["password"] == "!"
    assert resp.json["id"] in [u["id"] for u in writer.simulate_get("/api/users/").json]


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({"email": "taken@example.com", "name": "x"}, {"email": ["Email address already in use."]}),
        ({"email": "not-an-email", "name": "x"}, {"email": ["Not a valid email address."]}),
        (
            {},
            {
                "email": ["Missing data for required field."],
                "name": ["Missing data for required field."],
            },
        ),
        ({"email": "a@example.com", "name": None}, {"name": ["Field may not be null."]}),
        ({"email": "a@example.com", "name": "x", "role": "admin"}, {"role": ["Unknown field."]}),
        ([], {"_schema": ["Invalid input type."]}),
    ],
)
def test_invalid_user_bodies_are_400(writer, conn, body, errors):
    make_user(conn, email="taken@example.com")
    resp = writer.simulate_post("/api/users/", json=body)
    assert resp.status_code == 400
    assert resp.json["description"] == errors


def test_updating_a_user(writer, conn):
    user = make_user(conn, email="old@example.com")
    make_user(conn, email="other@example.com")
    path = f"/api/users/{user['id']}/"
    resp = writer.simulate_put(path, json={"name": "Renamed", "password": "ignored"})
    assert resp.status_code == 200
    assert (resp.json["email"], resp.json["name"]) == ("old@example.com", "Renamed")
    clash = writer.simulate_put(path, json={"email": "other@example.com"})
    assert clash.json["description"] == {"email": ["Email address already in use."]}
    empty = writer.simulate_put(path, json={})
    assert empty.json["description"] == {"_errors": ["Empty request body."]}
    assert writer.simulate_put("/api/users/nope/", json={}).status_code == 404


def test_deleting_a_user_removes_their_tokens_and_cli_codes(writer, conn):
    user = make_user(conn)
    conn.execute(
        "INSERT INTO api_token (id, user_id, name, token_hash, token_prefix, created_at)"
        " VALUES ('t1', %s, 'ci', 'hash', 'cbt_', %s)",
        (user["id"], now()),
    )
    conn.execute(
        "INSERT INTO cli_login_code (code_hash, user_id, created_at, expires_at)"
        " VALUES ('c1', %s, %s, %s)",
        (user["id"], now(), now()),
    )
    assert writer.simulate_delete(f"/api/users/{user['id']}/").status_code == 204
    assert conn.execute("SELECT count(*) AS n FROM api_token WHERE id = 't1'").fetchone()["n"] == 0
    assert writer.simulate_delete(f"/api/users/{user['id']}/").status_code == 404


def test_a_user_owning_alert_rules_is_not_deleted(writer, conn):
    user = make_user(conn)
    conn.execute(
        "INSERT INTO alert_rule (id, user_id, name, repository, baseline, threshold, threshold_z,"
        " created_at, updated_at) VALUES ('r1', %s, 'n', 'https://github.com/o/r', 'parent', 5, 5,"
        " %s, %s)",
        (user["id"], now(), now()),
    )
    resp = writer.simulate_delete(f"/api/users/{user['id']}/")
    assert resp.status_code == 409
    assert resp.json == {"description": "user owns alert rules"}
    assert writer.simulate_get(f"/api/users/{user['id']}/").status_code == 200


REGISTER_GONE = (
    "Registration with a shared key is retired. Ask an operator for an API token ('conbench admin"
    " tokens create --email you@example.com --token-name ci') or sign in with OIDC and create one"
    " at /account; then authenticate with 'Authorization: Bearer <token>' or log in via POST"
    " /api/login/ with the token as password."
)


def test_registration_is_gone_without_reading_the_body(client):
    resp = client.simulate_post("/api/register/", body="not json")
    assert resp.status_code == 410
    assert resp.json == {"code": 410, "name": "Gone", "description": REGISTER_GONE}


@pytest.mark.parametrize(
    ("method", "path", "location"),
    [
        ("GET", "/api", "/api/"),
        ("GET", "/api/commits?sha=abc&x=1", "/api/commits/?sha=abc&x=1"),
        ("GET", "/api/runs/some-run", "/api/runs/some-run/"),
        ("POST", "/api/users", "/api/users/"),
        ("POST", "/api/benchmarks", "/api/benchmarks/"),
        ("DELETE", "/api/benchmarks/abc", "/api/benchmarks/abc/"),
    ],
)
def test_slashless_legacy_paths_redirect_with_308(client, method, path, location):
    resp = client.simulate_request(method, path)
    assert resp.status_code == 308
    assert resp.headers["location"] == location


def test_modern_slashless_routes_win_over_the_redirect(client):
    assert client.simulate_get("/api/ping").status_code == 200
    resp = client.simulate_get("/api/benchmark-results/nope")
    assert resp.status_code != 308
    assert resp.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize("path", ["/api/nothing-here", "/api/nothing-here/", "/api/commits/a/b"])
def test_other_api_paths_are_the_legacy_404(client, path):
    resp = client.simulate_get(path)
    assert resp.status_code == 404
    assert set(resp.json) == {"code", "name", "description"}
