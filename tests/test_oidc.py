"""OIDC web login end to end: a real `conbench serve`, the test identity provider, a browser
played by `requests` (07 §2.4, 02 §11)."""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import psycopg
import pytest
import requests

from conbench.embedded_pg import free_port
from conbench.oidc import OidcError, Provider
from tests import payloads, procs
from tests.conftest import create_database, drop_database
from tests.idp import CLIENT_ID, CLIENT_SECRET, TestIdentityProvider, server_env

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def idp() -> Iterator[TestIdentityProvider]:
    provider = TestIdentityProvider().start()
    yield provider
    provider.stop()


@pytest.fixture(autouse=True)
def honest_idp(idp: TestIdentityProvider) -> None:
    """Every test starts with a provider that bends nothing."""
    idp.nonce, idp.expires_in, idp.audience, idp.foreign_key = None, 300, None, False
    idp.user = {
        "sub": "ada",
        "email": "ada@example.com",
        "email_verified": True,
        "name": "Ada Lovelace",
    }


@pytest.fixture(scope="module")
def oidc_db(pg_admin_url: str, template_db_name: str) -> Iterator[str]:
    name = f"cbt_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}_oidc"
    yield create_database(pg_admin_url, name, template=template_db_name)
    drop_database(pg_admin_url, name)


@pytest.fixture(scope="module")
def server(idp, oidc_db, tmp_path_factory) -> Iterator[procs.ServerProcess]:
    port = free_port()
    env = server_env(idp, oidc_db, f"http://127.0.0.1:{port}")
    served = procs.start(
        ["serve", "--workers", "2"], env, tmp_path_factory.mktemp("oidc") / "log", port
    )
    yield served
    served.stop()


def start_login(browser: requests.Session, server, next_path: str = "/") -> requests.Response:
    resp = browser.get(
        server.base_url + "/api/auth/login", params={"next": next_path}, allow_redirects=False
    )
    assert resp.status_code == 302, resp.text
    return resp


def approve(browser: requests.Session, login: requests.Response) -> str:
    """The identity provider's answer: the callback URL with code and state."""
    resp = browser.get(login.headers["location"], allow_redirects=False)
    assert resp.status_code == 302, resp.text
    return resp.headers["location"]


def sign_in(browser: requests.Session, server, next_path: str = "/") -> requests.Response:
    return browser.get(
        approve(browser, start_login(browser, server, next_path)), allow_redirects=False
    )


def test_login_redirects_to_the_provider_with_pkce_state_and_nonce(server, idp):
    login = start_login(requests.Session(), server)
    url = urlsplit(login.headers["location"])
    query = {k: v[0] for k, v in parse_qs(url.query).items()}
    assert f"{url.scheme}://{url.netloc}{url.path}" == idp.url + "/authorize"
    assert query["response_type"] == "code"
    assert query["client_id"] == CLIENT_ID
    assert query["redirect_uri"] == server.base_url + "/api/auth/callback"
    assert query["scope"] == "openid email profile"
    assert query["code_challenge_method"] == "S256"
    assert len(query["code_challenge"]) == 43
    assert query["state"] and query["nonce"] and query["state"] != query["nonce"]
    cookie = login.headers["set-cookie"]
    assert cookie.startswith("conbench_pending=")
    assert "Max-Age=600; Path=/api/auth; HttpOnly; SameSite=Lax" in cookie
    assert "Secure" not in cookie  # the base URL is a loopback host


def test_successful_login_signs_the_user_in_and_returns_to_next(server, oidc_db):
    browser = requests.Session()
    callback = sign_in(browser, server, "/runs/abc?x=1")
    assert callback.status_code == 302, callback.text
    assert callback.headers["location"] == "/runs/abc?x=1"
    assert "conbench_session" in browser.cookies
    assert "conbench_pending" not in browser.cookies
    me = browser.get(server.base_url + "/api/users/me", timeout=5).json()
    assert (me["email"], me["name"]) == ("ada@example.com", "Ada Lovelace")
    with psycopg.connect(oidc_db) as conn:
        [(password,)] = conn.execute(
            'SELECT password FROM "user" WHERE email = %s', ("ada@example.com",)
        ).fetchall()
    assert password == "!"
    again = requests.Session()
    sign_in(again, server)
    assert again.get(server.base_url + "/api/users/me", timeout=5).json()["id"] == me["id"]


def test_a_signed_in_browser_creates_a_token_that_writes_results(server):
    browser = requests.Session()
    sign_in(browser, server)
    created = browser.post(server.base_url + "/api/tokens", json={"name": "ci"}, timeout=5)
    assert created.status_code == 201
    headers = {"Authorization": f"Bearer {created.json()['token']}"}
    posted = requests.post(
        server.base_url + "/api/results", json=payloads.legacy_result(), headers=headers, timeout=10
    )
    assert posted.status_code == 201, posted.text
    capabilities = browser.get(server.base_url + "/api/auth/capabilities", timeout=5).json()
    assert capabilities["signed_in"] and capabilities["can_write_results"]
    assert capabilities["oidc_enabled"] and capabilities["legacy_login_enabled"]


@pytest.mark.parametrize("target", ["https://evil.example/x", "//evil.example/x", "/\\evil"])
def test_next_outside_the_site_is_replaced_by_the_root(server, target):
    assert sign_in(requests.Session(), server, target).headers["location"] == "/"


def _problem(resp: requests.Response, status: int, detail: str) -> None:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"] == "application/problem+json"
    assert resp.json()["detail"] == detail
    assert "conbench_session=" not in resp.headers.get("set-cookie", "").replace(
        "conbench_session=;", ""
    )


def test_a_changed_state_is_refused(server):
    browser = requests.Session()
    callback = approve(browser, start_login(browser, server))
    forged = callback.replace("state=", "state=x")
    _problem(browser.get(forged, allow_redirects=False), 400, "invalid login state")
    assert "conbench_session" not in browser.cookies


def test_a_callback_without_the_pending_cookie_is_refused(server):
    browser = requests.Session()
    callback = approve(browser, start_login(browser, server))
    _problem(requests.get(callback, allow_redirects=False), 400, "invalid login state")


def test_a_replayed_code_is_refused(server, idp):
    browser = requests.Session()
    callback = approve(browser, start_login(browser, server))
    pending = browser.cookies["conbench_pending"]
    assert browser.get(callback, allow_redirects=False).status_code == 302
    attacker = requests.Session()
    attacker.cookies.set("conbench_pending", pending, domain="127.0.0.1", path="/api/auth")
    _problem(attacker.get(callback, allow_redirects=False), 400, "code exchange failed")


@pytest.mark.parametrize(
    ("knob", "detail"),
    [
        ({"nonce": "not-the-nonce-of-this-login"}, "invalid ID token: nonce mismatch"),
        ({"expires_in": -600}, "invalid ID token: expired"),
        ({"audience": "another-client"}, "invalid ID token: wrong audience"),
        ({"foreign_key": True}, "invalid ID token: bad signature"),
    ],
)
def test_an_id_token_failing_a_check_is_refused(server, idp, knob, detail):
    for name, value in knob.items():
        setattr(idp, name, value)
    browser = requests.Session()
    _problem(sign_in(browser, server), 400, detail)
    assert browser.get(server.base_url + "/api/users/me", timeout=5).status_code == 401


@pytest.mark.parametrize("verified", [False, "false", None])
def test_an_unverified_email_is_refused(server, idp, verified):
    idp.user = {**idp.user, "email": "mallory@example.com", "email_verified": verified}
    _problem(sign_in(requests.Session(), server), 400, "email not verified")


def test_legacy_google_routes_lead_into_the_oidc_flow(server):
    login = requests.get(
        server.base_url + "/api/google/", params={"target": "/runs"}, allow_redirects=False
    )
    assert login.status_code == 302
    assert login.headers["location"] == "/api/auth/login?next=%2Fruns"
    callback = requests.get(
        server.base_url + "/api/google/callback?code=c&state=s", allow_redirects=False
    )
    assert callback.headers["location"] == "/api/auth/callback?code=c&state=s"


@pytest.mark.parametrize(
    "path",
    [
        "/api/auth/login",
        "/api/auth/callback?code=c&state=s",
        "/api/auth/cli-start?redirect_uri=http://127.0.0.1:5000/cb&state=s",
    ],
)
def test_oidc_routes_without_oidc_configuration_are_501(client, path):
    resp = client.simulate_get(path)
    assert resp.status_code == 501
    assert resp.json["detail"] == "OIDC login is not configured"


@pytest.mark.parametrize("path", ["/api/google/", "/api/google/callback"])
def test_legacy_sso_routes_without_oidc_configuration_are_legacy_501(client, path):
    resp = client.simulate_get(path)
    assert resp.status_code == 501
    assert resp.json == {
        "code": 501,
        "name": "Not Implemented",
        "description": "OIDC login is not configured",
    }


# --- the relying party in process, against the same provider ---


def _provider(idp: TestIdentityProvider, secret: str = CLIENT_SECRET) -> Provider:
    return Provider(idp.url, CLIENT_ID, secret, "http://127.0.0.1:1/api/auth/callback")


def _code(idp: TestIdentityProvider, provider: Provider, verifier: str, nonce: str) -> str:
    url = urlsplit(provider.authorization_url(state="s", nonce=nonce, verifier=verifier))
    status, location = idp.authorize({k: v[0] for k, v in parse_qs(url.query).items()})
    assert status == 302
    return parse_qs(urlsplit(location).query)["code"][0]


def test_the_relying_party_verifies_an_honest_login(idp):
    provider = _provider(idp)
    id_token = provider.exchange(_code(idp, provider, "v" * 43, "n"), "v" * 43)
    identity = provider.verify(id_token, "n")
    assert (identity.email, identity.name, identity.subject) == (
        "ada@example.com",
        "Ada Lovelace",
        "ada",
    )


def test_a_wrong_pkce_verifier_fails_the_exchange(idp):
    provider = _provider(idp)
    with pytest.raises(OidcError, match="code exchange failed"):
        provider.exchange(_code(idp, provider, "v" * 43, "n"), "w" * 43)


def test_a_wrong_client_secret_is_a_provider_error_not_the_users(idp):
    provider = _provider(idp, secret="not-the-secret")
    with pytest.raises(OidcError) as refused:
        provider.exchange(_code(idp, provider, "v" * 43, "n"), "v" * 43)
    assert refused.value.status == 502


@pytest.mark.parametrize(
    ("header", "detail"),
    [
        ({"alg": "none"}, "invalid ID token: unsupported signing algorithm"),
        ({"alg": "HS256"}, "invalid ID token: unsupported signing algorithm"),
        ({"alg": "RS256", "kid": "unknown-key"}, "invalid ID token: unknown signing key"),
    ],
)
def test_tokens_not_signed_by_a_provider_key_are_refused(idp, header, detail):
    claims = {"iss": idp.url, "aud": CLIENT_ID, "sub": "x", "nonce": "n"}
    forged = (
        ".".join(
            base64.urlsafe_b64encode(json.dumps(part).encode()).rstrip(b"=").decode()
            for part in (header, claims)
        )
        + ".c2ln"
    )
    with pytest.raises(OidcError, match=detail):
        _provider(idp).verify(forged, "n")


def test_an_unreachable_provider_is_502():
    provider = Provider("http://127.0.0.1:1", CLIENT_ID, CLIENT_SECRET, "http://x/cb")
    with pytest.raises(OidcError) as failed:
        provider.authorization_url(state="s", nonce="n", verifier="v")
    assert failed.value.status == 502
