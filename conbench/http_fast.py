"""A fast path for plain HTTP/1.x requests and their common responses, beside gunicorn's own.

gunicorn's request parser and response writer are general (proxy protocol, forwarded and scheme
headers, chunked bodies, trailers, `Expect: 100-continue`, obsolete line folding, sendfile, its
configurable policies) and together cost more CPU per request than storing a benchmark result.
The requests our clients send are plain: a request line, a handful of well-known headers, a body
of known length; the responses have a Content-Length. For those:

- `parse` reads the request into a `FastRequest`, shaped like gunicorn's `Request` for the code
  that reads one, or returns None: gunicorn's parser then reads the same bytes and refuses what it
  refuses, with its status codes (see `conbench.worker`);
- `environ` builds the WSGI environ `gunicorn.http.wsgi.create` builds for such a request;
- `FastResponse` writes the bytes gunicorn's `Response` writes for a response with a
  Content-Length, and hands every other response (HEAD, 1xx/204/304, chunked, hop-by-hop
  headers, anything it would refuse) to a gunicorn `Response` before a byte is sent.

tests/test_http_fast.py holds both paths equal on a corpus of requests and responses.
"""

from __future__ import annotations

import io
import re
import time
from dataclasses import dataclass
from typing import Any

from gunicorn import SERVER, util
from gunicorn.http.message import TOKEN_RE, Message
from gunicorn.http.wsgi import HEADER_VALUE_RE, STATUS_RE, Response

# Header names the fast path takes (upper case). Any other name leaves the request to gunicorn:
# forwarding and scheme headers (whose meaning depends on the peer), Transfer-Encoding, Expect,
# Upgrade, names with underscores (gunicorn's header_map policy), and everything unusual.
PLAIN_HEADERS = frozenset(
    {
        "ACCEPT",
        "ACCEPT-ENCODING",
        "ACCEPT-LANGUAGE",
        "AUTHORIZATION",
        "CACHE-CONTROL",
        "CONNECTION",
        "CONTENT-LENGTH",
        "CONTENT-TYPE",
        "COOKIE",
        "DNT",
        "HOST",
        "IF-MODIFIED-SINCE",
        "IF-NONE-MATCH",
        "ORIGIN",
        "PRAGMA",
        "PRIORITY",
        "REFERER",
        "SEC-CH-UA",
        "SEC-CH-UA-MOBILE",
        "SEC-CH-UA-PLATFORM",
        "SEC-FETCH-DEST",
        "SEC-FETCH-MODE",
        "SEC-FETCH-SITE",
        "SEC-FETCH-USER",
        "UPGRADE-INSECURE-REQUESTS",
        "USER-AGENT",
    }
)
PLAIN_METHODS = frozenset({b"GET", b"HEAD", b"POST", b"PUT", b"PATCH", b"DELETE", b"OPTIONS"})
VERSIONS = {b"HTTP/1.1": (1, 1), b"HTTP/1.0": (1, 0)}

# A request target in origin form made of visible ASCII without a fragment.
_TARGET = re.compile(rb"/[\x21-\x22\x24-\x7e]*")
_NAME = re.compile(rb"[A-Za-z0-9-]+")
# Visible ASCII, spaces and tabs: a header value gunicorn keeps byte for byte (after stripping).
_VALUE = re.compile(rb"[\t\x20-\x7e]*")
_DIGITS = re.compile(rb"[0-9]{1,18}")


@dataclass(frozen=True)
class Limits:
    """gunicorn's request limits, as its Message applies them (0 or out of range: its maximum)."""

    request_line: int
    fields: int
    field_size: int

    @classmethod
    def of(cls, cfg: Any) -> Limits:
        line = cfg.limit_request_line
        fields = cfg.limit_request_fields
        size = cfg.limit_request_field_size
        return cls(
            request_line=line if 0 < line <= 8190 else 8190,
            fields=fields if 0 < fields <= 32768 else 32768,
            field_size=size if size > 0 else 8190,
        )


class FastRequest:
    """The parsed request, shaped like gunicorn's `Request` for the code that reads one."""

    scheme = "http"
    fragment = ""
    trailers: tuple = ()
    proxy_protocol_info = None
    _expected_100_continue = False
    req_number = 1

    def __init__(
        self,
        method: str,
        uri: str,
        version: tuple[int, int],
        headers: list[tuple[str, str]],
        peer_addr: Any,
    ) -> None:
        self.method = method
        self.uri = uri
        path, _, query = uri.partition("?")
        self.path = path
        self.query = query
        self.version = version
        self.headers = headers
        self.peer_addr = self.remote_addr = peer_addr
        self.must_close = False
        self.body: Any = None
        self.content_length = 0

    def force_close(self) -> None:
        self.must_close = True

    should_close = Message.should_close


def parse(data: bytes, peer_addr: Any, limits: Limits) -> tuple[FastRequest, bytes] | None:
    """The request at the start of `data` and the body bytes received with it, or None when the
    request is not plain or its head is not complete in `data` (gunicorn then reads it)."""
    end = data.find(b"\r\n\r\n")
    if end < 0:
        return None
    lines = data[:end].split(b"\r\n")
    request_line = lines[0]
    if len(request_line) + 2 > limits.request_line:
        return None
    parts = request_line.split(b" ")
    if len(parts) != 3:
        return None
    method, target, version_text = parts
    version = VERSIONS.get(version_text)
    if version is None or method not in PLAIN_METHODS or not _TARGET.fullmatch(target):
        return None
    if target.startswith(b"//"):
        return None
    if len(lines) - 1 > limits.fields:
        return None
    headers = []
    seen = set()
    length = None
    for line in lines[1:]:
        if len(line) + 2 > limits.field_size:
            return None
        raw_name, colon, raw_value = line.partition(b":")
        if not colon or not _NAME.fullmatch(raw_name) or not _VALUE.fullmatch(raw_value):
            return None
        name = raw_name.upper().decode("ascii")
        if name not in PLAIN_HEADERS or name in seen:
            return None
        seen.add(name)
        value = raw_value.strip(b" \t")
        if name == "CONTENT-LENGTH":
            if not _DIGITS.fullmatch(value):
                return None
            length = int(value)
        headers.append((name, value.decode("ascii")))
    request = FastRequest(
        method.decode("ascii"), target.decode("ascii"), version, headers, peer_addr
    )
    request.content_length = length or 0
    return request, data[end + 4 :]


def buffered_body(received: bytes, length: int) -> io.BytesIO:
    """The body of a request that arrived whole: what `wsgi.input` reads."""
    return io.BytesIO(received[:length])


def environ(
    req: FastRequest, sock: Any, client: Any, server: tuple, base: dict[str, Any], script_name: str
) -> dict[str, Any] | None:
    """The environ gunicorn builds for `req` from a TCP peer `client` on the listener address
    `server`; `base` is `gunicorn.http.wsgi.base_environ(cfg)`. None when the path is outside
    `script_name` (gunicorn answers that with its configuration error)."""
    path = req.path
    if script_name:
        if not path.startswith(script_name):
            return None
        path = path[len(script_name) :]
    env = dict(base)
    env["wsgi.input"] = req.body
    env["gunicorn.socket"] = sock
    env["REQUEST_METHOD"] = req.method
    env["QUERY_STRING"] = req.query
    env["RAW_URI"] = req.uri
    env["SERVER_PROTOCOL"] = f"HTTP/{req.version[0]}.{req.version[1]}"
    for name, value in req.headers:
        if name == "CONTENT-TYPE":
            env["CONTENT_TYPE"] = value
        elif name == "CONTENT-LENGTH":
            env["CONTENT_LENGTH"] = value
        else:
            env["HTTP_" + name.replace("-", "_")] = value
    env["wsgi.url_scheme"] = "http"
    env["REMOTE_ADDR"] = client[0]
    env["REMOTE_PORT"] = str(client[1])
    env["SERVER_NAME"] = server[0]
    env["SERVER_PORT"] = str(server[1])
    env["PATH_INFO"] = util.unquote_to_wsgi_str(path) if "%" in path else path
    env["SCRIPT_NAME"] = script_name
    return env


class FastResponse:
    """gunicorn's `Response` of a sync worker (the connection closes) for a response with a
    Content-Length, written in one send with its first body bytes."""

    def __init__(self, req: FastRequest, sock: Any, cfg: Any) -> None:
        self.req = req
        self.sock = sock
        self.cfg = cfg
        self.head = b""  # status line and headers, until they are sent
        self.length = 0
        self.sent = 0
        self._headers_sent = False
        self._started: tuple[str, list] | None = None
        self.delegate: Response | None = None

    @property
    def headers_sent(self) -> bool:
        if self.delegate is not None:
            return bool(self.delegate.headers_sent)
        return self._headers_sent

    def start_response(self, status: Any, headers: Any, exc_info: Any = None) -> Any:
        if self.delegate is None and self._started is None and exc_info is None:
            head = _head(self.req, status, headers)
            if head is not None:
                self.head, self.length = head
                self._started = (status, headers)
                return self.write
        if self._headers_sent:  # what gunicorn does once its headers are out
            if exc_info:
                raise exc_info[1].with_traceback(exc_info[2])
            raise AssertionError("Response headers already set!")
        return self.gunicorn().start_response(status, headers, exc_info)

    def gunicorn(self) -> Response:
        """The gunicorn Response this one hands over to (nothing has been sent yet)."""
        if self.delegate is None:
            self.delegate = Response(self.req, self.sock, self.cfg)
            self.delegate.force_close()
            if self._started is not None:
                self.delegate.start_response(*self._started)
        return self.delegate

    def write(self, data: Any) -> None:
        if self.delegate is not None:
            self.delegate.write(data)
            return
        if not isinstance(data, bytes):
            self._send_head()
            raise TypeError(f"{data!r} is not a byte")
        remaining = self.length - self.sent
        if len(data) > remaining:
            data = data[: max(remaining, 0)]
        self.sent += len(data)
        if not self._headers_sent:
            data = self.head + data
            self._headers_sent = True
        if data:
            self.sock.sendall(data)

    def write_file(self, respiter: Any) -> None:
        """A `wsgi.file_wrapper` body: gunicorn's sendfile path."""
        self.gunicorn().write_file(respiter)

    def close(self) -> None:
        if self.delegate is not None:
            self.delegate.close()
            return
        self._send_head()

    def _send_head(self) -> None:
        if not self._headers_sent:
            self._headers_sent = True
            self.sock.sendall(self.head)


_date_cache: list[Any] = [None, ""]  # [whole second, its HTTP date]


def _http_date() -> str:
    """gunicorn's Date header value (second resolution), formatted once a second."""
    now = time.time()
    second = int(now)
    if _date_cache[0] != second:
        _date_cache[:] = [second, util.http_date(second)]
    return _date_cache[1]


def _head(req: FastRequest, status: Any, headers: Any) -> tuple[bytes, int] | None:
    """(status line and headers, Content-Length) as gunicorn writes them, for a status and
    headers it accepts, with a Content-Length and a body; None for anything else."""
    if req.method == "HEAD" or not isinstance(status, str) or not STATUS_RE.fullmatch(status):
        return None
    code = status[:3]
    if code < "200" or code in ("204", "304"):
        return None
    length = None
    major, minor = req.version
    lines = [
        f"HTTP/{major}.{minor} {status}\r\nServer: {SERVER}\r\n"
        f"Date: {_http_date()}\r\nConnection: close\r\n"
    ]
    for name, value in headers:
        if not (isinstance(name, str) and isinstance(value, str)):
            return None
        if not TOKEN_RE.fullmatch(name) or not HEADER_VALUE_RE.fullmatch(value):
            return None
        value = value.strip(" \t")
        lname = name.lower()
        if lname == "content-length":
            if length is not None or not value.isdigit() or not value.isascii():
                return None
            length = int(value)
        elif util.is_hoppish(name):
            return None
        lines.append(f"{name}: {value}\r\n")
    if length is None:
        return None
    lines.append("\r\n")
    return "".join(lines).encode("latin-1"), length
