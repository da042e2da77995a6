"""The worker's fast path (conbench.http_fast) against gunicorn's own parser and writer.

Each request of the corpus is parsed by both; their WSGI environs must be equal (but for the
objects that cannot be: input stream, error stream, socket, gunicorn's early-hints callback), and
each response is written by both to a recording socket; the bytes must be equal (but for the
Date header). Requests outside the plain subset must be left to gunicorn, and a live server must
answer them through gunicorn's parser.
"""

from __future__ import annotations

import re
import socket

import pytest
from gunicorn.config import Config
from gunicorn.http.parser import RequestParser
from gunicorn.http.wsgi import Response, base_environ, create

from conbench import http_fast, server
from tests import procs

PEER = ("127.0.0.1", 51234)
LISTENER = ("127.0.0.1", 5000)
NOT_COMPARED = {"wsgi.input", "wsgi.errors", "gunicorn.socket", "wsgi.early_hints"}

JSON_POST = (
    b"POST /api/benchmark-results/ HTTP/1.1\r\nHost: localhost:5000\r\n"
    b"User-Agent: python-requests/2.32.3\r\nAccept-Encoding: gzip, deflate\r\nAccept: */*\r\n"
    b"Connection: keep-alive\r\nAuthorization: Bearer abc.def\r\n"
    b"Content-Type: application/json\r\nContent-Length: 16\r\n\r\n"
    b'{"run_id": "r1"}'
)
PLAIN = [
    b"GET /api/ping HTTP/1.1\r\nHost: localhost\r\n\r\n",
    b"GET /api/ping/ HTTP/1.0\r\n\r\n",
    b"GET /api/history/abc?limit=5&cursor=x%20y HTTP/1.1\r\nHost: h:1\r\nAccept: */*\r\n\r\n",
    b"GET /api/x%20y/%C3%A9/%2F HTTP/1.1\r\nHost: h\r\n\r\n",
    b"GET /? HTTP/1.1\r\nhost: lower-case\r\ncookie: a=b; c=d\r\n\r\n",
    b"DELETE /api/benchmark-results/1/ HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n",
    b"HEAD /api/ping HTTP/1.1\r\nHost: h\r\nAccept:\r\n\r\n",
    b"PUT /api/benchmark-results/1/ HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n"
    b"Content-Type:    application/json  \r\n\r\n{}",
    b"GET /c?a=1?b=2 HTTP/1.1\r\nHost: h\r\nReferer: http://x/?q=1\r\nDNT: 1\r\n"
    b'Sec-Fetch-Mode: cors\r\nIf-None-Match: "etag"\r\n\r\n',
    JSON_POST,
]
NOT_PLAIN = {
    "forwarded proto": b"GET / HTTP/1.1\r\nHost: h\r\nX-Forwarded-Proto: https\r\n\r\n",
    "forwarded for": b"GET / HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: 1.2.3.4\r\n\r\n",
    "chunked body": b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    "expect": b"POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n",
    "underscore": b"GET / HTTP/1.1\r\nHost: h\r\nX_Auth: 1\r\n\r\n",
    "repeated": b"GET / HTTP/1.1\r\nHost: h\r\nAccept: a\r\nAccept: b\r\n\r\n",
    "two lengths": b"POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
    "signed length": b"POST / HTTP/1.1\r\nContent-Length: +1\r\n\r\na",
    "folded": b"GET / HTTP/1.1\r\nHost: h\r\nAccept: a\r\n b\r\n\r\n",
    "space before colon": b"GET / HTTP/1.1\r\nHost : h\r\n\r\n",
    "latin-1 value": b"GET / HTTP/1.1\r\nHost: h\r\nUser-Agent: caf\xe9\r\n\r\n",
    "control in value": b"GET / HTTP/1.1\r\nHost: h\r\nUser-Agent: a\x01b\r\n\r\n",
    "absolute form": b"GET http://h/ HTTP/1.1\r\nHost: h\r\n\r\n",
    "double slash": b"GET //x HTTP/1.1\r\nHost: h\r\n\r\n",
    "fragment": b"GET /a#b HTTP/1.1\r\nHost: h\r\n\r\n",
    "lower-case method": b"get / HTTP/1.1\r\nHost: h\r\n\r\n",
    "other method": b"PROPFIND / HTTP/1.1\r\nHost: h\r\n\r\n",
    "HTTP/2.0": b"GET / HTTP/2.0\r\nHost: h\r\n\r\n",
    "HTTP/0.9 line": b"GET /\r\n\r\n",
    "two spaces": b"GET  / HTTP/1.1\r\nHost: h\r\n\r\n",
    "incomplete head": b"GET / HTTP/1.1\r\nHost: h\r\n",
    "long line": b"GET /" + b"a" * 8200 + b" HTTP/1.1\r\n\r\n",
    "long field": b"GET / HTTP/1.1\r\nCookie: " + b"a" * 8200 + b"\r\n\r\n",
    "too many fields": b"GET / HTTP/1.1\r\n" + b"Accept: a\r\n" * 101 + b"\r\n",
    "unknown header": b"GET / HTTP/1.1\r\nHost: h\r\nX-Request-Id: 1\r\n\r\n",
    "no colon": b"GET / HTTP/1.1\r\nHost\r\n\r\n",
}


def gunicorn_config() -> Config:
    cfg = Config()
    for key, value in server.gunicorn_options("127.0.0.1:0", 2, 1).items():
        if key in cfg.settings:
            cfg.set(key, value)
    return cfg


class RecordingSocket:
    def __init__(self) -> None:
        self.sent = bytearray()

    def sendall(self, data: bytes) -> None:
        self.sent += data

    def send(self, data: bytes) -> int:
        self.sent += data
        return len(data)


def gunicorn_request(cfg: Config, data: bytes):  # type: ignore[no-untyped-def]
    return next(RequestParser(cfg, iter([data]), PEER))


def fast_request(cfg: Config, data: bytes) -> http_fast.FastRequest:
    parsed = http_fast.parse(data, PEER, http_fast.Limits.of(cfg))
    assert parsed is not None
    req, received = parsed
    req.body = http_fast.buffered_body(received, req.content_length)
    return req


@pytest.mark.parametrize("data", PLAIN, ids=lambda d: d.split(b"\r\n")[0].decode())
def test_plain_requests_get_gunicorns_environ(data):
    cfg = gunicorn_config()
    sock = RecordingSocket()
    _, expected = create(gunicorn_request(cfg, data), sock, PEER, LISTENER, cfg)
    req = fast_request(cfg, data)
    got = http_fast.environ(req, sock, PEER, LISTENER, base_environ(cfg), "")
    assert got is not None
    assert {k: v for k, v in got.items() if k not in NOT_COMPARED} == {
        k: v for k, v in expected.items() if k not in NOT_COMPARED
    }
    assert got["wsgi.input"].read() == expected["wsgi.input"].read()
    assert set(got) == set(expected) - {"wsgi.early_hints"}


def test_script_name_is_stripped_like_gunicorn_and_paths_outside_it_are_left_to_it():
    cfg = gunicorn_config()
    data = b"GET /conbench/api/ping?x=1 HTTP/1.1\r\nHost: h\r\n\r\n"
    req = fast_request(cfg, data)
    got = http_fast.environ(req, None, PEER, LISTENER, base_environ(cfg), "/conbench")
    assert got is not None
    assert (got["SCRIPT_NAME"], got["PATH_INFO"], got["RAW_URI"]) == (
        "/conbench",
        "/api/ping",
        "/conbench/api/ping?x=1",
    )
    assert http_fast.environ(req, None, PEER, LISTENER, base_environ(cfg), "/other") is None


@pytest.mark.parametrize("name", sorted(NOT_PLAIN))
def test_requests_outside_the_plain_subset_are_left_to_gunicorn(name):
    assert http_fast.parse(NOT_PLAIN[name], PEER, http_fast.Limits.of(gunicorn_config())) is None


def test_a_body_still_arriving_is_reported_by_what_was_received():
    data = b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n0123"
    parsed = http_fast.parse(data, PEER, http_fast.Limits.of(gunicorn_config()))
    assert parsed is not None
    req, received = parsed
    assert (req.content_length, received) == (10, b"0123")


def _respond(resp, status, headers, chunks):  # type: ignore[no-untyped-def]
    """What SyncWorker.handle_request does with a response."""
    write = resp.start_response(status, headers)
    for chunk in chunks:
        write(chunk)
    resp.close()


RESPONSES = [
    ("200 OK", [("Content-Type", "application/json"), ("Content-Length", "2")], [b"{}"]),
    ("201 Created", [("Location", "http://h/api/x/1/"), ("Content-Length", "3")], [b"a", b"bc"]),
    ("200 OK", [("Content-Length", "3")], [b"abcdef", b"gh"]),
    ("200 OK", [("Content-Length", "0")], []),
    ("200 OK", [("Content-Length", "4")], [b"", b"ab", b"cd"]),
    ("404 Not Found", [("content-length", " 2 "), ("Vary", "Accept")], [b"{}"]),
    ("200 OK", [("Content-Type", "text/csv")], [b"a,b\n", b"1,2\n"]),
    ("204 No Content", [("Content-Length", "0")], []),
    ("304 Not Modified", [("Content-Length", "10")], []),
    ("200 OK", [("Connection", "keep-alive"), ("Content-Length", "2")], [b"{}"]),
    ("200 OK", [("Server", "x"), ("Content-Length", "2")], [b"{}"]),
    ("200 OK", [("Content-Length", "1"), ("Content-Length", "1")], [b"a"]),
    ("500 Internal Server Error", [("Content-Length", "2"), ("X-A", "caf\xe9")], [b"{}"]),
]
DATE = re.compile(rb"Date: [^\r]*\r\n")


@pytest.mark.parametrize("method", ["GET", "HEAD", "POST"])
@pytest.mark.parametrize("version", ["1.1", "1.0"])
@pytest.mark.parametrize("status,headers,chunks", RESPONSES)
def test_responses_are_written_as_gunicorn_writes_them(method, version, status, headers, chunks):
    cfg = gunicorn_config()
    data = f"{method} /x HTTP/{version}\r\nHost: h\r\n\r\n".encode()
    theirs, ours = RecordingSocket(), RecordingSocket()
    expected = Response(gunicorn_request(cfg, data), theirs, cfg)
    expected.force_close()
    _respond(expected, status, headers, chunks)
    _respond(http_fast.FastResponse(fast_request(cfg, data), ours, cfg), status, headers, chunks)
    assert DATE.sub(b"", bytes(ours.sent)) == DATE.sub(b"", bytes(theirs.sent))
    assert DATE.search(bytes(ours.sent))


@pytest.mark.parametrize(
    "status,headers",
    [
        ("200 OK", [("Bad Name", "1"), ("Content-Length", "0")]),
        ("200 OK", [("X-Split", "a\r\nb"), ("Content-Length", "0")]),
        ("OK", [("Content-Length", "0")]),
        (200, [("Content-Length", "0")]),
        ("200 OK", [(b"Content-Length", b"0")]),
        ("200 OK", [("Content-Length", "x")]),
    ],
)
def test_refused_responses_raise_what_gunicorn_raises(status, headers):
    cfg = gunicorn_config()
    data = b"GET /x HTTP/1.1\r\nHost: h\r\n\r\n"
    expected = Response(gunicorn_request(cfg, data), RecordingSocket(), cfg)
    with pytest.raises(Exception) as theirs:
        expected.start_response(status, headers)
    ours = http_fast.FastResponse(fast_request(cfg, data), RecordingSocket(), cfg)
    with pytest.raises(type(theirs.value)):
        ours.start_response(status, headers)


def test_a_second_start_response_after_the_headers_left_reraises_or_refuses():
    cfg = gunicorn_config()
    resp = http_fast.FastResponse(
        fast_request(cfg, b"GET /x HTTP/1.1\r\n\r\n"), RecordingSocket(), cfg
    )
    resp.start_response("200 OK", [("Content-Length", "1")])(b"a")
    with pytest.raises(AssertionError):
        resp.start_response("500 Internal Server Error", [])
    try:
        raise ValueError("boom")
    except ValueError as exc:
        with pytest.raises(ValueError, match="boom"):
            resp.start_response("500 Internal Server Error", [], (ValueError, exc, None))


def _raw(base_url: str, data: bytes) -> bytes:
    host, port = base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(data)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def test_a_live_worker_serves_plain_requests_and_hands_the_rest_to_gunicorn(tmp_path):
    env = procs.base_env(
        CONBENCH_DB_URL="postgresql://nobody@127.0.0.1:1/none", CONBENCH_AUTH_DISABLED="true"
    )
    served = procs.start(["serve", "--workers", "1"], env, tmp_path / "serve.log")
    try:
        plain = _raw(served.base_url, b"GET /api/ping HTTP/1.1\r\nHost: h\r\n\r\n")
        assert plain.startswith(b"HTTP/1.1 200 OK\r\nServer: gunicorn\r\n")
        assert b"Connection: close\r\n" in plain and plain.endswith(b"}")
        forwarded = _raw(
            served.base_url, b"GET /api/ping HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: a\r\n\r\n"
        )
        assert forwarded.startswith(b"HTTP/1.1 200 OK\r\n")
        assert forwarded.split(b"\r\n\r\n", 1)[1] == plain.split(b"\r\n\r\n", 1)[1].replace(
            plain.split(b'"date":"')[1][:29], forwarded.split(b'"date":"')[1][:29]
        )
        chunked = _raw(
            served.base_url,
            b"POST /api/ping HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"2\r\n{}\r\n0\r\n\r\n",
        )
        assert chunked.startswith(b"HTTP/1.1 405 ")
        slow = _raw(
            served.base_url,
            b"GET /api/ping HTTP/1.1\r\nHost: h\r\nUser-Agent: " + b"a" * 70000 + b"\r\n\r\n",
        )
        assert slow.startswith(b"HTTP/1.1 431 ")  # gunicorn's own limit on a field's size
        body = b"[" + b"1," * 150_000 + b"1]"  # arrives over many reads
        answer = _raw(
            served.base_url,
            b"POST /api/results HTTP/1.1\r\nHost: h\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n%s" % (len(body), body),
        )
        assert answer.startswith(b"HTTP/1.1 413 ") and b"got 150001" in answer
        refused = _raw(served.base_url, b"GET / HTTP/1.1\r\nBad Header: x\r\n\r\n")
        assert refused.startswith(b"HTTP/1.1 400 ")
    finally:
        served.stop()


@pytest.mark.parametrize("headers", [[("Content-Length", "6")], [("Content-Type", "text/plain")]])
def test_file_wrapper_bodies_are_written_by_gunicorn(headers, tmp_path):
    """A `wsgi.file_wrapper` body goes to gunicorn's sendfile path, after a lean start."""
    import io

    from gunicorn.http.wsgi import FileWrapper

    cfg = gunicorn_config()
    data = b"GET /f HTTP/1.1\r\nHost: h\r\n\r\n"
    theirs, ours = RecordingSocket(), RecordingSocket()
    expected = Response(gunicorn_request(cfg, data), theirs, cfg)
    expected.force_close()
    expected.start_response("200 OK", headers)
    expected.write_file(FileWrapper(io.BytesIO(b"abcdef")))
    expected.close()
    resp = http_fast.FastResponse(fast_request(cfg, data), ours, cfg)
    resp.start_response("200 OK", headers)
    resp.write_file(FileWrapper(io.BytesIO(b"abcdef")))
    resp.close()
    assert DATE.sub(b"", bytes(ours.sent)) == DATE.sub(b"", bytes(theirs.sent))
    assert bytes(ours.sent).endswith(b"abcdef") or b"6\r\nabcdef\r\n" in bytes(ours.sent)


def test_the_date_header_is_gunicorns_formatted_once_a_second(monkeypatch):
    from gunicorn import util

    now = [1_700_000_000.25]
    monkeypatch.setattr(http_fast.time, "time", lambda: now[0])
    first = http_fast._http_date()
    assert first == util.http_date(now[0])
    now[0] += 0.5
    assert http_fast._http_date() is first  # same second: not formatted again
    now[0] += 1
    assert http_fast._http_date() == util.http_date(now[0]) != first
