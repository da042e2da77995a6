"""The 401/403/404 matrix (02 §12, 01 §2): every guarded route against every kind of caller.

Guarded routes are read from the app's route table and their declared auth level (`write`,
`user`, `session` in conbench/api_operations*.py), so a route added later is in the matrix the
moment it is registered. CASES says how to call a route successfully (path values, body, status);
a route without an entry is only required to get past authentication (no 401/403).
"""

from __future__ import annotations

import dataclasses
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import falcon.routing
import pytest
from falcon import testing

from conbench import sessions
from conbench.api_operations import OPERATIONS
from conbench.app import create_app
from conbench.config import Settings
from conbench.errors import DEFAULT_DESCRIPTIONS, ServiceUnavailable
from conbench.queries import auth as queries
from tests import payloads
from tests.factories import make_result, make_user

OPERATOR_TOKEN = "matrix-operator-token-0123"
SECRET = "matrix-session-secret-0123456789abcdef"
BASE = "http://127.0.0.1:8080"
PROBE_ID = "no-such-id-0000"
METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH")
WRITES = ("POST", "PUT", "DELETE", "PATCH")


class _NoDatabase:
    def open(self) -> None: ...

    def close(self) -> None: ...

    def connection(self) -> Any:
        raise ServiceUnavailable("the database is unavailable; try again shortly")


def _guarded() -> list[tuple[str, str, str, str]]:
    """(method, path, surface, level) of every registered responder that needs a principal."""
    app = create_app(
        Settings.from_env({"CONBENCH_DB_URL": "postgresql://collect/only"}), _NoDatabase()
    )
    found = []
    for route in app.route_table.routes:
        for method in falcon.routing.map_http_methods(route.resource):
            operation = OPERATIONS.get((method, route.path))
            if method in METHODS and operation is not None and operation.auth != "public":
                found.append((method, route.path, route.surface, operation.auth))
    return sorted(found)


GUARDED = _guarded()

# A builder gets (conn, acting user) and returns (path values, JSON body or None).
Builder = Callable[[Any, dict], tuple[dict[str, str], Any]]


@dataclass(frozen=True)
class Case:
    """How a route succeeds; `foreign` names another user's resource (user routes with ids)."""

    ok: int
    build: Builder = lambda conn, me: ({}, None)
    foreign: Callable[[Any], dict[str, str]] | None = None


def _result(conn: Any, me: dict) -> tuple[dict, Any]:
    return {"id": make_result(conn)["id"]}, None


def _annotate(conn: Any, me: dict) -> tuple[dict, Any]:
    return {"id": make_result(conn)["id"]}, {"change_annotations": {"matrix": "1"}}


def _user(conn: Any, me: dict) -> tuple[dict, Any]:
    return {"id": make_user(conn)["id"]}, None


def _own_token(conn: Any, me: dict) -> tuple[dict, Any]:
    return {"id": queries.create_token(conn, me["id"], "spare")["id"]}, None


def _theirs(conn: Any) -> dict[str, str]:
    return {"id": queries.create_token(conn, make_user(conn)["id"], "theirs")["id"]}


def _body(body: Callable[[], Any]) -> Builder:
    return lambda conn, me: ({}, body())


CASES: dict[tuple[str, str], Case] = {
    ("POST", "/api/results"): Case(201, _body(payloads.legacy_result)),
    ("POST", "/api/benchmark-results/"): Case(201, _body(payloads.legacy_result)),
    ("POST", "/api/benchmarks/"): Case(201, _body(payloads.legacy_result)),
    ("PUT", "/api/benchmark-results/{id}/"): Case(200, _annotate),
    ("PUT", "/api/benchmarks/{id}/"): Case(200, _annotate),
    ("PUT", "/api/benchmark-results/{id}"): Case(200, _annotate),
    ("DELETE", "/api/benchmark-results/{id}/"): Case(204, _result),
    ("DELETE", "/api/benchmarks/{id}/"): Case(204, _result),
    ("DELETE", "/api/benchmark-results/{id}"): Case(204, _result),
    ("GET", "/api/"): Case(200),
    ("GET", "/api/users/"): Case(200),
    ("POST", "/api/users/"): Case(
        201, _body(lambda: {"email": f"m-{secrets.token_hex(4)}@example.com", "name": "M"})
    ),
    ("GET", "/api/users/{id}/"): Case(200, _user),
    ("PUT", "/api/users/{id}/"): Case(200, lambda c, me: (_user(c, me)[0], {"name": "N"})),
    ("DELETE", "/api/users/{id}/"): Case(204, _user),
    ("GET", "/api/tokens"): Case(200),
    ("POST", "/api/tokens"): Case(201, _body(lambda: {"name": "matrix"})),
    ("DELETE", "/api/tokens/{id}"): Case(204, _own_token, foreign=_theirs),
    ("GET", "/api/users/me"): Case(200),
}

OK, UNAUTHENTICATED, USER_REQUIRED, CROSS_ORIGIN = "ok", 401, 403, "cross-origin"
# scenario -> expected outcome per auth level (write, user, session)
SCENARIOS: dict[str, dict[str, Any]] = {
    "no credentials": {"write": 401, "user": 401, "session": 401},
    "malformed bearer": {"write": 401, "user": 401, "session": 401},
    "unknown token": {"write": 401, "user": 401, "session": 401},
    "revoked token": {"write": 401, "user": 401, "session": 401},
    # not retried as the cookie; session-only routes read the cookie alone
    "unknown token beside a valid session cookie": {"write": 401, "user": 401, "session": OK},
    "operator token": {"write": OK, "user": USER_REQUIRED, "session": 401},
    "user token": {"write": OK, "user": OK, "session": 401},
    "session cookie": {"write": OK, "user": OK, "session": OK},
    "bridge session cookie": {"write": OK, "user": OK, "session": OK},
    "session cookie from another origin": {
        "write": CROSS_ORIGIN,
        "user": CROSS_ORIGIN,
        "session": OK,
    },
    "auth disabled": {"write": OK, "user": USER_REQUIRED, "session": 401},
    "nothing configured, token store unreachable": {"write": 401, "user": 401, "session": 401},
}


@dataclass
class Caller:
    settings: Settings
    db: Any
    headers: dict[str, str]
    cookies: dict[str, str]


def _caller(name: str, conn: Any, db: Any, settings: Settings, me: dict) -> Caller:
    own = queries.create_token(conn, me["id"], "mine")
    session = {"conbench_session": sessions.encode_session(SECRET, me["id"])}
    bearer = {"Authorization": f"Bearer {own['token']}"}
    if name == "no credentials":
        return Caller(settings, db, {}, {})
    if name == "malformed bearer":
        return Caller(settings, db, {"Authorization": f"Token {own['token']}"}, {})
    if name == "unknown token":
        return Caller(settings, db, {"Authorization": "Bearer cb_" + "x" * 43}, {})
    if name == "unknown token beside a valid session cookie":
        return Caller(settings, db, {"Authorization": "Bearer cb_" + "x" * 43}, session)
    if name == "revoked token":
        queries.revoke_token(conn, me["id"], own["id"])
        return Caller(settings, db, bearer, {})
    if name == "operator token":
        return Caller(settings, db, {"Authorization": f"Bearer {OPERATOR_TOKEN}"}, {})
    if name == "user token":
        return Caller(settings, db, bearer, {})
    if name == "session cookie":
        return Caller(settings, db, {"Origin": BASE}, session)
    if name == "bridge session cookie":
        bridge = sessions.encode_session(SECRET, me["id"], token_id=own["id"])
        return Caller(settings, db, {}, {"conbench_session": bridge})
    if name == "session cookie from another origin":
        return Caller(settings, db, {"Origin": "https://evil.example"}, session)
    if name == "auth disabled":
        return Caller(dataclasses.replace(settings, auth_disabled=True), db, bearer, {})
    if name == "nothing configured, token store unreachable":
        bare = dataclasses.replace(settings, api_token=None, session_secret=None)
        return Caller(bare, _NoDatabase(), bearer, session)
    raise AssertionError(name)


@pytest.fixture
def configured(settings: Settings) -> Settings:
    return dataclasses.replace(
        settings, api_token=OPERATOR_TOKEN, session_secret=SECRET, intended_base_url=BASE
    )


def _path(template: str, values: dict[str, str]) -> str:
    return re.sub(r"\{([^}]*)\}", lambda m: values.get(m.group(1), PROBE_ID), template)


def _call(caller: Caller, method: str, path: str, body: Any) -> testing.Result:
    client = testing.TestClient(create_app(caller.settings, caller.db))
    body = body if body is not None else {}
    return client.simulate_request(
        method, path, json=body, headers=caller.headers, cookies=caller.cookies
    )


def _assert_refused(resp: testing.Result, surface: str, status: int, detail: str) -> None:
    assert resp.status_code == status, resp.text
    if surface == "legacy":
        assert set(resp.json) == {"code", "name", "description"}
        expected = DEFAULT_DESCRIPTIONS[401] if detail == "authentication required" else detail
        assert resp.json["description"] == expected
    else:
        assert resp.headers["content-type"] == "application/problem+json"
        assert resp.json["detail"] == detail


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
@pytest.mark.parametrize(("method", "path", "surface", "level"), GUARDED)
def test_guarded_route_answers_the_matrix(
    conn, db, configured, scenario, method, path, surface, level
):
    me = make_user(conn, name="Me")
    caller = _caller(scenario, conn, db, configured, me)
    case = CASES.get((method, path))
    values, body = case.build(conn, me) if case else ({}, None)
    resp = _call(caller, method, _path(path, values), body)
    expected = SCENARIOS[scenario][level]
    if expected == CROSS_ORIGIN and method not in WRITES:
        expected = OK  # reads are never refused for their origin
    if expected == OK:
        if case is None:
            assert resp.status_code not in (401, 403), resp.text
        else:
            assert resp.status_code == case.ok, resp.text
    elif expected == CROSS_ORIGIN:
        _assert_refused(resp, surface, 403, "cross-origin write refused")
    elif expected == USER_REQUIRED:
        _assert_refused(resp, surface, 403, "user-attributed authentication required")
    else:
        _assert_refused(resp, surface, 401, "authentication required")


USER_ROUTES_WITH_IDS = [(m, p) for m, p, _, level in GUARDED if level == "user" and "{" in p]


@pytest.mark.parametrize("principal", ["user token", "session cookie"])
@pytest.mark.parametrize(("method", "path"), USER_ROUTES_WITH_IDS)
def test_another_users_or_an_unknown_resource_is_404(conn, db, configured, principal, method, path):
    me = make_user(conn, name="Me")
    caller = _caller(principal, conn, db, configured, me)
    case = CASES.get((method, path))
    ids = [{}] + ([case.foreign(conn)] if case and case.foreign else [])
    for values in ids:
        resp = _call(caller, method, _path(path, values), None)
        assert resp.status_code == 404, (values, resp.text)


def test_the_matrix_holds_the_guarded_routes_of_every_level():
    levels = {level for *_, level in GUARDED}
    assert levels == {"write", "user", "session"}
    assert ("POST", "/api/benchmark-results/", "legacy", "write") in GUARDED
    assert ("DELETE", "/api/tokens/{id}", "modern", "user") in GUARDED


def test_every_case_names_a_registered_guarded_route():
    registered = {(method, path) for method, path, *_ in GUARDED}
    assert set(CASES) <= registered, sorted(set(CASES) - registered)
