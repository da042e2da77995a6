"""The enforcer: every registered legacy route answers the legacy contract (01 §1-§3).

Routes are read from the app's route table, so a new legacy route is checked the moment it is
registered, and fails `test_every_legacy_route_declares_its_expectations` until EXPECTATIONS says
which methods it serves, which need a principal, whether it looks up an id and which take a body.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import falcon.routing
import pytest
from falcon import testing

from conbench.app import create_app
from conbench.config import Settings
from conbench.errors import DEFAULT_DESCRIPTIONS
from conbench.resources.catalog import template_pattern
from tests import payloads
from tests.factories import make_result, make_user

TOKEN = "operator-token-for-tests"
PROBE_ID = "no-such-id-0000"
EXTRA = "surely_not_a_field"
METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH")
PUBLIC, WRITE = "public", "write"

# A body builder gets the test's connection and returns (path parameter value or None, body).
BodyBuilder = Callable[[Any], tuple[str | None, dict]]


@dataclass(frozen=True)
class Expect:
    """What one legacy route promises."""

    methods: dict[str, str]  # method -> PUBLIC | WRITE
    lookup: bool = False  # the path names an entity: an unknown id is 404
    bodies: dict[str, BodyBuilder] = field(default_factory=dict)  # valid bodies, per method
    slashed: bool = True  # declared with the trailing slash (four upstream exceptions)
    query: str = ""  # query string a plain request needs


def _result_payload(conn: Any) -> tuple[None, dict]:
    return None, payloads.legacy_result()


def _annotations(conn: Any) -> tuple[str, dict]:
    return make_result(conn)["id"], {"change_annotations": {"a": 1}}


def _new_user(conn: Any) -> tuple[None, dict]:
    return None, {"email": "contract@example.com", "name": "Contract"}


def _user_change(conn: Any) -> tuple[str, dict]:
    return make_user(conn)["id"], {"name": "Renamed"}


def _login(conn: Any) -> tuple[None, dict]:
    return None, {"email": "contract@example.com", "password": "not-a-token"}


_RESULT_LIST = Expect({"GET": PUBLIC, "POST": WRITE}, bodies={"POST": _result_payload})
_RESULT_ITEM = Expect(
    {"GET": PUBLIC, "PUT": WRITE, "DELETE": WRITE}, lookup=True, bodies={"PUT": _annotations}
)
_ITEM = Expect({"GET": PUBLIC}, lookup=True)
_LIST = Expect({"GET": PUBLIC})

EXPECTATIONS: dict[str, Expect] = {
    "/api/": Expect({"GET": WRITE}),
    "/api/ping/": _LIST,
    "/api/benchmark-results/": _RESULT_LIST,
    "/api/benchmarks/": _RESULT_LIST,
    "/api/benchmark-results/{id}/": _RESULT_ITEM,
    "/api/benchmarks/{id}/": _RESULT_ITEM,
    "/api/runs/": Expect({"GET": PUBLIC}, query="commit_hash=abc"),
    "/api/runs/{run_id}/": _ITEM,
    "/api/compare/benchmark-results/{ids}/": _ITEM,
    "/api/compare/runs/{ids}/": _ITEM,
    "/api/history/{benchmark_result_id}/": _ITEM,
    "/api/history/download/{benchmark_result_id}/": _ITEM,
    "/api/commits/": _LIST,
    "/api/commits/{id}/": _ITEM,
    "/api/hardware/": _LIST,
    "/api/hardware/{id}/": _ITEM,
    "/api/contexts/": _LIST,
    "/api/contexts/{id}/": _ITEM,
    "/api/info/": _LIST,
    "/api/info/{id}/": _ITEM,
    "/api/users/": Expect({"GET": WRITE, "POST": WRITE}, bodies={"POST": _new_user}),
    "/api/users/{id}/": Expect(
        {"GET": WRITE, "PUT": WRITE, "DELETE": WRITE}, lookup=True, bodies={"PUT": _user_change}
    ),
    "/api/register/": Expect({"POST": PUBLIC}),
    # Routes of other issues, declared ahead so they are enforced the moment they are registered.
    "/api/login/": Expect({"POST": PUBLIC}, bodies={"POST": _login}),
    "/api/logout/": _LIST,
    "/api/google/": _LIST,
    "/api/google/callback": Expect({"GET": PUBLIC}, slashed=False),
    "/api/docs.json": Expect({"GET": PUBLIC}, slashed=False),
    "/api/docs": Expect({"GET": PUBLIC}, slashed=False),
    "/api/redoc": Expect({"GET": PUBLIC}, slashed=False),
}


class _NoDatabase:
    def open(self) -> None: ...

    def close(self) -> None: ...

    def connection(self) -> Any:
        raise AssertionError("collecting routes must not touch the database")


def _registered_app() -> Any:
    return create_app(
        Settings.from_env({"CONBENCH_DB_URL": "postgresql://collect/only"}), _NoDatabase()
    )


_APP = _registered_app()
ROUTES = {route.path: route for route in _APP.route_table.routes if route.surface == "legacy"}
MODERN_PATTERNS = [template_pattern(p) for p in _APP.route_table.modern_paths()]


def _sample(template: str, value: str = PROBE_ID) -> str:
    return re.sub(r"\{[^}]*\}", value, template)


def _cases(predicate: Callable[[str, Expect], list[Any]]) -> list[Any]:
    cases = []
    for path in sorted(ROUTES):
        expect = EXPECTATIONS.get(path)
        if expect is not None:
            cases.extend(predicate(path, expect))
    return cases


def _assert_error_shape(resp: Any, status: int) -> dict:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/json")
    assert set(resp.json) == {"code", "name", "description"}
    assert resp.json["code"] == status
    return resp.json


@pytest.fixture
def app(settings, db):  # type: ignore[no-untyped-def]
    """The app with the operator token configured (requests without it have no principal)."""
    return create_app(dataclasses.replace(settings, api_token=TOKEN), db)


@pytest.fixture
def anonymous(app):  # type: ignore[no-untyped-def]
    return testing.TestClient(app)


@pytest.fixture
def writer(app):  # type: ignore[no-untyped-def]
    return testing.TestClient(app, headers={"Authorization": f"Bearer {TOKEN}"})


def test_every_legacy_route_declares_its_expectations():
    missing = sorted(set(ROUTES) - set(EXPECTATIONS))
    assert not missing, f"legacy routes without an entry in EXPECTATIONS: {missing}"


def test_the_table_holds_the_core_legacy_routes():
    assert {"/api/", "/api/benchmark-results/", "/api/runs/{run_id}/", "/api/users/{id}/"} <= set(
        ROUTES
    )


@pytest.mark.parametrize("path", sorted(ROUTES))
def test_route_serves_exactly_the_declared_methods(path):
    expect = EXPECTATIONS.get(path)
    if expect is None:
        pytest.fail(f"{path} has no expectation")
    served = {
        method
        for method, responder in falcon.routing.map_http_methods(ROUTES[path].resource).items()
        if method in METHODS
    }
    assert served == set(expect.methods), path


@pytest.mark.parametrize("path", sorted(ROUTES))
def test_wrong_method_is_405_with_allow(anonymous, path):
    expect = EXPECTATIONS.get(path) or pytest.fail(f"{path} has no expectation")
    wrong = next(m for m in METHODS if m not in expect.methods)
    resp = anonymous.simulate_request(wrong, _sample(path))
    body = _assert_error_shape(resp, 405)
    assert body["description"] == DEFAULT_DESCRIPTIONS[405]
    allowed = {m.strip() for m in resp.headers["allow"].split(",")}
    assert set(expect.methods) <= allowed


@pytest.mark.parametrize(
    ("path", "method"),
    _cases(lambda p, e: [(p, m) for m, auth in e.methods.items() if auth == WRITE]),
)
def test_write_without_a_principal_is_401(anonymous, path, method):
    resp = anonymous.simulate_request(method, _sample(path), json={})
    body = _assert_error_shape(resp, 401)
    assert body["description"] == DEFAULT_DESCRIPTIONS[401]


@pytest.mark.parametrize(
    ("path", "method"), _cases(lambda p, e: [(p, m) for m in e.methods] if e.lookup else [])
)
def test_unknown_id_is_404_with_the_error_shape(writer, path, method):
    resp = writer.simulate_request(method, _sample(path), json={})
    _assert_error_shape(resp, 404)


@pytest.mark.parametrize(("path", "method"), _cases(lambda p, e: [(p, m) for m in e.bodies]))
def test_an_unknown_body_field_is_400(writer, conn, path, method):
    path_value, body = EXPECTATIONS[path].bodies[method](conn)
    body[EXTRA] = 1
    resp = writer.simulate_request(method, _sample(path, path_value or PROBE_ID), json=body)
    description = _assert_error_shape(resp, 400)["description"]
    assert description[EXTRA] == ["Unknown field."]


@pytest.mark.parametrize("path", _cases(lambda p, e: [p] if e.slashed else []))
def test_slashed_form_is_served_and_slashless_form_redirects_or_is_modern(anonymous, path):
    expect = EXPECTATIONS[path]
    method = next(iter(expect.methods))
    slashed = _sample(path)
    assert slashed.endswith("/")
    # Falcon's router (public class, private attribute) says which template serves the path.
    assert _APP._router.find(slashed)[3] == path
    served = anonymous.simulate_request(method, slashed, query_string=expect.query)
    assert served.status_code not in (308, 405), served.text
    slashless = slashed.rstrip("/")
    resp = anonymous.simulate_request(method, slashless, query_string="probe=1")
    if any(pattern.fullmatch(slashless) for pattern in MODERN_PATTERNS):
        assert resp.status_code != 308
    else:
        assert resp.status_code == 308
        assert resp.headers["location"] == f"{slashed}?probe=1"


def test_routes_declared_without_slash_have_no_slashed_twin(anonymous):
    for path in _cases(lambda p, e: [] if e.slashed else [p]):
        assert not path.endswith("/")
        _assert_error_shape(anonymous.simulate_get(path + "/"), 404)
