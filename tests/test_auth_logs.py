"""No credential reaches a log line: a real server at DEBUG level goes through every login and
write path, failures included, and its whole log is searched for every secret it saw."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, quote, urlsplit

import pytest
import requests

from conbench.embedded_pg import free_port
from tests import payloads, procs
from tests.idp import CLIENT_SECRET, SESSION_SECRET, TestIdentityProvider, server_env

pytestmark = pytest.mark.slow

DB_PASSWORD = "db-password-never-logged-5b1f"
OPERATOR_TOKEN = "operator-token-never-logged-81c2"
DEV_TOKEN = "cb_devtokenneverlogged0123456789abcdefghijklm"


def _with_password(url: str) -> str:
    parts = urlsplit(url)
    user, _, host = parts.netloc.rpartition("@")
    return parts._replace(netloc=f"{user}:{DB_PASSWORD}@{host}").geturl()


@pytest.fixture
def idp():
    provider = TestIdentityProvider().start()
    yield provider
    provider.stop()


def test_a_full_login_and_write_flow_logs_no_credential(fresh_db_url, idp, tmp_path):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = server_env(
        idp,
        _with_password(fresh_db_url),
        base,
        CONBENCH_API_TOKEN=OPERATOR_TOKEN,
        CONBENCH_SEED_DEV_TOKEN=DEV_TOKEN,
        CONBENCH_LOG_LEVEL="DEBUG",
    )
    server = procs.start(["serve", "--workers", "2"], env, tmp_path / "serve.log", port)
    seen = [DB_PASSWORD, OPERATOR_TOKEN, DEV_TOKEN, SESSION_SECRET, CLIENT_SECRET]
    try:
        seen += _exercise(base, idp)
    finally:
        server.stop()
    log = server.log()
    assert '"message": "starting conbench serve"' in log
    leaked = [value for value in seen if value in log or quote(value, safe="") in log]
    assert not leaked, f"{len(leaked)} secret values appear in the log"


def _exercise(base: str, idp: TestIdentityProvider) -> list[str]:
    """Every path that handles a credential; returns the secret values that went over the wire."""
    seen: list[str] = []
    browser = requests.Session()
    login = browser.get(base + "/api/auth/login", params={"next": "/x"}, allow_redirects=False)
    pending = browser.cookies["conbench_pending"]
    seen.append(pending)
    callback = browser.get(login.headers["location"], allow_redirects=False).headers["location"]
    assert browser.get(callback, allow_redirects=False).status_code == 302
    seen.append(browser.cookies["conbench_session"])
    # the same callback again: without the pending cookie, with a stale state, replaying the code
    assert requests.get(callback, allow_redirects=False).status_code == 400
    assert browser.get(callback + "x", allow_redirects=False).status_code == 400
    replay = requests.Session()
    replay.cookies.set("conbench_pending", pending, domain="127.0.0.1", path="/api/auth")
    assert replay.get(callback, allow_redirects=False).json()["detail"] == "code exchange failed"
    assert browser.get(base + "/api/users/me", timeout=5).status_code == 200

    created = browser.post(base + "/api/tokens", json={"name": "ci"}, timeout=5).json()
    user_token = created["token"]
    seen.append(user_token)
    bearer = {"Authorization": f"Bearer {user_token}"}
    assert _post(base + "/api/results", headers=bearer).status_code == 201
    assert _post(base + "/api/results", headers={"Authorization": f"Bearer {OPERATOR_TOKEN}"}).ok
    assert _post(base + "/api/results", headers={"Authorization": f"Bearer {DEV_TOKEN}"}).ok
    assert (
        _post(base + "/api/results", headers={"Authorization": "Bearer cb_nope"}).status_code == 401
    )

    email = browser.get(base + "/api/users/me", timeout=5).json()["email"]
    legacy = requests.Session()
    wrong = legacy.post(base + "/api/login/", json={"email": email, "password": user_token + "x"})
    assert wrong.status_code == 400
    seen.append(user_token + "x")
    assert legacy.post(base + "/api/login/", json={"email": email, "password": user_token}).ok
    seen.append(legacy.cookies["conbench_session"])
    assert _post(base + "/api/benchmarks/", session=legacy).status_code == 201

    loopback = "http://127.0.0.1:9/callback"
    start = browser.get(
        base + "/api/auth/cli-start",
        params={"redirect_uri": loopback, "state": "cli-state"},
        allow_redirects=False,
    )
    [code] = parse_qs(urlsplit(start.headers["location"]).query)["code"]
    seen.append(code)
    exchanged = requests.post(base + "/api/auth/cli-exchange", json={"code": code}, timeout=5)
    seen.append(exchanged.json()["token"])
    assert requests.post(base + "/api/auth/cli-exchange", json={"code": code}).status_code == 400

    assert browser.delete(f"{base}/api/tokens/{created['id']}", timeout=5).status_code == 204
    assert _post(base + "/api/results", headers=bearer).status_code == 401
    assert browser.post(base + "/api/auth/logout", timeout=5).status_code == 204
    seen += idp.codes + idp.id_tokens
    return seen


def _post(url: str, *, headers: dict | None = None, session=None) -> requests.Response:
    sender = session or requests
    headers = {"Content-Type": "application/json", **(headers or {})}
    return sender.post(url, data=json.dumps(payloads.legacy_result()), headers=headers, timeout=10)
