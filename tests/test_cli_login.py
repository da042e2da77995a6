"""The CLI loopback login (02 §11, §14): `conbench auth login` against two `conbench serve`
processes on one database, behind a proxy that sends the exchange to the other one."""

from __future__ import annotations

import dataclasses
import http.client
import json
import os
import socket
import stat
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import psycopg
import pytest
import requests
from falcon import testing

from conbench import sessions
from conbench.app import create_app
from conbench.commands import auth as cli_auth
from conbench.embedded_pg import free_port
from conbench.queries import auth as queries
from conbench.tokens import code_hash
from tests import procs
from tests.factories import make_user
from tests.idp import SESSION_SECRET, TestIdentityProvider, server_env

EXCHANGE = "/api/auth/cli-exchange"


class RoutingProxy:
    """A reverse proxy on 127.0.0.1 that picks the backend by path, like a Service in front of
    replicas, and records which backend served what."""

    def __init__(self, route: Callable[[str], str]) -> None:
        self.route = route
        self.served: list[tuple[str, str, str]] = []
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                proxy.forward(self)

            do_POST = do_DELETE = do_GET

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def forward(self, request: BaseHTTPRequestHandler) -> None:
        backend = self.route(urlsplit(request.path).path)
        body = request.rfile.read(int(request.headers.get("Content-Length") or 0))
        headers = {k: v for k, v in request.headers.items() if k.lower() != "connection"}
        upstream = http.client.HTTPConnection(*urlsplit(backend).netloc.split(":"), timeout=30)
        upstream.request(request.command, request.path, body or None, headers)
        answer = upstream.getresponse()
        data = answer.read()
        self.served.append((request.command, urlsplit(request.path).path, backend))
        request.send_response(answer.status)
        for name, value in answer.getheaders():
            if name.lower() not in ("connection", "content-length", "transfer-encoding"):
                request.send_header(name, value)
        request.send_header("Content-Length", str(len(data)))
        request.end_headers()
        request.wfile.write(data)
        upstream.close()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@dataclasses.dataclass
class Replicas:
    proxy: RoutingProxy
    first: procs.ServerProcess
    second: procs.ServerProcess
    db_url: str


@pytest.fixture
def replicas(fresh_db_url, tmp_path) -> Iterator[Replicas]:
    """Two servers on one database; the proxy sends the code exchange to the second only."""
    idp = TestIdentityProvider().start()
    ports = free_port(), free_port()
    bases = [f"http://127.0.0.1:{port}" for port in ports]
    proxy = RoutingProxy(lambda path: bases[1] if path == EXCHANGE else bases[0])
    started = []
    try:
        for i, port in enumerate(ports):
            env = server_env(idp, fresh_db_url, proxy.url)
            started.append(procs.start(["serve"], env, tmp_path / f"serve-{i}.log", port))
        yield Replicas(proxy, started[0], started[1], fresh_db_url)
    finally:
        for server in started:
            server.stop()
        proxy.stop()
        idp.stop()


def _cli(*args: str, home: Path) -> subprocess.Popen:
    env = procs.base_env(HOME=str(home), XDG_CONFIG_HOME=str(home / "config"))
    return subprocess.Popen(
        [sys.executable, "-m", "conbench", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _sign_in_url(login: subprocess.Popen) -> str:
    for line in login.stderr:
        if line.startswith("http"):
            return line.strip()
    raise AssertionError("conbench auth login printed no URL")


def _finish(login: subprocess.Popen) -> dict:
    out, err = login.communicate(timeout=30)
    assert login.returncode == 0, err
    return json.loads(out)


@pytest.mark.slow
def test_login_starts_on_one_replica_and_exchanges_on_the_other(replicas, tmp_path):
    login = _cli("auth", "login", "--server", replicas.proxy.url, "--no-browser", home=tmp_path)
    url = _sign_in_url(login)
    browser = requests.Session()
    to_idp = browser.get(url, allow_redirects=False)
    to_callback = browser.get(to_idp.headers["location"], allow_redirects=False)
    to_loopback = browser.get(to_callback.headers["location"], allow_redirects=False)
    assert to_loopback.status_code == 302, to_loopback.text
    assert to_loopback.headers["location"].startswith("http://127.0.0.1:")
    assert browser.get(to_loopback.headers["location"], timeout=10).status_code == 200
    summary = _finish(login)

    first, second = replicas.first.base_url, replicas.second.base_url
    assert ("GET", "/api/auth/cli-start", first) in replicas.proxy.served
    assert ("GET", "/api/auth/callback", first) in replicas.proxy.served
    assert ("POST", EXCHANGE, second) in replicas.proxy.served
    assert not [s for s in replicas.proxy.served if s[1] == EXCHANGE and s[2] == first]

    path = tmp_path / "config" / "conbench" / "credentials.json"
    assert summary["credentials"] == str(path)
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    token = json.loads(path.read_text())[replicas.proxy.url]
    assert token[:8] == summary["prefix"]
    listed = requests.get(
        second + "/api/tokens", headers={"Authorization": f"Bearer {token}"}, timeout=5
    ).json()["tokens"]
    assert listed[0]["name"] == f"cli {socket.gethostname()} {date.today().isoformat()}"


@pytest.mark.slow
def test_a_signed_in_browser_gets_the_code_without_the_provider(replicas, tmp_path):
    browser = requests.Session()
    login_page = browser.get(replicas.proxy.url + "/api/auth/login", allow_redirects=False)
    to_callback = browser.get(login_page.headers["location"], allow_redirects=False)
    assert browser.get(to_callback.headers["location"], allow_redirects=False).status_code == 302
    login = _cli("auth", "login", "--server", replicas.proxy.url, "--no-browser", home=tmp_path)
    to_loopback = browser.get(_sign_in_url(login), allow_redirects=False)
    assert to_loopback.headers["location"].startswith("http://127.0.0.1:")
    browser.get(to_loopback.headers["location"], timeout=10)
    _finish(login)


@pytest.mark.slow
def test_token_list_and_revoke_use_the_stored_credentials(replicas, tmp_path):
    with psycopg.connect(replicas.db_url, autocommit=True, row_factory=psycopg.rows.dict_row) as c:
        token = queries.create_token(c, make_user(c)["id"], "stored")
    env = {"XDG_CONFIG_HOME": str(tmp_path / "config")}
    cli_auth.save_credentials(env, replicas.proxy.url, token["token"])
    server = ("--server", replicas.proxy.url)
    listed = _cli("auth", "token", "list", *server, "--format", "json", home=tmp_path)
    out, err = listed.communicate(timeout=30)
    assert listed.returncode == 0, err
    assert [t["id"] for t in json.loads(out)["tokens"]] == [token["id"]]
    revoked = _cli("auth", "token", "revoke", token["id"], *server, home=tmp_path)
    assert revoked.communicate(timeout=30)[0].strip() == f"revoked {token['id']}"
    again = _cli("auth", "token", "list", *server, home=tmp_path)
    _, err = again.communicate(timeout=30)
    assert again.returncode == 1
    assert "HTTP 401" in err


@pytest.mark.slow
def test_login_refuses_a_browser_return_with_another_state(tmp_path):
    login = _cli("auth", "login", "--server", "http://127.0.0.1:1", "--no-browser", home=tmp_path)
    query = parse_qs(urlsplit(_sign_in_url(login)).query)
    loopback = query["redirect_uri"][0]
    resp = requests.get(loopback, params={"code": "c", "state": "forged"}, timeout=10)
    assert resp.status_code == 400
    _, err = login.communicate(timeout=30)
    assert login.returncode == 1
    assert "another state" in err


def test_login_without_a_server_is_a_usage_error(tmp_path):
    login = _cli("auth", "login", "--no-browser", home=tmp_path)
    _, err = login.communicate(timeout=30)
    assert login.returncode == 2
    assert "CONBENCH_URL" in err


# --- token resolution and the credentials file, in process ---


def test_token_resolution_prefers_flag_then_environment_then_file(tmp_path):
    env = {"XDG_CONFIG_HOME": str(tmp_path)}
    cli_auth.save_credentials(env, "https://a.example", "from-file")
    assert cli_auth.resolve_token(env, "https://a.example", None) == "from-file"
    assert cli_auth.resolve_token(env, "https://b.example", None) is None
    with_env = {**env, "CONBENCH_TOKEN": "from-env"}
    assert cli_auth.resolve_token(with_env, "https://a.example", None) == "from-env"
    assert cli_auth.resolve_token(with_env, "https://a.example", "from-flag") == "from-flag"


def test_credentials_live_under_xdg_config_home_else_home_config(tmp_path):
    assert cli_auth.credentials_path({"XDG_CONFIG_HOME": "/x"}) == Path(
        "/x/conbench/credentials.json"
    )
    assert cli_auth.credentials_path({"HOME": "/h"}) == Path("/h/.config/conbench/credentials.json")


def test_saving_keeps_other_servers_and_tightens_permissions(tmp_path):
    env = {"XDG_CONFIG_HOME": str(tmp_path)}
    (tmp_path / "conbench").mkdir(mode=0o755)
    cli_auth.save_credentials(env, "https://a.example", "one")
    cli_auth.save_credentials(env, "https://b.example", "two")
    path = cli_auth.credentials_path(env)
    assert json.loads(path.read_text()) == {"https://a.example": "one", "https://b.example": "two"}
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["credentials.json"]


# --- the routes, in process ---


@pytest.fixture
def web(settings, db):
    configured = dataclasses.replace(settings, session_secret=SESSION_SECRET)
    return testing.TestClient(create_app(configured, db))


@pytest.mark.parametrize(
    "redirect_uri",
    [
        "http://localhost:5000/cb",
        "https://127.0.0.1:5000/cb",
        "http://127.0.0.1/cb",
        "http://127.0.0.2:5000/cb",
        "http://user@127.0.0.1:5000/cb",
        "http://127.0.0.1:5000",
        "http://127.0.0.1:5000/cb#x",
        "http://127.0.0.1:99999/cb",
        "http://evil.example/?http://127.0.0.1:5000/cb",
        "",
    ],
)
def test_cli_start_refuses_anything_but_a_numeric_loopback_redirect(web, redirect_uri):
    resp = web.simulate_get(
        "/api/auth/cli-start", params={"redirect_uri": redirect_uri, "state": "s"}
    )
    assert resp.status_code == 400
    assert resp.json["detail"] == "invalid redirect_uri"


def test_cli_start_needs_a_state(web):
    resp = web.simulate_get(
        "/api/auth/cli-start", params={"redirect_uri": "http://127.0.0.1:5000/cb"}
    )
    assert resp.status_code == 400


@pytest.mark.parametrize("redirect_uri", ["http://127.0.0.1:5000/cb?x=1", "http://[::1]:5000/"])
def test_cli_start_with_a_session_redirects_a_hashed_one_time_code(web, conn, redirect_uri):
    user = make_user(conn)
    cookie = {"conbench_session": sessions.encode_session(SESSION_SECRET, user["id"])}
    resp = web.simulate_get(
        "/api/auth/cli-start",
        params={"redirect_uri": redirect_uri, "state": "st"},
        cookies=cookie,
    )
    assert resp.status_code == 302
    location = resp.headers["location"]
    assert location.startswith(redirect_uri)
    query = parse_qs(urlsplit(location).query)
    assert query["state"] == ["st"]
    [code] = query["code"]
    [row] = conn.execute("SELECT * FROM cli_login_code WHERE user_id = %s", (user["id"],))
    assert row["code_hash"] == code_hash(code) != code
    assert (row["expires_at"] - row["created_at"]).total_seconds() == 60


def _issue(conn, user_id: str) -> str:
    code = "code-" + os.urandom(8).hex()
    queries.issue_cli_code(conn, user_id, code)
    return code


def test_exchange_answers_a_token_once(web, conn):
    code = _issue(conn, make_user(conn)["id"])
    first = web.simulate_post("/api/auth/cli-exchange", json={"code": code})
    assert first.status_code == 200
    assert first.json["name"] == "cli token"
    assert set(first.json) == {"id", "name", "token", "prefix", "created_at"}
    again = web.simulate_post("/api/auth/cli-exchange", json={"code": code, "name": "x"})
    assert again.status_code == 400
    assert again.json["detail"] == "invalid or expired code"


def test_exchange_of_an_expired_or_unknown_code_is_400(web, conn):
    code = _issue(conn, make_user(conn)["id"])
    conn.execute("UPDATE cli_login_code SET expires_at = expires_at - interval '61 seconds'")
    for attempt in (code, "never-issued"):
        resp = web.simulate_post("/api/auth/cli-exchange", json={"code": attempt})
        assert resp.status_code == 400


@pytest.mark.parametrize(
    "body", [{}, {"code": 1}, {"code": "c", "extra": 1}, {"code": "c", "name": " "}]
)
def test_exchange_with_a_malformed_body_is_422(web, body):
    assert web.simulate_post("/api/auth/cli-exchange", json=body).status_code == 422


def test_issuing_a_code_deletes_expired_codes(conn):
    user = make_user(conn)
    _issue(conn, user["id"])
    conn.execute("UPDATE cli_login_code SET expires_at = expires_at - interval '1 hour'")
    _issue(conn, user["id"])
    assert conn.execute("SELECT count(*) AS n FROM cli_login_code").fetchone()["n"] == 1


def test_concurrent_exchanges_of_one_code_yield_one_token(fresh_db_url):
    with psycopg.connect(fresh_db_url, autocommit=True, row_factory=psycopg.rows.dict_row) as c:
        code = _issue(c, make_user(c)["id"])

    def redeem(_: int) -> bool:
        with psycopg.connect(fresh_db_url, autocommit=True, row_factory=psycopg.rows.dict_row) as c:
            return queries.redeem_cli_code(c, code, "race") is not None

    with ThreadPoolExecutor(8) as pool:
        assert sorted(pool.map(redeem, range(8))) == [False] * 7 + [True]
