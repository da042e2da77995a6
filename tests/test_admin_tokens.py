"""Bootstrapping tokens: `conbench admin tokens create`, CONBENCH_SEED_DEV_TOKEN and the token
`conbench dev` prints (07 §2.3, §10)."""

from __future__ import annotations

import json
import re
import signal
import stat
import subprocess
import sys

import psycopg
import pytest
import requests

from conbench.embedded_pg import free_port
from conbench.queries import auth as queries
from conbench.tokens import token_hash
from tests import payloads, procs

SECRET_PASSWORD = "admin-db-password-do-not-print"
FIELDS = {
    "user_id",
    "token_id",
    "email",
    "user_name",
    "token_name",
    "token",
    "prefix",
    "created_at",
}


def _admin(*args: str, db_url: str | None) -> subprocess.CompletedProcess:
    env = procs.base_env(**({"CONBENCH_DB_URL": db_url} if db_url else {}))
    return subprocess.run(
        [sys.executable, "-m", "conbench", "admin", "tokens", "create", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def _rows(db_url: str, query: str, *params: object) -> list[dict]:
    with psycopg.connect(db_url, row_factory=psycopg.rows.dict_row) as conn:
        return conn.execute(query, params).fetchall()


def test_create_prints_the_token_once_as_one_json_line(fresh_db_url):
    proc = _admin(
        "--email",
        "ada@example.com",
        "--token-name",
        "ci",
        "--user-name",
        "Ada",
        db_url=fresh_db_url,
    )
    assert proc.returncode == 0, proc.stderr
    [line] = proc.stdout.splitlines()
    out = json.loads(line)
    assert set(out) == FIELDS
    assert (out["email"], out["user_name"], out["token_name"]) == ("ada@example.com", "Ada", "ci")
    assert re.fullmatch(r"cb_[0-9A-Za-z]{43}", out["token"])
    assert out["prefix"] == out["token"][:8]
    assert out["created_at"].endswith("Z")
    [token] = _rows(fresh_db_url, "SELECT * FROM api_token WHERE id = %s", out["token_id"])
    assert token["token_hash"] == token_hash(out["token"])
    [user] = _rows(fresh_db_url, 'SELECT * FROM "user" WHERE id = %s', out["user_id"])
    assert user["password"] == "!"


def test_create_for_a_known_email_reuses_the_user_and_keeps_its_name(fresh_db_url):
    first = json.loads(
        _admin("--email", "bo@example.com", "--token-name", "a", db_url=fresh_db_url).stdout
    )
    assert first["user_name"] == "bo@example.com"
    second = json.loads(
        _admin(
            "--email",
            "BO@example.com",
            "--token-name",
            "b",
            "--user-name",
            "Bo",
            db_url=fresh_db_url,
        ).stdout
    )
    assert second["user_id"] == first["user_id"]
    assert second["user_name"] == "bo@example.com"
    assert second["token"] != first["token"]


@pytest.mark.parametrize(
    "email", ["Ada <ada@example.com>", "a@example.com,b@example.com", "a@example.com b", "nope"]
)
def test_an_email_that_is_not_one_bare_address_is_a_usage_error(email):
    proc = _admin("--email", email, "--token-name", "ci", db_url="postgresql://u@127.0.0.1:1/x")
    assert proc.returncode == 2
    assert "--email must be one bare address" in proc.stderr


def test_missing_flags_are_a_usage_error():
    assert _admin("--email", "a@example.com", db_url=None).returncode == 2


def test_an_unreachable_database_is_exit_1_without_the_password():
    url = f"postgresql://u:{SECRET_PASSWORD}@127.0.0.1:1/x"
    proc = _admin("--email", "a@example.com", "--token-name", "ci", db_url=url)
    assert proc.returncode == 1
    assert proc.stderr.startswith("admin error: database: ")
    assert SECRET_PASSWORD not in proc.stdout + proc.stderr


def test_no_database_url_is_a_config_error():
    proc = _admin("--email", "a@example.com", "--token-name", "ci", db_url=None)
    assert proc.returncode == 1
    assert "config error: CONBENCH_DB_URL" in proc.stderr


def test_seeding_the_dev_token_twice_stores_it_once(conn):
    assert queries.seed_dev_token(conn, "cb_e2e_dev_token_value") is not None
    assert queries.seed_dev_token(conn, "cb_e2e_dev_token_value") is None
    [row] = conn.execute(
        'SELECT t.name, u.email, u.name AS user_name, u.password FROM api_token t JOIN "user" u'
        " ON u.id = t.user_id WHERE t.token_hash = %s",
        (token_hash("cb_e2e_dev_token_value"),),
    ).fetchall()
    assert row == {
        "name": "dev seed token",
        "email": "dev@conbench.local",
        "user_name": "Dev (seeded)",
        "password": "!",
    }


@pytest.mark.slow
def test_serve_seeds_the_dev_token_and_logs_only_its_prefix(fresh_db_url, tmp_path):
    token = "cb_e2e_dev_token_value"
    env = procs.base_env(CONBENCH_DB_URL=fresh_db_url, CONBENCH_SEED_DEV_TOKEN=token)
    server = procs.start(["serve", "--workers", "1"], env, tmp_path / "serve.log")
    try:
        posted = requests.post(
            server.base_url + "/api/results",
            json=payloads.legacy_result(),
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
        assert posted.status_code == 201, posted.text
    finally:
        server.stop()
    log = server.log()
    assert "dev token with prefix cb_e2e_d seeded" in log
    assert token not in log


@pytest.mark.slow
def test_dev_prints_a_token_that_survives_a_restart_and_writes(tmp_path):
    tokens = []
    for run in range(2):
        port = free_port()
        args = ["dev", "--data-dir", str(tmp_path / "data"), "--addr", f"127.0.0.1:{port}"]
        dev = procs.start(args, procs.base_env(), tmp_path / f"dev-{run}.log", port=port)
        try:
            [token] = re.findall(r"API token (cb_[0-9A-Za-z]{43})", dev.log())
            tokens.append(token)
            url = dev.base_url + "/api/results"
            body = payloads.legacy_result()
            assert requests.post(url, json=body, timeout=10).status_code == 401
            headers = {"Authorization": f"Bearer {token}"}
            assert requests.post(url, json=body, headers=headers, timeout=10).status_code == 201
        finally:
            dev.stop(signal.SIGTERM)
    assert tokens[0] == tokens[1]
    assert stat.S_IMODE((tmp_path / "data" / "dev-token").stat().st_mode) == 0o600
