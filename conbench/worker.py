"""The gunicorn worker `conbench serve` runs: the sync worker with a fast path for plain requests
and corked responses.

A plain request (see `conbench.http_fast`) skips gunicorn's parser, environ builder and response
writer; the worker's loop, limits, signals, timeouts and error pages stay gunicorn's. Any other
request goes to gunicorn's parser with the bytes already read replayed first, as does every
request on TLS, proxy-protocol or uWSGI listeners and on Unix sockets. With an access log or
pre/post-request hooks configured, plain requests are parsed fast and then handled by gunicorn's
`handle_request`, which logs and calls the hooks.
"""

from __future__ import annotations

import errno
import os
import socket
import time
from typing import Any

from gunicorn import util
from gunicorn.http.body import Body, LengthReader
from gunicorn.http.errors import NoMoreData
from gunicorn.http.unreader import SocketUnreader
from gunicorn.http.wsgi import FileWrapper, base_environ
from gunicorn.workers.sync import SyncWorker

from conbench import http_fast

_TCP_CORK = getattr(socket, "TCP_CORK", None)  # Linux only
FIRST_READ = 65536
# The arbiter stops a worker whose heartbeat is older than its timeout (90 s); gunicorn beats
# (a utime() on a file, with its inode update) before every request, this worker once a second.
HEARTBEAT_SECONDS = 1.0


class ConbenchSyncWorker(SyncWorker):  # type: ignore[misc]
    """gunicorn's sync worker with the fast path of `conbench.http_fast`, sending each response
    in as few TCP segments as it can.

    The sync worker writes the headers, then the body, in two sends, and closes the connection
    after every response. With the socket corked, headers, body and FIN leave together when the
    worker shuts the socket down (a shutdown always flushes a cork), which saves two segments'
    worth of kernel work at both ends of every request. A request that expects `100 Continue` is
    left uncorked: that interim response must leave at once.
    """

    _last_beat = float("-inf")

    def notify(self) -> None:
        now = time.monotonic()
        if now - self._last_beat >= HEARTBEAT_SECONDS:
            self._last_beat = now
            super().notify()

    def init_process(self) -> None:
        cfg = self.cfg
        plain = (
            not cfg.is_ssl
            and cfg.proxy_protocol == "off"
            and getattr(cfg, "protocol", "http") == "http"
            and not http_fast.PLAIN_HEADERS & {h.upper() for h in cfg.secure_scheme_headers}
        )
        self.fast_limits = http_fast.Limits.of(cfg) if plain else None
        self.fast_handling = not cfg.accesslog and all(
            getattr(cfg, hook) is cfg.settings[hook].default
            for hook in ("pre_request", "post_request")
        )
        self.fast_base = base_environ(cfg)
        self.script_name = os.environ.get("SCRIPT_NAME", "")
        self.server_addresses: dict[int, Any] = {}
        self.tcp_listeners = {
            s.fileno() for s in self.sockets if s.FAMILY in (socket.AF_INET, socket.AF_INET6)
        }
        super().init_process()

    def handle(self, listener: Any, client: Any, addr: Any) -> None:
        if self.fast_limits is None or listener.fileno() not in self.tcp_listeners:
            super().handle(listener, client, addr)
            return
        try:
            data = client.recv(FIRST_READ)
        except OSError:
            util.close_graceful(client)
            return
        if not data:  # the peer closed without a request: as gunicorn, close quietly
            util.close_graceful(client)
            return
        parsed = http_fast.parse(data, addr, self.fast_limits)
        if parsed is None:
            super().handle(listener, _Replay(client, data), addr)
            return
        req, received = parsed
        try:
            req.body = _body(client, received, req.content_length)
            self.handle_request(listener, req, client, addr)
        except (NoMoreData, StopIteration) as exc:
            self.log.debug("Closing connection. %s", exc)
        except OSError as exc:
            if exc.errno in (errno.EPIPE, errno.ECONNRESET, errno.ENOTCONN):
                self.log.debug("Ignoring socket error %s", exc)
            else:
                self.log.exception("Socket error processing request.")
        except BaseException as exc:
            self.handle_error(req, client, addr, exc)
        finally:
            util.close_graceful(client)

    def handle_request(self, listener: Any, req: Any, client: Any, addr: Any) -> None:
        fast = type(req) is http_fast.FastRequest  # read from a TCP listener
        if (
            _TCP_CORK is not None
            and (fast or client.family in (socket.AF_INET, socket.AF_INET6))
            and not req._expected_100_continue
        ):
            try:
                client.setsockopt(socket.IPPROTO_TCP, _TCP_CORK, 1)
            except OSError:
                pass  # a peer already gone: the request fails as it would have
        if fast and self.fast_handling:
            server = self.server_addresses.get(listener.fileno())
            if server is None:
                server = self.server_addresses[listener.fileno()] = listener.getsockname()
            environ = http_fast.environ(req, client, addr, server, self.fast_base, self.script_name)
            if environ is not None:
                self._handle_plain(req, client, environ)
                return
        super().handle_request(listener, req, client, addr)

    def _handle_plain(self, req: Any, client: Any, environ: dict[str, Any]) -> None:
        """`SyncWorker.handle_request` without the hooks and access log it would skip."""
        resp = http_fast.FastResponse(req, client, self.cfg)
        self.nr += 1
        if self.nr >= self.max_requests:
            self.log.info("Autorestarting worker after current request.")
            self.alive = False
        try:
            respiter = self.wsgi(environ, resp.start_response)
            try:
                if isinstance(respiter, FileWrapper):
                    resp.write_file(respiter)
                else:
                    for item in respiter:
                        resp.write(item)
                resp.close()
            finally:
                if hasattr(respiter, "close"):
                    respiter.close()
        except OSError:
            raise
        except (Exception, SystemExit):
            if resp.headers_sent:  # a 500 now would corrupt the response on the wire
                self.log.exception("Error handling request")
                util.close_graceful(client)
                raise StopIteration() from None
            raise


def _body(client: Any, received: bytes, length: int) -> Any:
    """`wsgi.input`: the bytes at hand, or gunicorn's reader of a body still arriving."""
    if len(received) >= length:
        return http_fast.buffered_body(received, length)
    unreader = SocketUnreader(client)
    unreader.unread(received)
    return Body(LengthReader(unreader, length))


class _Replay:
    """A client socket whose first reads return bytes already taken from it."""

    def __init__(self, sock: Any, data: bytes) -> None:
        self._sock = sock
        self._data = data

    def recv(self, size: int, *flags: int) -> bytes:
        if self._data:
            data, self._data = self._data[:size], self._data[size:]
            return data
        return self._sock.recv(size, *flags)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)
