"""`conbench auth login|token list|token revoke`: the client side of the CLI loopback login and
of token management (02 §14).

`login` listens on 127.0.0.1 for the browser's return with a one-time code, checks the state it
sent, exchanges the code for an API token and stores `{server: token}` in
`<user config dir>/conbench/credentials.json` (directory 0700, file 0600). `resolve_token` is
the one place that picks a token: `--token`, then CONBENCH_TOKEN, then that file.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import secrets
import socket
import sys
import tempfile
import threading
import webbrowser
from datetime import date
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import requests

from conbench.cli import Env, UsageError

TIMEOUT = (5.0, 30.0)  # connect, read
CALLBACK_PATH = "/callback"
_DONE_PAGE = b"<!doctype html><title>Conbench</title><p>%s You can close this window.</p>"


class LoginFailed(Exception):
    """The loopback login did not produce a token: exit 1."""


def credentials_path(env: Env) -> Path:
    """`$XDG_CONFIG_HOME/conbench/credentials.json`, else `~/.config/conbench/credentials.json`."""
    base = env.get("XDG_CONFIG_HOME") or str(Path(env.get("HOME") or Path.home()) / ".config")
    return Path(base) / "conbench" / "credentials.json"


def load_credentials(env: Env) -> dict[str, str]:
    """The stored `{server: token}` map; empty when there is no (readable, valid) file."""
    try:
        doc = json.loads(credentials_path(env).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {k: v for k, v in doc.items() if isinstance(v, str)} if isinstance(doc, dict) else {}


def save_credentials(env: Env, server: str, token: str) -> Path:
    """Store the token for `server`, keeping other servers' tokens; the file is replaced
    atomically and never readable by others, even for a moment."""
    path = credentials_path(env)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    stored = {**load_credentials(env), server: token}
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=".credentials-", suffix=".json")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:  # mkstemp creates it 0600
            json.dump(stored, handle, indent=2, sort_keys=True)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    os.chmod(path, 0o600)
    return path


def resolve_token(env: Env, server: str, flag: str | None) -> str | None:
    """`--token`, else CONBENCH_TOKEN, else the credentials file's token for `server`."""
    return flag or env.get("CONBENCH_TOKEN") or load_credentials(env).get(server) or None


def server_url(env: Env, flag: str | None) -> str:
    """`--server`, else CONBENCH_URL: an http(s) URL without a trailing slash."""
    url = flag or env.get("CONBENCH_URL")
    if not url:
        raise UsageError("no server: pass --server URL or set CONBENCH_URL")
    if not url.startswith(("http://", "https://")):
        raise UsageError(f"server must be an http(s) URL, got {url!r}")
    return url.rstrip("/")


def cmd_auth_login(env: Env, args: argparse.Namespace) -> int:
    try:
        server = server_url(env, args.server)
    except UsageError as exc:
        print(f"usage error: {exc}", file=sys.stderr)
        return 2
    try:
        token = _login(server, timeout=args.timeout, open_browser=not args.no_browser)
        path = save_credentials(env, server, token["token"])
    except LoginFailed as exc:
        print(f"login error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"login error: cannot write the credentials file: {exc}", file=sys.stderr)
        return 1
    summary = {"server": server, "token_id": token["id"], "token_name": token["name"]}
    print(json.dumps({**summary, "prefix": token["prefix"], "credentials": str(path)}), flush=True)
    return 0


def _login(server: str, *, timeout: float, open_browser: bool) -> dict[str, Any]:
    state = base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode()
    listener = LoopbackListener(state)
    try:
        query = urlencode({"redirect_uri": listener.redirect_uri, "state": state})
        url = f"{server}/api/auth/cli-start?{query}"
        print(f"Open this URL in a browser to sign in:\n{url}", file=sys.stderr, flush=True)
        if open_browser:
            try:
                webbrowser.open(url)
            except webbrowser.Error:
                pass
        code = listener.wait(timeout)
    finally:
        listener.close()
    name = f"cli {socket.gethostname()} {date.today().isoformat()}"
    try:
        resp = requests.post(
            f"{server}/api/auth/cli-exchange", json={"code": code, "name": name}, timeout=TIMEOUT
        )
    except requests.RequestException as exc:
        raise LoginFailed(f"cannot reach {server}: {type(exc).__name__}") from None
    if resp.status_code != 200:
        raise LoginFailed(f"code exchange refused: {_http_error(resp)}")
    return resp.json()


class LoopbackListener:
    """A one-shot HTTP server on 127.0.0.1 (a random port) that waits for `?code=&state=`."""

    def __init__(self, state: str) -> None:
        self.state = state
        self.code: str | None = None
        self.error: str | None = None
        self.done = threading.Event()
        listener = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # keep codes off stderr
                pass

            def do_GET(self) -> None:
                listener.handle(self)

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.redirect_uri = f"http://127.0.0.1:{self.server.server_address[1]}{CALLBACK_PATH}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def handle(self, request: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(request.path)
        if parts.path != CALLBACK_PATH or self.done.is_set():
            _answer(request, 404, b"Not found.")
            return
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        if not secrets.compare_digest(query.get("state", "").encode(), self.state.encode()):
            self.error = "the browser returned another state than this login sent"
        elif not query.get("code"):
            self.error = "the browser returned no code"
        else:
            self.code = query["code"]
        if self.code:
            _answer(request, 200, b"Signed in.")
        else:
            _answer(request, 400, b"Sign-in failed.")
        self.done.set()

    def wait(self, timeout: float) -> str:
        if not self.done.wait(timeout):
            raise LoginFailed(f"no sign-in within {timeout:g} seconds")
        if self.code is None:
            raise LoginFailed(self.error or "sign-in failed")
        return self.code

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _answer(request: BaseHTTPRequestHandler, status: int, message: bytes) -> None:
    body = _DONE_PAGE % message
    request.send_response(status)
    request.send_header("Content-Type", "text/html; charset=utf-8")
    request.send_header("Content-Length", str(len(body)))
    request.end_headers()
    request.wfile.write(body)


def cmd_auth_token_list(env: Env, args: argparse.Namespace) -> int:
    resp = _call(env, args, "GET", "/api/tokens")
    if isinstance(resp, int):
        return resp
    tokens = resp.json()["tokens"]
    if args.format == "json":
        print(json.dumps({"tokens": tokens}))
        return 0
    for token in tokens:
        state = f"revoked {token['revoked_at']}" if token.get("revoked_at") else "active"
        used = token.get("last_used_at") or "never used"
        columns = (token["id"], token["prefix"], token["name"], token["created_at"], used, state)
        print("  ".join(columns))
    return 0


def cmd_auth_token_revoke(env: Env, args: argparse.Namespace) -> int:
    resp = _call(env, args, "DELETE", f"/api/tokens/{args.id}")
    if isinstance(resp, int):
        return resp
    if args.format == "json":
        print(json.dumps({"id": args.id, "revoked": True}))
    else:
        print(f"revoked {args.id}")
    return 0


def _call(env: Env, args: argparse.Namespace, method: str, path: str) -> requests.Response | int:
    """The successful response, or the exit code after printing why there is none."""
    try:
        server = server_url(env, args.server)
        token = resolve_token(env, server, args.token)
        if token is None:
            raise UsageError(
                "no token: pass --token, set CONBENCH_TOKEN or run `conbench auth login`"
            )
    except UsageError as exc:
        print(f"usage error: {exc}", file=sys.stderr)
        return 2
    try:
        resp = requests.request(
            method, server + path, headers={"Authorization": f"Bearer {token}"}, timeout=TIMEOUT
        )
    except requests.RequestException as exc:
        print(f"error: cannot reach {server}: {type(exc).__name__}", file=sys.stderr)
        return 1
    if resp.status_code >= 300:
        print(f"error: {_http_error(resp)}", file=sys.stderr)
        return 1
    return resp


def _http_error(resp: requests.Response) -> str:
    try:
        body = resp.json()
    except ValueError:
        body = None
    detail = body.get("detail") or body.get("description") if isinstance(body, dict) else None
    return f"HTTP {resp.status_code}: {detail or resp.reason}"
