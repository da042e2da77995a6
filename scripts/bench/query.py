#!/usr/bin/env python3
"""Measure every analysis route on a dataset made by scripts/bench/dataset.py (issue 4 targets).

Samples realistic ids from the data (random results, series of ~1,000 points, 200x200 run pairs,
PR and default-branch runs, commits carrying ~4,500 results), then for each route:
- in-process (falcon.testing.TestClient over the real app and connection pool): p50/p99 server
  time over --requests requests, after a warm-up;
- over HTTP against `conbench serve --workers 2` (keep-alive, one client): p50/p99 end to end
  over --http-requests requests, with the workers' RSS before and after;
- the SQL each route runs (captured through a recording connection, named by its sql/*.sql
  query), each statement's EXPLAIN (ANALYZE, BUFFERS): top node, time, buffers, indexes used.
Routes not registered yet are skipped with a note. Prints one table next to the issue's targets.

Usage: scripts/bench/query.py [--results N | --db-url URL] [--requests N] [--http-requests N]
       [--only SUBSTRING] [--no-http] [--no-explain]
"""

from __future__ import annotations

import argparse
import gc
import http.client
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import psycopg

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from conbench import server as conbench_server  # noqa: E402

conbench_server.prepare_metrics_dir(os.environ)  # before anything imports prometheus_client

from conbench.db import Database  # noqa: E402
from conbench.paths import SQL_DIR  # noqa: E402
from conbench.sql import parse_queries  # noqa: E402
from tests import procs  # noqa: E402

DEFAULT_DATA_DIR = Path("/var/tmp/conbench-bench")


@dataclass
class Route:
    """One measured request family: a registered path template and the concrete paths to hit."""

    name: str
    template: str  # as registered in the route table
    target: str  # the target, or "" when it sets none
    limit: tuple[str, float] | None  # ("p50" | "p99", milliseconds)
    paths: list[str]
    size: Callable[[Any], str] = lambda body: ""
    in_process: list[float] = field(default_factory=list)
    first_visits: list[float] = field(default_factory=list)  # each warm-up path's first request
    http: list[float] = field(default_factory=list)
    sizes: list[str] = field(default_factory=list)
    cached: bool = False  # served through a derived cache (lookback distributions, history)
    sql_ms: float | None = None  # EXPLAIN ANALYZE execution time of every statement of a request
    requests: int = 0
    http_requests: int = 0
    note: str = ""


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))]


# ---------------------------------------------------------------- sampling the dataset


def sample(url: str, n: int, rng: random.Random) -> dict[str, Any]:
    """Realistic ids for every route, drawn from the data itself (a few seconds at 10M)."""
    started = time.perf_counter()
    out: dict[str, Any] = {}
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SET TimeZone = 'UTC'")
        total = conn.execute("SELECT reltuples::bigint FROM pg_class "
                             "WHERE oid = 'benchmark_result'::regclass").fetchone()[0]  # fmt: skip
        out["total"] = total
        percent = min(100.0, 100.0 * 20 * n / max(total, 1))
        query = f"SELECT id FROM benchmark_result TABLESAMPLE BERNOULLI ({percent})"
        ids = [row[0] for row in conn.execute(query).fetchall()]
        rng.shuffle(ids)
        out["result_ids"] = ids[:n]
        conn.execute(
            """
            CREATE TEMP TABLE bench_runs AS
            SELECT r.run_id, min(r.commit_id) AS commit_id, min(r.hardware_id) AS hardware_id,
                count(*) AS n, min(r.timestamp) AS started
            FROM benchmark_result AS r
            GROUP BY r.run_id
            """
        )
        # Series whose history (04 §9 membership) is closest to 1,000 points, long ones first
        # (at 10M the apache/arrow series hold ~2,100, the small repository's ~100).
        series = conn.execute(
            """
            SELECT r.history_fingerprint, count(*) AS points
            FROM benchmark_result AS r
            JOIN commit AS c ON c.id = r.commit_id
            WHERE c.sha = c.fork_point_sha AND r.error IS NULL
            GROUP BY r.history_fingerprint
            ORDER BY count(*) < 500, abs(count(*) - 1000), r.history_fingerprint
            LIMIT 20
            """
        ).fetchall()
        out["history_points"] = [points for _fp, points in series]
        pairs = conn.execute(
            """
            SELECT DISTINCT ON (r.history_fingerprint) r.history_fingerprint,
                (array_agg(r.id ORDER BY r.timestamp DESC))[1:2]
            FROM benchmark_result AS r
            JOIN commit AS c ON c.id = r.commit_id
            WHERE r.history_fingerprint = ANY(%s) AND c.sha = c.fork_point_sha
                AND r.error IS NULL
            GROUP BY r.history_fingerprint
            """,
            ([fp for fp, _ in series],),
        ).fetchall()
        out["history_ids"] = [ids[0] for _fp, ids in pairs]
        out["result_pairs"] = [(ids[1], ids[0]) for _fp, ids in pairs]  # (baseline, contender)
        # Run pairs of 200 results each on consecutive default-branch commits of one machine.
        out["run_pairs"] = [tuple(row) for row in conn.execute(
            """
            SELECT baseline, contender FROM (
                SELECT lag(b.run_id) OVER (PARTITION BY b.hardware_id ORDER BY c.timestamp)
                    AS baseline, b.run_id AS contender
                FROM bench_runs AS b
                JOIN commit AS c ON c.id = b.commit_id
                WHERE b.n = 200 AND c.sha = c.fork_point_sha
            ) AS x
            WHERE baseline IS NOT NULL
            ORDER BY random()
            LIMIT %s
            """,
            (n,),
        ).fetchall()]  # fmt: skip
        out["runs"] = [row[0] for row in conn.execute(
            """
            (SELECT b.run_id FROM bench_runs AS b JOIN commit AS c ON c.id = b.commit_id
             WHERE c.sha <> c.fork_point_sha ORDER BY random() LIMIT %(half)s)
            UNION ALL
            (SELECT b.run_id FROM bench_runs AS b JOIN commit AS c ON c.id = b.commit_id
             WHERE c.sha = c.fork_point_sha ORDER BY random() LIMIT %(half)s)
            """,
            {"half": max(1, n // 2)},
        ).fetchall()]  # fmt: skip
        rng.shuffle(out["runs"])
        # Commits carrying ~4,500 results (every machine ran): PR commits first (fork-point
        # baseline), then default-branch ones (parent baseline).
        out["ci_commits"] = conn.execute(
            """
            SELECT c.repository, c.sha, sum(b.n)::int AS results, c.sha <> c.fork_point_sha AS pr
            FROM bench_runs AS b
            JOIN commit AS c ON c.id = b.commit_id
            GROUP BY c.id
            HAVING sum(b.n) BETWEEN 4000 AND 5000
            ORDER BY c.sha <> c.fork_point_sha DESC, random()
            LIMIT 10
            """
        ).fetchall()
        out["repository"] = conn.execute(
            "SELECT commit_repo_url FROM benchmark_result GROUP BY 1 ORDER BY count(*) DESC LIMIT 1"
        ).fetchone()[0]
        out["hardware"] = conn.execute("SELECT name FROM hardware ORDER BY id LIMIT 1").fetchone()[
            0
        ]
    out["seconds"] = time.perf_counter() - started
    return out


def routes(s: dict[str, Any]) -> list[Route]:
    """Every analysis route with its concrete paths (cycled over the requests)."""

    def count(key: str) -> Callable[[Any], str]:
        def size(body: Any) -> str:
            value = body
            for part in key.split("."):
                value = value.get(part) if isinstance(value, dict) else None
            return str(len(value)) if isinstance(value, list) else "?"

        return size

    def ci_rows(body: Any) -> str:
        runs = body.get("runs", []) if isinstance(body, dict) else []
        return f"{sum(len(r.get('comparisons', [])) for r in runs)} rows, {body.get('status')}"

    def ci_path(repository: str, sha: str, pr: bool) -> str:
        extra = "" if pr else "&baseline=parent"
        return f"/api/ci/report?repository={quote(repository, safe='')}&commit_sha={sha}{extra}"

    history_ids, result_ids = s["history_ids"], s["result_ids"]
    pairs, run_pairs = s["result_pairs"], s["run_pairs"]
    repo = quote(s["repository"], safe="")
    listed = [
        Route("result detail (legacy)", "/api/benchmark-results/{id}/", "p50 <= 2 ms",
              ("p50", 2), [f"/api/benchmark-results/{i}/" for i in result_ids]),
        Route("result detail (modern)", "/api/benchmark-results/{id}", "p50 <= 2 ms",
              ("p50", 2), [f"/api/benchmark-results/{i}" for i in result_ids]),
        Route("result list page (legacy, 100)", "/api/benchmark-results/", "", None,
              ["/api/benchmark-results/"], count("data")),
        Route("result list page (modern, run)", "/api/benchmark-results", "", None,
              [f"/api/benchmark-results?run_id={r}" for r in s["runs"]], count("results")),
        Route("history of a series (legacy)", "/api/history/{benchmark_result_id}/",
              "p50 <= 10 ms", ("p50", 10), [f"/api/history/{i}/" for i in history_ids],
              count("data")),
        Route("history of a series (modern)", "/api/history/{benchmark_result_id}",
              "p50 <= 10 ms", ("p50", 10), [f"/api/history/{i}" for i in history_ids],
              count("points")),
        Route("history CSV (legacy)", "/api/history/download/{benchmark_result_id}/", "", None,
              [f"/api/history/download/{i}/" for i in history_ids]),
        Route("compare runs 200x200 (legacy)", "/api/compare/runs/{ids}/", "p50 <= 30 ms",
              ("p50", 30), [f"/api/compare/runs/{b}...{c}/?page_size=500" for b, c in run_pairs],
              count("data")),
        Route("compare results (legacy)", "/api/compare/benchmark-results/{ids}/", "", None,
              [f"/api/compare/benchmark-results/{b}...{c}/" for b, c in pairs]),
        Route("compare results (modern)", "/api/compare/benchmark-results", "", None,
              [f"/api/compare/benchmark-results?baseline={b}&contender={c}" for b, c in pairs]),
        Route("run detail + baselines (legacy)", "/api/runs/{run_id}/", "p99 <= 20 ms",
              ("p99", 20), [f"/api/runs/{r}/" for r in s["runs"]]),
        Route("CI report ~4,500 rows", "/api/ci/report", "<= 150 ms", ("p50", 150),
              [ci_path(r, sha, pr) for r, sha, _n, pr in s["ci_commits"]], ci_rows),
        Route("recent runs", "/api/runs/recent", "<= 30 ms", ("p50", 30),
              ["/api/runs/recent", f"/api/runs/recent?repository={repo}"], count("runs")),
        Route("series browse page", "/api/series", "<= 150 ms", ("p50", 150),
              ["/api/series"], count("series")),
        Route("series search q=file-read", "/api/series", "", None,
              ["/api/series?q=file-read"], count("series")),
        Route("series by hardware", "/api/series", "", None,
              [f"/api/series?hardware={quote(s['hardware'])}"], count("series")),
    ]  # fmt: skip
    for route in listed:  # served through migration 6 and 9's tables
        route.cached = route.name.startswith(("history", "compare", "CI report"))
    return listed


# ---------------------------------------------------------------- SQL capture and plans


class RecordingConnection:
    """A psycopg connection that notes every statement it executes (query text, params)."""

    def __init__(self, conn: psycopg.Connection, log: list[tuple[str, Any]]) -> None:
        self._conn = conn
        self._log = log

    def execute(self, query: Any, params: Any = None, **kwargs: Any) -> Any:
        text = query if isinstance(query, str) else query.as_string(self._conn)
        self._log.append((text, params))
        return self._conn.execute(query, params, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)


class RecordingDatabase(Database):
    """The app's Database whose connections record their statements while `recording` is on."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.log: list[tuple[str, Any]] = []
        self.recording = False

    @contextmanager
    def connection(self, statement_timeout_ms: int | None = None) -> Iterator[Any]:
        with super().connection(statement_timeout_ms) as conn:
            yield RecordingConnection(conn, self.log) if self.recording else conn


def normalized(statement: str) -> str:
    return " ".join(statement.split())


def query_names() -> dict[str, str]:
    """{normalized statement: "module.query_name"} over every sql/<module>.sql."""
    names = {}
    for path in sorted(SQL_DIR.glob("*.sql")):
        if path.name == "schema.sql":
            continue
        for name, statement in parse_queries(path.read_text(), str(path)).items():
            names[normalized(statement)] = f"{path.stem}.{name}"
    return names


def query_name(names: dict[str, str], statement: str) -> str:
    """The named query a statement is (or starts like: some are composed), else its first line."""
    text = normalized(statement)
    if text in names:
        return names[text]
    best = max(names, key=lambda known: len(os.path.commonprefix([known, text])), default="")
    if len(os.path.commonprefix([best, text])) >= 120:
        return names[best] + " (variant)"
    return statement.strip().splitlines()[0][:60]


def plan_summary(
    conn: psycopg.Connection, statement: str, params: Any, verbose: bool
) -> tuple[str, str, float]:
    """(one-line summary, full text plan or "", execution ms): the second of two runs, so that
    catalog and buffer caches are as warm as in a long-running server."""
    explain = "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + statement
    conn.execute(explain, params, prepare=False)
    doc = conn.execute(explain, params, prepare=False).fetchone()[0][0]
    full = ""
    if verbose:
        rows = conn.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, params, prepare=False)
        full = "\n".join("      " + row[0] for row in rows.fetchall())
    top = doc["Plan"]
    indexes: list[str] = []
    seq: list[str] = []

    def walk(node: dict) -> None:
        if "Index Name" in node and node["Index Name"] not in indexes:
            indexes.append(node["Index Name"])
        if node["Node Type"] == "Seq Scan":
            seq.append(f"{node['Relation Name']}({node['Actual Rows'] * node['Actual Loops']})")
        for child in node.get("Plans", []):
            walk(child)

    walk(top)
    node = top["Node Type"] + (f" {top['Strategy']}" if "Strategy" in top else "")
    hit, read = top.get("Shared Hit Blocks", 0), top.get("Shared Read Blocks", 0)
    text = (
        f"{node}, rows {top['Actual Rows']}, exec {doc['Execution Time']:.2f} ms "
        f"(plan {doc['Planning Time']:.2f} ms), buffers hit {hit} read {read}; "
        f"indexes: {', '.join(indexes) or 'none'}"
    )
    if seq:
        text += f"; seq scans: {', '.join(seq)}"
    return text, full, doc["Execution Time"]


def explain_route(
    client: Any, db: RecordingDatabase, url: str, route: Route, verbose: bool
) -> list[str]:
    """Run one request of `route` recording its SQL, then EXPLAIN ANALYZE every statement it ran;
    prints each distinct statement once (with its count and summed time) and sets route.sql_ms."""
    db.log.clear()
    db.recording = True
    try:
        client.simulate_get(route.paths[0])
    finally:
        db.recording = False
    names = query_names()
    first: dict[str, tuple[str, str]] = {}
    spent: dict[str, list[float]] = {}
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SET TimeZone = 'UTC'")
        for statement, params in db.log:
            if "set_config" in statement:
                continue
            try:
                summary, full, exec_ms = plan_summary(
                    conn, statement, params, verbose and statement not in first
                )
            except psycopg.Error as exc:
                summary, full, exec_ms = f"EXPLAIN failed: {str(exc).splitlines()[0]}", "", 0.0
            first.setdefault(statement, (summary, full))
            spent.setdefault(statement, []).append(exec_ms)
    route.sql_ms = sum(sum(times) for times in spent.values())
    lines: list[str] = []
    for statement, (summary, full) in first.items():
        times = spent[statement]
        count = f" x{len(times)} (total {sum(times):.2f} ms)" if len(times) > 1 else ""
        lines.append(f"    {query_name(names, statement)}{count}: {summary}")
        if full:
            lines.append(full)
    return lines


# ---------------------------------------------------------------- measuring


def budgeted(latencies_ms: list[float], requests: int, seconds: float) -> int:
    """How many requests fit in `seconds` at the warm-up's median pace (at least 20)."""
    pace = statistics.median(latencies_ms) / 1000 if latencies_ms else 0.0
    return max(min(requests, 20), min(requests, int(seconds / pace) if pace else requests))


def measure_in_process(client: Any, route: Route, requests: int, seconds: float) -> None:
    warm = []
    first = route.paths[: min(10 if route.cached else 5, len(route.paths))]
    for path in first * 2:  # warm-up: pools, plans, caches
        started = time.perf_counter()
        client.simulate_get(path)
        warm.append((time.perf_counter() - started) * 1000)
    # A path's first request pays what a cache (the lookback and history tables) spares the rest.
    route.first_visits = warm[: len(first)]
    route.requests = budgeted(warm[len(first) :], requests, seconds)
    # A cached route is measured warm, on the paths it has seen; the others on every sampled path.
    paths = first if route.cached else route.paths
    statuses: dict[int, int] = {}
    for i in range(route.requests):
        path = paths[i % len(paths)]
        started = time.perf_counter()
        result = client.simulate_get(path)
        route.in_process.append((time.perf_counter() - started) * 1000)
        statuses[result.status_code] = statuses.get(result.status_code, 0) + 1
        if i < len(route.paths) and result.status_code == 200:
            try:
                route.sizes.append(route.size(result.json))
            except (ValueError, AttributeError):
                pass
        elif result.status_code != 200 and not route.note:
            route.note = f"HTTP {result.status_code}: {result.text[:160]}"
    if set(statuses) != {200}:
        route.note = f"statuses {statuses}; " + route.note


class Client:
    """Keep-alive HTTP/1.1 GETs, reconnecting when the server closes the connection."""

    def __init__(self, base: str) -> None:
        parts = urlsplit(base)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.conn: http.client.HTTPConnection | None = None

    def get(self, path: str) -> int:
        if self.conn is None:
            self.conn = http.client.HTTPConnection(self.host, self.port, timeout=120)
        self.conn.request("GET", path)
        resp = self.conn.getresponse()
        resp.read()
        if resp.getheader("Connection", "").lower() == "close":
            self.conn.close()
            self.conn = None
        return resp.status


def rss_mib(pids: list[int]) -> str:
    sizes = []
    for pid in sorted(pids):
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    sizes.append(f"{int(line.split()[1]) / 1024:.1f}")
        except OSError:
            continue
    return " / ".join(sizes) + " MiB"


def measure_http(url: str, measured: list[Route], rounds: int, workers: int) -> list[str]:
    """`rounds` passes over every route (as many requests as in-process, at most --http-requests
    each), with the workers' RSS after start, warm-up and each pass: flat means no cache grows."""
    notes = []
    with tempfile.TemporaryDirectory(prefix="conbench-bench-query-") as tmp:
        env = procs.base_env(CONBENCH_DB_URL=url, CONBENCH_LOG_LEVEL="WARNING")
        served = procs.start(["serve", "--workers", str(workers)], env, Path(tmp) / "serve.log")
        try:

            def rss(when: str) -> None:
                notes.append(f"worker RSS {when:<18} {rss_mib(procs.children(served.proc.pid))}")

            rss("at start:")
            client = Client(served.base_url)
            for route in measured:
                for path in route.paths[: min(5, len(route.paths))] * 2:
                    client.get(path)
            rss("after warm-up:")
            for n in range(rounds):
                for route in measured:
                    paths = route.paths[:10] if route.cached else route.paths  # as in-process
                    for i in range(route.http_requests):
                        path = paths[i % len(paths)]
                        started = time.perf_counter()
                        client.get(path)
                        route.http.append((time.perf_counter() - started) * 1000)
                rss(f"after pass {n + 1}:")
        finally:
            served.stop()
    return notes


def verdict(route: Route) -> str:
    if route.limit is None or not route.in_process:
        return ""
    which, limit = route.limit
    value = statistics.median(route.in_process) if which == "p50" else percentile(
        route.in_process, 0.99)  # fmt: skip
    return "met" if value <= limit else "MISSED"


def print_table(measured: list[Route], skipped: list[Route]) -> None:
    def ms(values: list[float]) -> str:
        if not values:
            return "-"
        return f"{statistics.median(values):7.1f} /{percentile(values, 0.99):7.1f}"

    head = (f"{'route':<33} {'target':<12} {'n':>4} {'in-process p50/p99':>18} {'SQL':>7} "
            f"{'n':>4} {'HTTP p50/p99':>16}  {'verdict':<7} size")  # fmt: skip
    print(head)
    print("-" * len(head))
    for r in measured:
        sizes = sorted(set(r.sizes), key=lambda s: (len(s), s))
        size = sizes[0] if len(sizes) == 1 else (f"{sizes[0]}..{sizes[-1]}" if sizes else "")
        sql = "-" if r.sql_ms is None else f"{r.sql_ms:7.1f}"
        http_n = len(r.http) or "-"
        print(f"{r.name:<33} {r.target:<12} {r.requests:>4} {ms(r.in_process):>18} {sql:>7} "
              f"{http_n:>4} {ms(r.http):>16}  {verdict(r):<7} {size}")  # fmt: skip
        if r.cached and r.first_visits:
            cold = r.first_visits
            cold_p50, cold_max = statistics.median(cold), max(cold)
            print(f"    cached route, measured warm on {len(cold)} paths; their first requests "
                  f"(cold cache): p50 {cold_p50:.1f}, max {cold_max:.1f}")  # fmt: skip
        if r.note:
            print(f"    note: {r.note}")
    for r in skipped:
        print(f"{r.name:<33} {r.target:<12} skipped: {r.note}")
    print("(milliseconds; verdicts on the in-process figure; SQL = summed EXPLAIN ANALYZE")
    print(" execution time of one request's statements; n = requests measured)")


def empty_caches(url: str) -> str:
    """Delete every stored lookback distribution and history body (tables of migrations 6+)."""
    counts = []
    with psycopg.connect(url, autocommit=True) as conn:
        for table in ("lookback_distribution", "history_cache"):
            if conn.execute("SELECT to_regclass(%s)", (table,)).fetchone()[0] is not None:
                deleted = conn.execute(f"DELETE FROM {table}").rowcount  # noqa: S608
                counts.append(f"{table} {deleted} rows")
    return ", ".join(counts) or "none"


def resolve_url(args: argparse.Namespace) -> str:
    if args.db_url:
        return args.db_url
    from conbench.embedded_pg import EmbeddedPostgres

    server, _ = EmbeddedPostgres(args.data_dir).start()
    return server.url(f"bench_{args.results}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--results",
        type=int,
        default=1_000_000,
        help="which dataset of the embedded server (bench_<results>)",
    )
    parser.add_argument("--db-url", help="measure this database instead")
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    parser.add_argument("--requests", type=int, default=200, help="in-process requests per route")
    parser.add_argument(
        "--seconds", type=float, default=20, help="in-process budget per route (>= 20 requests)"
    )
    parser.add_argument(
        "--http-requests", type=int, default=100, help="HTTP requests per route and pass"
    )
    parser.add_argument("--rounds", type=int, default=2, help="HTTP passes over all routes")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--only", help="measure only routes whose name contains this")
    parser.add_argument("--no-http", action="store_true", help="skip the HTTP measurement")
    parser.add_argument("--no-explain", action="store_true", help="skip the EXPLAIN plans")
    parser.add_argument("--verbose-plans", action="store_true", help="print whole plans too")
    parser.add_argument("--seed", type=int, default=4)
    parser.add_argument(
        "--keep-caches",
        action="store_true",
        help="keep the stored lookback distributions and history (default: empty them first, "
        "so that each warm-up path's first request shows the cold cost)",
    )
    parser.add_argument(
        "--no-migrate", action="store_true", help="measure the schema as it is (no migrator run)"
    )
    args = parser.parse_args()  # fmt: skip

    from falcon import testing

    from conbench.app import create_app
    from conbench.config import Settings

    url = resolve_url(args)
    if not args.no_migrate:
        from conbench.migrate import run_migrations

        progress = lambda msg: print(msg, file=sys.stderr, flush=True)  # noqa: E731
        migrated = run_migrations(url, progress=progress)
        print(f"schema version {migrated.version} (applied now: {migrated.applied or 'none'})")
    if not args.keep_caches:
        print(f"emptied derived caches: {empty_caches(url)}")
    rng = random.Random(args.seed)
    samples = sample(url, max(args.requests, 20), rng)
    print(f"dataset {url.rsplit('/', 1)[-1]}: ~{samples['total']:,} results; sampled ids in "
          f"{samples['seconds']:.1f} s; {os.cpu_count()} CPUs, load average "
          f"{os.getloadavg()[0]:.1f}")  # fmt: skip
    points = samples["history_points"]
    if points:
        print(f"history series: {len(points)} with {min(points)}..{max(points)} points; CI "
              f"commits: {[n for _r, _s, n, _pr in samples['ci_commits']]} results")  # fmt: skip
    with psycopg.connect(url) as conn:
        settings_row = conn.execute(
            "SELECT string_agg(name || '=' || setting || coalesce(unit, ''), ', ') "
            "FROM pg_settings WHERE name IN ('shared_buffers', 'work_mem', "
            "'effective_cache_size', 'random_page_cost', 'server_version')"
        ).fetchone()
    print(f"postgres: {settings_row[0]}")

    settings = Settings.from_env({"CONBENCH_DB_URL": url, "CONBENCH_LOG_LEVEL": "WARNING"})
    db = RecordingDatabase(url)
    app = create_app(settings, db)
    client = testing.TestClient(app)
    gc.freeze()  # as `conbench serve` does in each worker after loading the app (conbench.server)
    registered = {r.path for r in app.route_table.routes}
    measured, skipped = [], []
    for route in routes(samples):
        if args.only and args.only not in route.name:
            continue
        if route.template not in registered:
            route.note = f"{route.template} is not registered yet"
            skipped.append(route)
        elif not route.paths:
            route.note = "no suitable ids in this dataset"
            skipped.append(route)
        else:
            measured.append(route)

    for route in measured:
        measure_in_process(client, route, args.requests, args.seconds)
        route.http_requests = min(route.requests, args.http_requests)
        print(f"  measured {route.name} in-process", file=sys.stderr, flush=True)
    plans: dict[str, list[str]] = {}
    if not args.no_explain:
        for route in measured:
            plans[route.name] = explain_route(client, db, url, route, args.verbose_plans)
    db.close()
    memory = [] if args.no_http else measure_http(url, measured, args.rounds, args.workers)

    print()
    print_table(measured, skipped)
    for line in memory:
        print(line)
    if plans:
        print()
        print("EXPLAIN (ANALYZE, BUFFERS) of each statement, first request of each route:")
        for route in measured:
            print(f"  {route.name}: {route.paths[0]}")
            for line in plans[route.name] or ["    (no SQL captured)"]:
                print(line)


if __name__ == "__main__":
    main()
