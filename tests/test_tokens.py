"""User API tokens (07 §2.3, 02 §10): format, storage, the token routes, `last_used_at`."""

import dataclasses
import hashlib
import re
import time

import psycopg
import pytest
from falcon import testing

from conbench import auth, tokens
from conbench.app import create_app
from conbench.db import Database, SingleConnectionDatabase
from conbench.queries import auth as queries
from tests import payloads
from tests.factories import make_user


def test_token_is_cb_and_43_base62_characters():
    token = tokens.new_token()
    assert re.fullmatch(r"cb_[0-9A-Za-z]{43}", token)
    assert len(token) == 46
    assert tokens.token_prefix(token) == token[:8]
    assert tokens.token_hash(token) == hashlib.sha256(token.encode()).hexdigest()


def test_base62_of_small_numbers_is_left_padded_with_zeros(monkeypatch):
    monkeypatch.setattr(tokens.secrets, "token_bytes", lambda n: b"\x00" * (n - 1) + b"\x3d")
    assert tokens.new_token() == "cb_" + "0" * 42 + "z"


def test_the_largest_32_byte_value_fits_in_43_digits():
    assert len(tokens.base62(b"\xff" * 32)) == 43
    assert tokens.base62(b"\x01\x00") == "48"  # 256 = 4 * 62 + 8


def test_tokens_differ_every_time():
    assert len({tokens.new_token() for _ in range(100)}) == 100


def test_cli_code_is_32_bytes_of_unpadded_base64url():
    code = tokens.new_cli_code()
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", code)
    assert tokens.code_hash(code) == hashlib.sha256(code.encode()).hexdigest()


def test_only_the_hash_and_prefix_of_a_token_are_stored(conn):
    user = make_user(conn)
    token = queries.create_token(conn, user["id"], "ci")
    row = conn.execute("SELECT * FROM api_token WHERE id = %s", (token["id"],)).fetchone()
    assert row["token_hash"] == tokens.token_hash(token["token"])
    assert row["token_prefix"] == token["token"][:8] == token["prefix"]
    assert token["token"] not in str(row)


# --- routes ---


@pytest.fixture
def owner(conn):
    user = make_user(conn)
    token = queries.create_token(conn, user["id"], "first")
    return user, {"Authorization": f"Bearer {token['token']}"}, token


def test_create_answers_201_with_the_plaintext_once(client, owner):
    user, headers, _ = owner
    resp = client.simulate_post("/api/tokens", json={"name": " laptop "}, headers=headers)
    assert resp.status_code == 201
    body = resp.json
    assert set(body) == {"id", "name", "token", "prefix", "created_at"}
    assert body["name"] == "laptop"
    assert body["prefix"] == body["token"][:8]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", body["created_at"])
    assert resp.headers["cache-control"] == "no-store"
    listed = client.simulate_get("/api/tokens", headers=headers).json["tokens"]
    assert body["token"] not in str(listed)


@pytest.mark.parametrize("body", [{}, {"name": ""}, {"name": "   "}, {"name": 3}])
def test_create_without_a_name_is_422_name_is_required(client, owner, body):
    resp = client.simulate_post("/api/tokens", json=body, headers=owner[1])
    assert resp.status_code == 422
    assert resp.json["detail"] == "name is required"


def test_create_with_an_unknown_key_is_422(client, owner):
    resp = client.simulate_post("/api/tokens", json={"name": "x", "scope": "all"}, headers=owner[1])
    assert resp.status_code == 422
    assert resp.json["errors"][0]["location"] == "body.scope"


def test_list_shows_own_tokens_newest_first_without_secrets(client, conn, owner):
    user, headers, first = owner
    second = queries.create_token(conn, user["id"], "second")
    queries.create_token(conn, make_user(conn)["id"], "someone else's")
    tokens_listed = client.simulate_get("/api/tokens", headers=headers).json["tokens"]
    assert [t["id"] for t in tokens_listed] == [second["id"], first["id"]]
    assert set(tokens_listed[0]) == {"id", "name", "prefix", "created_at"}


def test_revoke_is_204_idempotent_and_shows_in_the_list(client, conn, owner):
    user, headers, _ = owner
    other = queries.create_token(conn, user["id"], "other")
    for _ in range(2):
        assert (
            client.simulate_delete(f"/api/tokens/{other['id']}", headers=headers).status_code == 204
        )
    listed = {
        t["id"]: t for t in client.simulate_get("/api/tokens", headers=headers).json["tokens"]
    }
    assert "revoked_at" in listed[other["id"]]


def test_a_revoked_token_no_longer_authenticates(client, owner):
    _, headers, token = owner
    assert client.simulate_delete(f"/api/tokens/{token['id']}", headers=headers).status_code == 204
    resp = client.simulate_post("/api/results", json=payloads.legacy_result(), headers=headers)
    assert resp.status_code == 401
    assert resp.json["detail"] == "authentication required"


def test_revoking_another_users_token_is_404_and_changes_nothing(client, conn, owner):
    _, headers, _ = owner
    theirs = queries.create_token(conn, make_user(conn)["id"], "theirs")
    resp = client.simulate_delete(f"/api/tokens/{theirs['id']}", headers=headers)
    assert resp.status_code == 404
    assert queries.get_live_token(conn, theirs["token"]) is not None


def test_a_user_token_writes_results(client, owner):
    resp = client.simulate_post("/api/results", json=payloads.legacy_result(), headers=owner[1])
    assert resp.status_code == 201


def test_operator_token_cannot_manage_user_tokens(settings, db):
    app = create_app(dataclasses.replace(settings, api_token="operator-token-123"), db)
    resp = testing.TestClient(app).simulate_get(
        "/api/tokens", headers={"Authorization": "Bearer operator-token-123"}
    )
    assert resp.status_code == 403
    assert resp.json["detail"] == "user-attributed authentication required"


# --- last_used_at ---


def _last_used(conn, token_id):
    row = conn.execute("SELECT last_used_at FROM api_token WHERE id = %s", (token_id,)).fetchone()
    return row["last_used_at"]


@pytest.fixture
def pooled(fresh_db_url, settings):
    """The app over a real connection pool (stamping needs a database URL) and a committed token."""
    db = Database(fresh_db_url)
    app = create_app(dataclasses.replace(settings, db_url=fresh_db_url), db)
    with psycopg.connect(fresh_db_url, autocommit=True, row_factory=psycopg.rows.dict_row) as conn:
        user = make_user(conn)
        token = queries.create_token(conn, user["id"], "ci")
        yield testing.TestClient(app), conn, token
    db.close()


def test_a_used_token_gets_last_used_at_stamped_once_per_five_minutes(pooled):
    client, conn, token = pooled
    headers = {"Authorization": f"Bearer {token['token']}"}
    assert client.simulate_get("/api/tokens", headers=headers).status_code == 200
    assert auth.STAMPER.drain()
    first = _last_used(conn, token["id"])
    assert first is not None
    client.simulate_get("/api/tokens", headers=headers)
    assert auth.STAMPER.drain()
    assert _last_used(conn, token["id"]) == first


def test_the_stamp_update_skips_tokens_stamped_within_five_minutes(conn):
    token = queries.create_token(conn, make_user(conn)["id"], "ci")
    assert queries.stamp_token_used(conn, token["id"]) is True
    assert queries.stamp_token_used(conn, token["id"]) is False
    conn.execute(
        "UPDATE api_token SET last_used_at = last_used_at - interval '6 minutes' WHERE id = %s",
        (token["id"],),
    )
    assert queries.stamp_token_used(conn, token["id"]) is True


def test_a_locked_token_row_neither_slows_nor_fails_the_request(pooled, fresh_db_url, monkeypatch):
    client, conn, token = pooled
    monkeypatch.setattr(auth, "STAMP_TIMEOUT_SECONDS", 1)
    headers = {"Authorization": f"Bearer {token['token']}"}
    with psycopg.connect(fresh_db_url) as locker:
        locker.execute("SELECT 1 FROM api_token WHERE id = %s FOR UPDATE", (token["id"],))
        started = time.monotonic()
        resp = client.simulate_post("/api/tokens", json={"name": "x"}, headers=headers)
        elapsed = time.monotonic() - started
        assert resp.status_code == 201
        assert elapsed < 0.5
        assert auth.STAMPER.drain(10)
    assert _last_used(conn, token["id"]) is None


class _UnreachableStampDatabase(SingleConnectionDatabase):
    url = "postgresql://nobody@127.0.0.1:1/nothing"


def test_an_unreachable_stamp_database_neither_slows_nor_fails_the_request(settings, conn):
    app = create_app(settings, _UnreachableStampDatabase(conn))
    token = queries.create_token(conn, make_user(conn)["id"], "ci")
    started = time.monotonic()
    resp = testing.TestClient(app).simulate_get(
        "/api/tokens", headers={"Authorization": f"Bearer {token['token']}"}
    )
    assert resp.status_code == 200
    assert time.monotonic() - started < 0.5
    assert auth.STAMPER.drain(10)
    assert _last_used(conn, token["id"]) is None


def test_a_process_queues_a_token_for_stamping_once_per_five_minutes():
    stamper = auth.LastUsedStamper()
    stamper._thread = object()  # no worker: the queue keeps what was submitted
    db = _UnreachableStampDatabase(None)
    stamper.submit(db, "tok-1", None)
    stamper.submit(db, "tok-1", None)
    stamper.submit(db, "tok-2", None)
    assert stamper._queue.qsize() == 2
