"""Session and pending cookies (07 §2.2), the legacy login bridge (01 §2.1), logout, users/me."""

import base64
import dataclasses
import hashlib
import hmac
import json
import time

import pytest
from falcon import testing

from conbench import sessions
from conbench.app import create_app
from conbench.queries import auth as queries
from conbench.sessions import Pending
from tests import payloads
from tests.factories import make_user

SECRET = "session-secret-for-tests-0123456789abcdef"
BASE = "http://127.0.0.1:8080"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_signed_value_is_unpadded_base64url_payload_dot_hmac_of_the_encoded_payload():
    value = sessions.sign(SECRET, b"user-1|1700000000")
    body = _b64(b"user-1|1700000000")
    mac = hmac.new(SECRET.encode(), body.encode(), hashlib.sha256).digest()
    assert value == f"{body}.{_b64(mac)}"
    assert "=" not in value
    assert sessions.unsign(SECRET, value) == b"user-1|1700000000"


@pytest.mark.parametrize(
    "forge",
    [
        lambda v: v.replace(v[0], "A" if v[0] != "A" else "B", 1),  # payload changed
        lambda v: v[:-2] + ("AA" if not v.endswith("AA") else "BB"),  # mac changed
        lambda v: v.split(".")[0],  # no mac
        lambda v: "." + v.split(".")[1],  # no payload
        lambda v: v + "é",
    ],
)
def test_a_forged_value_is_refused(forge):
    value = sessions.sign(SECRET, b"user-1|9999999999")
    assert sessions.unsign(SECRET, forge(value)) is None


def test_a_value_signed_with_another_secret_is_refused():
    value = sessions.sign("another-secret-0123456789abcdef0123", b"user-1|9999999999")
    assert sessions.unsign(SECRET, value) is None


def test_session_payload_is_user_and_expiry_thirty_days_ahead():
    value = sessions.encode_session(SECRET, "user-1", now=1_700_000_000)
    assert sessions.unsign(SECRET, value) == b"user-1|1702592000"
    claims = sessions.decode_session(SECRET, value, now=1_700_000_000)
    assert claims == sessions.Session("user-1", 1_702_592_000, None)


def test_bridge_session_payload_carries_the_token_id():
    value = sessions.encode_session(SECRET, "user-1", token_id="tok-9", now=1_700_000_000)
    assert sessions.unsign(SECRET, value) == b"user-1|1702592000|tok-9"
    assert sessions.decode_session(SECRET, value, now=1_700_000_000).token_id == "tok-9"


def test_an_expired_session_is_refused():
    value = sessions.encode_session(SECRET, "user-1", now=1_700_000_000)
    assert sessions.decode_session(SECRET, value, now=1_700_000_000 + 2592000) is None


@pytest.mark.parametrize("payload", [b"user-1", b"user-1|soon", b"|123", b"a|1|", b"a|1|b|c"])
def test_a_genuinely_signed_but_malformed_payload_is_refused(payload):
    assert sessions.decode_session(SECRET, sessions.sign(SECRET, payload), now=0) is None


def test_pending_cookie_is_signed_json_of_the_login_in_flight():
    pending = Pending("s", "n", "v", next="/runs", cli_redirect=None, cli_state=None)
    value = sessions.encode_pending(SECRET, pending)
    assert json.loads(sessions.unsign(SECRET, value)) == {
        "state": "s",
        "nonce": "n",
        "verifier": "v",
        "next": "/runs",
    }
    assert sessions.decode_pending(SECRET, value) == pending
    assert sessions.decode_pending("x" * 32, value) is None


def test_pending_cookie_with_unexpected_keys_is_refused():
    value = sessions.sign(SECRET, b'{"state":"s","nonce":"n","verifier":"v","admin":"1"}')
    assert sessions.decode_pending(SECRET, value) is None


@pytest.mark.parametrize(
    ("base_url", "secure"),
    [
        (None, True),
        ("not a url", True),
        ("http://localhost:8080", False),
        ("http://127.0.0.1", False),
        ("http://[::1]:8080", False),
        ("https://conbench.example.com", True),
        ("http://conbench.internal", True),
    ],
)
def test_session_cookie_is_secure_unless_the_base_url_is_loopback(base_url, secure):
    header = sessions.session_cookie("v", base_url)
    assert header.startswith("conbench_session=v; Max-Age=2592000; Path=/; HttpOnly; SameSite=Lax")
    assert header.endswith("; Secure") is secure


@pytest.mark.parametrize(
    ("base_url", "secure"),
    [
        (None, False),
        ("http://conbench.internal", False),
        ("http://localhost", False),
        ("https://conbench.example.com", True),
    ],
)
def test_bridge_cookie_is_secure_only_for_an_https_base_url(base_url, secure):
    assert sessions.session_cookie("v", base_url, bridge=True).endswith("; Secure") is secure


def test_pending_cookie_lives_ten_minutes_under_api_auth():
    header = sessions.pending_cookie("v", "https://conbench.example.com")
    assert header == (
        "conbench_pending=v; Max-Age=600; Path=/api/auth; HttpOnly; SameSite=Lax; Secure"
    )


# --- the routes, in process ---


@pytest.fixture
def app(settings, db):
    configured = dataclasses.replace(settings, session_secret=SECRET, intended_base_url=BASE)
    return create_app(configured, db)


@pytest.fixture
def web(app):
    return testing.TestClient(app)


@pytest.fixture
def user_token(conn):
    user = make_user(conn, email="Grace@Example.com", name="Grace")
    return user, queries.create_token(conn, user["id"], "ci")


def _login(web, email, password, **kwargs):
    return web.simulate_post("/api/login/", json={"email": email, "password": password}, **kwargs)


def _session_of(resp) -> str:
    return resp.cookies["conbench_session"].value


def test_bridge_login_with_a_token_answers_204_and_a_session_cookie(web, user_token):
    user, token = user_token
    resp = _login(web, " grace@EXAMPLE.com ", token["token"])
    assert resp.status_code == 204
    assert resp.text == ""
    header = resp.headers["set-cookie"]
    assert header.startswith("conbench_session=")
    assert "Max-Age=2592000; Path=/; HttpOnly; SameSite=Lax" in header
    assert "Secure" not in header
    claims = sessions.decode_session(SECRET, _session_of(resp))
    assert (claims.user_id, claims.token_id) == (user["id"], token["id"])


def test_bridge_session_authorizes_a_legacy_write_and_users_me(web, user_token):
    user, token = user_token
    cookie = {"conbench_session": _session_of(_login(web, user["email"], token["token"]))}
    created = web.simulate_post("/api/benchmarks/", json=payloads.legacy_result(), cookies=cookie)
    assert created.status_code == 201
    me = web.simulate_get("/api/users/me", cookies=cookie)
    assert me.json == {"id": user["id"], "email": user["email"], "name": "Grace"}


@pytest.mark.parametrize(
    "password_of",
    [
        lambda token: "not-the-token",
        lambda token: token["token"] + "x",
        lambda token: token["token"].upper(),
    ],
)
def test_bridge_login_with_a_wrong_password_is_400_and_expires_the_cookie(
    web, user_token, password_of
):
    user, token = user_token
    resp = _login(web, user["email"], password_of(token))
    assert resp.status_code == 400
    assert resp.json == {
        "code": 400,
        "name": "Bad Request",
        "description": {"_errors": ["Invalid email or password."]},
    }
    assert resp.headers["set-cookie"].startswith("conbench_session=; Max-Age=0; Path=/")


def test_bridge_login_with_another_users_email_is_400(web, conn, user_token):
    _, token = user_token
    other = make_user(conn)
    assert _login(web, other["email"], token["token"]).status_code == 400


def test_bridge_login_with_a_revoked_token_is_400(web, conn, user_token):
    user, token = user_token
    queries.revoke_token(conn, user["id"], token["id"])
    assert _login(web, user["email"], token["token"]).status_code == 400


def test_revoking_the_token_ends_its_bridge_session_at_once(web, conn, user_token):
    user, token = user_token
    cookie = {"conbench_session": _session_of(_login(web, user["email"], token["token"]))}
    queries.revoke_token(conn, user["id"], token["id"])
    resp = web.simulate_post("/api/benchmarks/", json=payloads.legacy_result(), cookies=cookie)
    assert resp.status_code == 401
    assert web.simulate_get("/api/users/me", cookies=cookie).status_code == 401


@pytest.mark.parametrize(
    ("body", "description"),
    [
        ({"email": "a@example.com"}, {"password": ["Missing data for required field."]}),
        ({"email": "nope", "password": "x"}, {"email": ["Not a valid email address."]}),
        ({"email": "a@example.com", "password": 1}, {"password": ["Not a valid string."]}),
        ({"email": "a@example.com", "password": "x", "x": 1}, {"x": ["Unknown field."]}),
        ([], {"_schema": ["Invalid input type."]}),
    ],
)
def test_bridge_login_body_errors_are_legacy_400s(web, body, description):
    resp = web.simulate_post("/api/login/", json=body)
    assert resp.status_code == 400
    assert resp.json["description"] == description


def test_bridge_login_without_a_session_secret_is_501(client):
    resp = _login(client, "a@example.com", "x")
    assert resp.status_code == 501
    assert resp.json == {
        "code": 501,
        "name": "Not Implemented",
        "description": "legacy login needs CONBENCH_SESSION_SECRET; send the API token as "
        "'Authorization: Bearer' instead",
    }


def test_eleventh_failed_bridge_login_in_a_minute_is_429(web, user_token):
    user, token = user_token
    for _ in range(10):
        assert _login(web, user["email"], "wrong").status_code == 400
    resp = _login(web, user["email"], token["token"])
    assert resp.status_code == 429
    assert resp.json == {"description": "too many login attempts"}


def test_an_https_base_url_makes_the_bridge_cookie_secure(settings, db, user_token):
    configured = dataclasses.replace(
        settings, session_secret=SECRET, intended_base_url="https://conbench.example.com"
    )
    user, token = user_token
    resp = _login(testing.TestClient(create_app(configured, db)), user["email"], token["token"])
    assert resp.headers["set-cookie"].endswith("; Secure")


@pytest.mark.parametrize(
    ("method", "path"), [("GET", "/api/logout/"), ("POST", "/api/auth/logout")]
)
def test_logout_is_204_and_expires_the_session_cookie(web, method, path):
    resp = web.simulate_request(method, path)
    assert resp.status_code == 204
    assert resp.headers["set-cookie"] == (
        "conbench_session=; Max-Age=0; Path=/; HttpOnly; SameSite=Lax"
    )


def test_oidc_session_cookie_identifies_the_user_for_users_me(web, conn):
    user = make_user(conn, name="Linus")
    cookie = {"conbench_session": sessions.encode_session(SECRET, user["id"])}
    assert web.simulate_get("/api/users/me", cookies=cookie).json["name"] == "Linus"


def test_users_me_ignores_bearer_tokens(web, user_token):
    _, token = user_token
    resp = web.simulate_get("/api/users/me", headers={"Authorization": f"Bearer {token['token']}"})
    assert resp.status_code == 401
    assert resp.json["detail"] == "authentication required"


INVALID_COOKIES = {  # built at test time: a cookie in a test id would differ between workers
    "unknown-user": lambda: sessions.encode_session(SECRET, "no-such-user"),
    "other-secret": lambda: sessions.encode_session("another-secret-0123456789abcdefghij", "u"),
    "expired": lambda: sessions.sign(SECRET, f"u|{int(time.time()) - 1}".encode()),
}


@pytest.mark.parametrize("kind", sorted(INVALID_COOKIES))
def test_users_me_with_an_invalid_session_is_401(web, kind):
    cookie = INVALID_COOKIES[kind]()
    assert (
        web.simulate_get("/api/users/me", cookies={"conbench_session": cookie}).status_code == 401
    )


def test_capabilities_tell_a_signed_in_browser_what_it_can_do(web, conn):
    user = make_user(conn)
    anonymous = web.simulate_get("/api/auth/capabilities").json
    assert anonymous == {
        "signed_in": False,
        "auth_disabled": False,
        "can_write_results": False,
        "oidc_enabled": False,
        "legacy_login_enabled": True,
    }
    cookie = {"conbench_session": sessions.encode_session(SECRET, user["id"])}
    signed_in = web.simulate_get("/api/auth/capabilities", cookies=cookie).json
    assert signed_in["signed_in"] is signed_in["can_write_results"] is True


def test_capabilities_in_auth_disabled_mode_allow_writes(settings, db):
    app = create_app(dataclasses.replace(settings, auth_disabled=True), db)
    body = testing.TestClient(app).simulate_get("/api/auth/capabilities").json
    assert body["auth_disabled"] is body["can_write_results"] is True
    assert body["legacy_login_enabled"] is False


@pytest.mark.parametrize("origin", ["https://evil.example", "http://127.0.0.1:9999", "null"])
def test_cookie_write_from_another_origin_is_403(web, conn, origin):
    user = make_user(conn)
    cookie = {"conbench_session": sessions.encode_session(SECRET, user["id"])}
    legacy = web.simulate_post(
        "/api/benchmarks/", json={}, cookies=cookie, headers={"Origin": origin}
    )
    assert legacy.status_code == 403
    assert legacy.json["description"] == "cross-origin write refused"
    modern = web.simulate_post("/api/tokens", json={}, cookies=cookie, headers={"Origin": origin})
    assert modern.status_code == 403
    assert modern.json["detail"] == "cross-origin write refused"


@pytest.mark.parametrize("origin", [BASE, "HTTP://127.0.0.1:8080"])
def test_cookie_write_from_the_intended_origin_is_allowed(web, conn, origin):
    user = make_user(conn)
    cookie = {"conbench_session": sessions.encode_session(SECRET, user["id"])}
    resp = web.simulate_post(
        "/api/tokens", json={"name": "ui"}, cookies=cookie, headers={"Origin": origin}
    )
    assert resp.status_code == 201


def test_bearer_write_from_another_origin_is_not_checked(web, user_token):
    _, token = user_token
    headers = {"Authorization": f"Bearer {token['token']}", "Origin": "https://evil.example"}
    resp = web.simulate_post("/api/tokens", json={"name": "x"}, headers=headers)
    assert resp.status_code == 201


def test_a_present_but_invalid_bearer_is_not_retried_as_the_cookie(web, conn):
    user = make_user(conn)
    cookie = {"conbench_session": sessions.encode_session(SECRET, user["id"])}
    resp = web.simulate_get(
        "/api/tokens", cookies=cookie, headers={"Authorization": "Bearer cb_unknown"}
    )
    assert resp.status_code == 401
    assert web.simulate_get("/api/tokens", cookies=cookie).status_code == 200
