#!/usr/bin/env python3
"""Measure result ingestion through a real `conbench serve`: single POSTs and bulk arrays.

Starts an embedded PostgreSQL and `conbench serve --workers 4` (or targets `--server URL`), then
posts distinct, realistic results (several runs, machines, contexts and case permutations):
one result per request on the legacy and the modern route at concurrency 1 and 8, then bulk
arrays on `POST /api/results`. Prints results/s, request latency p50/p99 and, for a local server,
the server's CPU milliseconds per result (gunicorn workers plus every PostgreSQL process).

Usage: scripts/bench/ingest.py [--results N] [--bulk-results N] [--bulk-size N] [--server URL]
       [--only TEXT] [--cold]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import selectors
import socket
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from tests import procs  # noqa: E402

TOKEN = "bench-operator-token"
CLK_TCK = os.sysconf("SC_CLK_TCK")
MACHINES = [
    ("bench-runner-a", 8, 16, 34359738368, "x86_64", "AMD EPYC 7B13"),
    ("bench-runner-b", 4, 8, 17179869184, "x86_64", "Intel Xeon @ 2.20GHz"),
    ("bench-runner-c", 10, 10, 34359738368, "arm64", "Apple M1 Pro"),
]
CONTEXTS = [
    {"benchmark_language": "Python", "arrow_compiler_id": "GNU", "arrow_version": "15.0.0"},
    {"benchmark_language": "C++", "arrow_compiler_id": "Clang", "arrow_version": "15.0.0"},
]
DATASETS = ["nyctaxi_sample", "fanniemae_sample", "chi_traffic_sample", "tpch_1"]


def machine_info(index: int) -> dict:
    name, cores, threads, memory, arch, cpu = MACHINES[index]
    return {
        "name": name, "architecture_name": arch, "kernel_name": "6.1.0-18-amd64",
        "os_name": "Linux", "os_version": "12", "cpu_model_name": cpu,
        "cpu_l1d_cache_bytes": "49152", "cpu_l1i_cache_bytes": "32768",
        "cpu_l2_cache_bytes": "524288", "cpu_l3_cache_bytes": "33554432",
        "cpu_core_count": str(cores), "cpu_thread_count": str(threads),
        "cpu_frequency_max_hz": "0", "memory_bytes": str(memory), "gpu_count": "0",
        "gpu_product_names": [],
    }  # fmt: skip


CASE_CYCLE = math.lcm(7, 4, 3, 50)  # distinct benchmark cases of `payload` (the moduli of its tags)


def payload(n: int, rng: random.Random, *, key: str | None) -> dict:
    """The n-th distinct result: 50 per run; runs rotate over machines, contexts and commits; the
    benchmark case repeats every CASE_CYCLE results."""
    run = n // 50
    sha = f"{run // 4:040x}"
    mean = rng.uniform(0.01, 5.0)
    data = [round(mean * rng.uniform(0.95, 1.05), 6) for _ in range(rng.choice((3, 5, 10)))]
    body = {
        "run_id": f"bench-run-{run:06d}",
        "run_name": f"commit: {sha}",
        "run_reason": "commit",
        "run_tags": {"arch": MACHINES[run % 3][4]},
        "batch_id": uuid.UUID(int=rng.getrandbits(128)).hex,
        "timestamp": f"2024-02-{1 + run % 28:02d}T{n % 24:02d}:{n % 60:02d}:00.123456+00:00",
        "tags": {
            "name": f"file-read-{n % 7}",
            "dataset": DATASETS[n % 4],
            "compression": ("snappy", "zstd", "none")[n % 3],
            "iterations": str(n % 50),
        },
        "context": CONTEXTS[run % 2],
        "info": {"arrow_version": "15.0.0", "arrow_git_revision": sha},
        "optional_benchmark_info": {},
        "machine_info": machine_info(run % 3),
        "github": {
            "repository": "https://github.com/apache/arrow",
            "commit": sha,
            "pr_number": None,
            "branch": None,
        },
        "stats": {
            "data": data,
            "unit": "s",
            "times": data,
            "time_unit": "s",
            "iterations": len(data),
        },
    }
    if key is not None:
        body["submission_key"] = key
    return body


@dataclass
class Phase:
    name: str
    path: str
    bodies: list[bytes]  # one request each
    results: int
    concurrency: int
    method: str = "POST"
    expect: int = 201


@dataclass
class Outcome:
    seconds: float
    latencies: list[float]
    cpu_app: float | None  # seconds of the gunicorn workers
    cpu_db: float | None  # seconds of the PostgreSQL processes
    cpu_client: float  # seconds of this load generator (all its threads)


class Poster:
    """Raw-socket posting of pre-built requests from one thread: the load generator shares the
    machine's two cores with the server, so every microsecond it spends is taken from the figure
    measured.
    Each request asks for `Connection: close` (a sync worker closes anyway) and its response is
    read to the end of the stream; only the status line is parsed."""

    def __init__(self, base: str, token: str) -> None:
        parts = urlsplit(base)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.token = token

    def request(self, method: str, path: str, body: bytes) -> bytes:
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
            f"Authorization: Bearer {self.token}\r\nConnection: close\r\n"
        )
        if body:
            head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        return head.encode() + b"\r\n" + body

    def run(self, phase: Phase) -> tuple[float, list[float]]:
        """Keep `phase.concurrency` requests in flight from one thread (an epoll loop): no
        interpreter-lock hand-offs between client threads."""
        pending = [self.request(phase.method, phase.path, b) for b in phase.bodies]
        pending.reverse()
        expect = f" {phase.expect} ".encode()
        latencies: list[float] = []
        selector = selectors.DefaultSelector()

        def start() -> None:
            request = pending.pop()
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setblocking(False)
            sock.connect_ex((self.host, self.port))
            state = [request, [], time.perf_counter()]
            selector.register(sock, selectors.EVENT_WRITE, state)

        started = time.perf_counter()
        for _ in range(min(phase.concurrency, len(pending))):
            start()
        while selector.get_map():
            for key, _ in selector.select():
                sock, state = key.fileobj, key.data
                assert isinstance(sock, socket.socket)
                if state[0]:  # still sending
                    sent = sock.send(state[0])
                    state[0] = state[0][sent:]
                    if not state[0]:
                        selector.modify(sock, selectors.EVENT_READ, state)
                    continue
                chunk = sock.recv(65536)
                if chunk:
                    state[1].append(chunk)
                    continue
                latencies.append(time.perf_counter() - state[2])
                selector.unregister(sock)
                sock.close()
                response = b"".join(state[1])
                if response[8:13] != expect:
                    raise SystemExit(f"{phase.name}: {response[:400]!r}")
                if pending:
                    start()
        return time.perf_counter() - started, latencies


def cpu_seconds(pids: Callable[[], list[int]]) -> float:
    total = 0
    for pid in pids():
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / CLK_TCK


Pids = tuple[Callable[[], list[int]], Callable[[], list[int]]]  # (app, database)


def measure(poster: Poster, phase: Phase, pids: Pids | None) -> Outcome:
    client_before = time.process_time()
    if pids is None:
        elapsed, latencies = poster.run(phase)
        return Outcome(elapsed, latencies, None, None, time.process_time() - client_before)
    app_before, db_before = cpu_seconds(pids[0]), cpu_seconds(pids[1])
    elapsed, latencies = poster.run(phase)
    app, db = cpu_seconds(pids[0]) - app_before, cpu_seconds(pids[1]) - db_before
    return Outcome(elapsed, latencies, app, db, time.process_time() - client_before)


def report(phase: Phase, out: Outcome) -> None:
    lat = sorted(out.latencies)
    p50 = statistics.median(lat) * 1000
    p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000
    units = phase.results or len(phase.bodies)  # the ping baseline counts requests
    cpu = "n/a"
    if out.cpu_app is not None and out.cpu_db is not None:
        app, db = (1000 * x / units for x in (out.cpu_app, out.cpu_db))
        cpu = f"{app + db:.3f} ms/result (app {app:.3f} + postgres {db:.3f})"
    rate = units / out.seconds
    client = 1000 * out.cpu_client / units
    print(
        f"{phase.name:<28} {units:>6} results {rate:>7.0f}/s"
        f"  p50 {p50:7.2f} ms  p99 {p99:7.2f} ms  server CPU {cpu}  client CPU {client:.3f} ms",
        flush=True,
    )


def local_server(
    workers: int, tmp: Path
) -> tuple[str, Pids, Callable[[], None], Callable[[], int]]:
    """Embedded PostgreSQL, a migrated database and `conbench serve` on it; returns (url, pids,
    stop, count of stored results)."""
    from conbench.embedded_pg import EmbeddedPostgres
    from conbench.migrate import run_migrations

    pg = EmbeddedPostgres(tmp / "pg")
    server, _ = pg.start()
    import psycopg

    with psycopg.connect(server.url(), autocommit=True) as conn:
        conn.execute("CREATE DATABASE bench")
    db_url = server.socket_url("bench")  # a server on the same host: through the Unix socket
    run_migrations(db_url)
    env = procs.base_env(CONBENCH_DB_URL=db_url, CONBENCH_API_TOKEN=TOKEN)
    served = procs.start(["serve", "--workers", str(workers)], env, tmp / "serve.log")

    def app_pids() -> list[int]:
        return procs.children(served.proc.pid)

    def db_pids() -> list[int]:
        return [server.pid, *procs.children(server.pid)]

    def stop() -> None:
        served.stop()
        pg.stop()

    def count() -> int:
        with psycopg.connect(db_url) as conn:
            row = conn.execute("SELECT count(*) FROM benchmark_result").fetchone()
        return int(row[0]) if row else 0

    return served.base_url, (app_pids, db_pids), stop, count


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument(
        "--results", type=int, default=4000, help="results per single-POST phase at concurrency 8"
    )
    parser.add_argument("--bulk-results", type=int, default=40000, help="results per bulk phase")
    parser.add_argument("--bulk-size", type=int, default=1000, help="results per bulk request")
    parser.add_argument(
        "--workers", type=int, default=4, help="gunicorn workers of the local server"
    )
    parser.add_argument("--server", help="benchmark this server instead (no CPU figures)")
    parser.add_argument("--token", default=TOKEN, help="bearer token for --server")
    parser.add_argument(
        "--no-keys", action="store_true", help="modern posts without submission_key"
    )
    parser.add_argument(
        "--only", metavar="TEXT", help="run only the phases whose name contains TEXT"
    )
    parser.add_argument(
        "--cold",
        action="store_true",
        help="warm up with 200 results instead of one of each benchmark case (most results of "
        "the first phases then create their case)",
    )
    args = parser.parse_args()

    rng = random.Random(20240201)
    counter = iter(range(10**9))

    def bodies(n: int, *, keys: bool) -> list[dict]:
        out = []
        for _ in range(n):
            i = next(counter)
            out.append(payload(i, rng, key=f"bench-{i}" if keys and not args.no_keys else None))
        return out

    def encode(doc: object) -> bytes:
        return json.dumps(doc).encode()

    # The warm-up posts every benchmark case once, as a deployment's earlier runs have: the phases
    # then measure a running server, whose results mostly come under cases that exist already.
    warm = CASE_CYCLE if not args.cold else 200
    warmup = Phase(
        "warm-up", "/api/results", [encode(b) for b in bodies(warm, keys=False)], warm, 8
    )
    single_c1 = max(200, args.results // 8)
    phases = [
        Phase("baseline GET /api/ping c=8", "/api/ping", [b""] * args.results, 0, 8, "GET", 200)
    ]
    for route, path, keys in (
        ("legacy", "/api/benchmark-results/", False),
        ("modern", "/api/results", True),
    ):
        for concurrency, n in ((1, single_c1), (8, args.results)):
            encoded = [encode(b) for b in bodies(n, keys=keys)]
            phases.append(Phase(f"{route} single c={concurrency}", path, encoded, n, concurrency))
    for concurrency in (1, 2):
        docs = bodies(args.bulk_results, keys=True)
        size = args.bulk_size
        chunks = [encode(docs[i : i + size]) for i in range(0, len(docs), size)]
        name = f"modern bulk {size}/req c={concurrency}"
        phases.append(Phase(name, "/api/results", chunks, len(docs), concurrency))
    phases = [p for p in phases if not args.only or args.only in p.name]

    with tempfile.TemporaryDirectory(prefix="conbench-bench-ingest-") as tmp:
        if args.server:
            base, pids, stop, count = args.server.rstrip("/"), None, lambda: None, None
        else:
            base, pids, stop, count = local_server(args.workers, Path(tmp))
        try:
            poster = Poster(base, args.token if args.server else TOKEN)
            poster.run(warmup)
            print(
                f"server {base}, {os.cpu_count()} CPUs; warmed up with {warmup.results} results;"
                " every phase posts distinct results"
            )
            for phase in phases:
                report(phase, measure(poster, phase, pids))
            if count is not None:
                expected = warmup.results + sum(p.results for p in phases)
                stored = count()
                print(f"rows stored: {stored} (expected {expected})")
                if stored != expected:
                    raise SystemExit("row count mismatch")
        finally:
            stop()


if __name__ == "__main__":
    main()
