"""`conbench serve`: gunicorn run in-process around the Falcon app.

The app is built once in the master (preloaded) and forked; each worker opens its own connection
pool after the fork. PROMETHEUS_MULTIPROC_DIR must be set by the caller before anything imports
prometheus_client (see `prepare_metrics_dir`).
"""

from __future__ import annotations

import gc
import logging
import shutil
import tempfile
from collections.abc import Callable, MutableMapping, Sequence
from pathlib import Path
from typing import Any

from gunicorn.app.base import BaseApplication
from gunicorn.glogging import Logger as GunicornLogger

log = logging.getLogger(__name__)

GRACEFUL_SECONDS = 10
WORKER_TIMEOUT_SECONDS = 90  # above the 60 s statement timeout of the compare routes


def prepare_metrics_dir(env: MutableMapping[str, str]) -> tuple[Path, bool]:
    """An empty directory for multiprocess metrics, exported in `env`; True when created here.

    An operator may choose the directory with PROMETHEUS_MULTIPROC_DIR; its old files are wiped so
    counters restart with the server. Must run before prometheus_client is imported: the client
    picks its storage at import time.
    """
    chosen = env.get("PROMETHEUS_MULTIPROC_DIR")
    if chosen:
        path = Path(chosen)
        path.mkdir(parents=True, exist_ok=True)
        for stale in path.glob("*.db"):
            stale.unlink()
        return path, False
    path = Path(tempfile.mkdtemp(prefix="conbench-metrics-"))
    env["PROMETHEUS_MULTIPROC_DIR"] = str(path)
    return path, True


class _JsonLogger(GunicornLogger):
    """Gunicorn's logger without its own handlers: records go to our JSON handler on the root."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        for logger in (self.error_log, self.access_log):
            for handler in list(logger.handlers):
                logger.removeHandler(handler)
            logger.propagate = True


Hook = Callable[[Any, Any], None]  # (arbiter, worker), called in the worker process


class GunicornServer(BaseApplication):  # type: ignore[misc]
    """A gunicorn application whose WSGI app and hooks come from Python, not a config file.
    Extra `post_fork` hooks run after the pool opens, `worker_exit` hooks as a worker exits."""

    def __init__(
        self,
        wsgi_app: Callable,
        options: dict[str, Any],
        db: Any,
        post_fork: Sequence[Hook] = (),
        worker_exit: Sequence[Hook] = (),
    ) -> None:
        self.wsgi_app = wsgi_app
        self.options = options
        self.db = db
        self.post_fork_hooks = tuple(post_fork)
        self.worker_exit_hooks = tuple(worker_exit)
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            if key in self.cfg.settings:  # settings newer than the installed gunicorn are skipped
                self.cfg.set(key, value)
        self.cfg.set("post_fork", self._post_fork)
        self.cfg.set("child_exit", _child_exit)
        self.cfg.set("worker_exit", self._worker_exit)
        self.cfg.set("logger_class", _JsonLogger)

    def load(self) -> Callable:
        return self.wsgi_app

    def _post_fork(self, server: Any, worker: Any) -> None:
        self.db.open()
        for hook in self.post_fork_hooks:
            hook(server, worker)
        # Everything loaded so far (modules, the app, the pool) lives as long as the worker: out of
        # the collector's sight, a full collection during a big response (a CI report keeps ~9,000
        # row dicts alive) scans ~60k fewer objects (~17 -> a few ms each).
        gc.freeze()

    def _worker_exit(self, server: Any, worker: Any) -> None:
        for hook in self.worker_exit_hooks:
            hook(server, worker)


def _child_exit(server: Any, worker: Any) -> None:
    from conbench import metrics

    metrics.mark_process_dead(worker.pid)


def gunicorn_options(bind: str, workers: int, threads: int) -> dict[str, Any]:
    """Sync workers unless threads > 1 (gthread); see docs/cli.md for why sync is the default."""
    return {
        "bind": bind,
        "workers": workers,
        "threads": threads,
        "worker_class": "gthread" if threads > 1 else "conbench.worker.ConbenchSyncWorker",
        "preload_app": True,
        "graceful_timeout": GRACEFUL_SECONDS,
        "timeout": WORKER_TIMEOUT_SECONDS,
        "keepalive": 5,
        "limit_request_line": 8190,
        "accesslog": None,
        "proc_name": "conbench",
        # gunicorn 24+ opens a control socket in ~/.gunicorn shared by every server of the user;
        # several `conbench serve` on one machine (tests, dev) must not fight over it.
        "control_socket_disable": True,
    }


def run(
    wsgi_app: Callable,
    db: Any,
    bind: str,
    workers: int,
    threads: int,
    hooks: tuple[Sequence[Hook], Sequence[Hook]] = ((), ()),
) -> None:
    """Serve until SIGTERM (graceful, 10 s) or SIGINT; returns only through SystemExit.
    `hooks` are extra (post_fork, worker_exit) hooks, e.g. the backfill worker's."""
    options = gunicorn_options(bind, workers, threads)
    GunicornServer(wsgi_app, options, db, *hooks).run()


def remove_metrics_dir(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
