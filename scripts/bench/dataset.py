#!/usr/bin/env python3
"""Generate a benchmark database shaped like a large Conbench deployment (issue 4, scale benchmark).

Set-based SQL only (INSERT ... SELECT over generate_series), so 1M results take about a minute
and 10M 15-20 minutes on 2 cores. The shape follows Apache Arrow's deployment:
- repository apache/arrow: ~2,000 default-branch commits (8 h apart from 2023-06-10, parents,
  `sha = fork_point_sha`), ~300 PR branches of 1-4 commits forking from them, a few commits in the
  "unknown" state (no GitHub metadata), plus a small second repository;
- five hardware (four machines, one cluster), four contexts (one per benchmark language), ~4,350
  benchmark cases; each machine runs its own suite (200 / 300 / 1,000 / 1,500 / 1,500 cases), so a
  commit benchmarked everywhere carries 4,500 results, and a run of the first machine 200;
- coverage is nested: every 40th default commit and the "full" PRs are benchmarked by all
  machines, the others by each machine with its own probability, tuned by bisection so the total
  hits --results (the EC2 machines' series reach ~950 points at 1M, every series ~1,950 at 10M);
- runs are `(commit, machine)` (2% re-runs), run_reason "commit" / "pull request" / "manual"
  (a few commitless runs); batches per benchmark name; 0.5% errored results; per-series level
  steps of up to ±30%, a third of them annotated `begins_distribution_change`, rare spikes;
- ids in the uuid7 layout of the result timestamp (03 §1.2), `history_fingerprint` as 03 §2.2.

The database is migrated with the real migrator, loaded with benchmark_result's indexes dropped
and rebuilt with their exact definitions afterwards (and, as a superuser, with triggers off: the
lookback cache's epoch rows are created afterwards), then VACUUM ANALYZEd. Generated once: a
database whose comment records a finished run with the same parameters is reused.

Usage: scripts/bench/dataset.py [--results N] [--data-dir DIR | --db-url URL] [--force]
Prints the database URL on the last line of stdout. The embedded server keeps running for the
next use; `--stop` stops it.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import psycopg
from psycopg import sql

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from conbench.identity import cluster_hash, machine_hash  # noqa: E402
from conbench.migrate import run_migrations  # noqa: E402
from conbench.queries.lookback import reset_after_bulk_load  # noqa: E402

DEFAULT_DATA_DIR = Path("/var/tmp/conbench-bench")
FORMAT_VERSION = 1
DEFAULT_COMMITS = 2000
PR_BRANCHES = 300
FULL_PRS = 6
FULL_EVERY = 40  # every 40th default commit is benchmarked by every machine
PR_COVERAGE = 0.3  # PR commits are benchmarked less often than default-branch commits
ARROW = "https://github.com/apache/arrow"
NANOARROW = "https://github.com/apache/arrow-nanoarrow"

# name, cores, threads, memory, arch, cpu model, suite (first case, case count), coverage weight
MACHINES = [
    ("ec2-m5-4xlarge-us-east-2", 8, 16, 68719476736, "x86_64", "Intel Xeon Platinum 8259CL",
     (0, 200), 20.0),
    ("ec2-c6a-4xlarge-us-east-2", 8, 16, 34359738368, "x86_64", "AMD EPYC 7R13", (0, 300), 20.0),
    ("ursa-i9-9960x", 16, 32, 134979301376, "x86_64", "Intel Core i9-9960X", (300, 1000), 2.0),
    ("ursa-thinkcentre-m75q", 6, 12, 33485860864, "x86_64", "AMD Ryzen 5 PRO 3400GE",
     (1300, 1500), 0.5),
]  # fmt: skip
CLUSTER = ("voltron-arm64-cluster", {"instance": "c7g.4xlarge", "nodes": 4}, (2800, 1500), 0.5)
NANOARROW_SUITE = (4300, 50)  # run by the first machine on every nanoarrow commit
CONTEXTS = [
    {"arrow_compiler_flags": "-fno-omit-frame-pointer", "benchmark_language": "C++"},
    {"arrow_compiler_flags": "-fno-omit-frame-pointer", "benchmark_language": "Python"},
    {"arrow_compiler_flags": "-fno-omit-frame-pointer", "benchmark_language": "R"},
    {"benchmark_language": "Java"},
]
LANGUAGE_VERSIONS = ["GNU 11.4.0", "Python 3.10.12", "R 4.3.1", "OpenJDK 17.0.8"]
NAMES = [
    "file-read", "file-write", "dataset-filter", "dataset-read", "dataset-select",
    "dataset-serialize", "tpch", "wide-dataframe", "partitioned-dataset-filter", "csv-read",
    "json-read", "parquet-read", "parquet-write", "array-ops", "compute-sort", "compute-take",
    "compute-filter", "compute-aggregate", "hash-join", "arrow-flight-get", "ipc-write",
    "ipc-read", "builder-append", "bit-util", "rle-decode", "dictionary-encode", "cast-numeric",
    "string-split", "regex-match", "temporal-extract",
]  # fmt: skip
DATASETS = ["nyctaxi_2010-01", "fanniemae_2016Q4", "chi_traffic_2020_Q1", "type_strings",
            "type_dict", "type_integers", "type_floats", "type_nested"]  # fmt: skip
OPTIONS = ["snappy", "lz4", "zstd", "uncompressed", "gzip"]


def _suites() -> list[tuple[int, int, int, int, float]]:
    """(repo_no, hardware_no, first case, case count, coverage weight) of every suite."""
    suites = [(0, h, m[6][0], m[6][1], m[7]) for h, m in enumerate(MACHINES)]
    suites.append((0, len(MACHINES), CLUSTER[2][0], CLUSTER[2][1], CLUSTER[3]))
    suites.append((1, 0, NANOARROW_SUITE[0], NANOARROW_SUITE[1], 1e9))
    return suites


SETUP = """
CREATE FUNCTION pg_temp.h01(key text) RETURNS float8
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN ('x' || substr(md5(key), 1, 8))::bit(32)::bigint / 4294967296.0;

CREATE FUNCTION pg_temp.sha(key text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN md5(key) || substr(md5('sha' || key), 1, 8);

-- 03 §1.2: T = floor(unix_ns * 2^24 / 10^9); hex(T >> 28) | hex((T >> 12) & 0xFFFF) | 7 |
-- hex(T & 0xFFF) | 8000 (seq 0: results of one T are rare) | 48 random bits.
CREATE FUNCTION pg_temp.uuid7(ts timestamp) RETURNS text
LANGUAGE sql VOLATILE PARALLEL SAFE
RETURN (
    SELECT lpad(to_hex(t >> 28), 8, '0') || lpad(to_hex((t >> 12) & 65535), 4, '0') || '7'
        || lpad(to_hex(t & 4095), 3, '0') || '8000'
        || lpad(to_hex((random() * 281474976710655)::bigint), 12, '0')
    FROM (SELECT floor(extract(epoch FROM ts) * 16777216)::bigint AS t) AS x
);
"""

COMMITS = """
CREATE TEMP TABLE gen_commit AS
WITH defaults AS (
    SELECT
        0 AS repo_no,
        'default' AS kind,
        i AS default_i,
        i AS step_i,
        NULL::int AS pr_no,
        pg_temp.sha('arrow/main/' || i) AS sha,
        pg_temp.sha('arrow/main/' || (i - 1)) AS parent,
        'apache:main' AS branch,
        pg_temp.sha('arrow/main/' || i) AS fork_point_sha,
        TIMESTAMP '2023-06-10' + i * INTERVAL '8 hours'
            + (pg_temp.h01('ts' || i) * 7200)::int * INTERVAL '1 second' AS ts,
        CASE WHEN i %% %(full_every)s = 0 THEN 0 ELSE pg_temp.h01('u' || i) END AS u
    FROM generate_series(0, %(commits)s - 1) AS i
),
prs AS (
    SELECT
        b,
        CASE
            WHEN b < %(full_prs)s THEN (%(commits)s / 2 + b * %(full_every)s)
            ELSE floor(pg_temp.h01('base' || b) * %(commits)s)::int
        END AS base_i,
        1 + floor(pg_temp.h01('n' || b) * 4)::int AS n
    FROM generate_series(0, %(pr_branches)s - 1) AS b
),
pr_commits AS (
    SELECT
        0 AS repo_no,
        'pr' AS kind,
        NULL::int AS default_i,
        p.base_i AS step_i,
        p.b AS pr_no,
        pg_temp.sha('arrow/pr/' || p.b || '/' || j) AS sha,
        CASE WHEN j = 1 THEN d.sha ELSE pg_temp.sha('arrow/pr/' || p.b || '/' || (j - 1)) END
            AS parent,
        'contributor' || (p.b %% 97) || ':feature-' || p.b AS branch,
        d.sha AS fork_point_sha,
        d.ts + j * INTERVAL '2 hours' + INTERVAL '30 minutes' AS ts,
        CASE WHEN p.b < %(full_prs)s THEN 0 ELSE pg_temp.h01('u/pr' || p.b || '/' || j) END AS u
    FROM prs AS p
    JOIN defaults AS d ON d.default_i = p.base_i
    CROSS JOIN LATERAL generate_series(1, p.n) AS j
),
unknown AS (
    SELECT
        0 AS repo_no,
        'unknown' AS kind,
        NULL::int AS default_i,
        %(commits)s - 1 AS step_i,
        NULL::int AS pr_no,
        pg_temp.sha('arrow/unknown/' || k) AS sha,
        NULL AS parent,
        NULL AS branch,
        NULL AS fork_point_sha,
        TIMESTAMP '2023-06-10' + (%(commits)s - 20 + k) * INTERVAL '8 hours' AS ts,
        1.0::float8 AS u
    FROM generate_series(0, 9) AS k
),
nanoarrow AS (
    SELECT
        1 AS repo_no,
        'default' AS kind,
        i AS default_i,
        i * %(commits)s / 100 AS step_i,
        NULL::int AS pr_no,
        pg_temp.sha('nanoarrow/main/' || i) AS sha,
        pg_temp.sha('nanoarrow/main/' || (i - 1)) AS parent,
        'apache:main' AS branch,
        pg_temp.sha('nanoarrow/main/' || i) AS fork_point_sha,
        TIMESTAMP '2023-06-10' + i * (%(commits)s / 100) * INTERVAL '8 hours'
            + INTERVAL '3 hours' AS ts,
        0::float8 AS u
    FROM generate_series(0, 99) AS i
)
SELECT
    row_number() OVER (ORDER BY ts, sha)::int AS no,
    md5('commit/' || sha) AS id,
    all_commits.*
FROM (
    TABLE defaults UNION ALL TABLE pr_commits UNION ALL TABLE unknown UNION ALL TABLE nanoarrow
) AS all_commits
"""

INSERT_COMMITS = """
INSERT INTO commit
    (id, sha, parent, repository, message, author_name, author_login, author_avatar, timestamp,
     branch, fork_point_sha)
SELECT
    c.id,
    c.sha,
    c.parent,
    CASE c.repo_no WHEN 0 THEN %(arrow)s ELSE %(nanoarrow)s END,
    CASE WHEN c.kind = 'unknown' THEN ''
        ELSE 'GH-' || (30000 + c.no) || ': [C++] ' || initcap(replace(
            (ARRAY['add', 'fix', 'speed up', 'refactor', 'document', 'test'])[1 + c.no %% 6]
            || ' ' || (ARRAY['parquet reader', 'compute kernels', 'dataset scanner',
                'IPC writer', 'CSV parser', 'memory pool'])[1 + (c.no / 6) %% 6], ' ', ' '))
    END,
    CASE WHEN c.kind = 'unknown' THEN '' ELSE 'Contributor ' || (c.no %% 211) END,
    CASE WHEN c.kind = 'unknown' THEN NULL ELSE 'contributor' || (c.no %% 211) END,
    CASE WHEN c.kind = 'unknown' THEN NULL
        ELSE 'https://avatars.githubusercontent.com/u/' || (1000 + c.no %% 211) || '?v=4' END,
    CASE WHEN c.kind = 'unknown' THEN NULL ELSE c.ts END,
    c.branch,
    c.fork_point_sha
FROM gen_commit AS c
"""

SERIES = """
CREATE TEMP TABLE gen_series AS
SELECT
    s.repo_no,
    s.hw,
    k AS case_no,
    gc.id AS case_id,
    gc.context_id,
    gc.unit,
    md5(gc.id || gc.context_id || h.hash || s.repository) AS fingerprint,
    CASE gc.unit
        WHEN 's' THEN exp(ln(0.0005) + pg_temp.h01('b' || k || '/' || s.hw) * ln(20000.0))
        WHEN 'B/s' THEN exp(ln(1e7) + pg_temp.h01('b' || k || '/' || s.hw) * ln(1000.0))
        ELSE exp(ln(100.0) + pg_temp.h01('b' || k || '/' || s.hw) * ln(10000.0))
    END AS base,
    floor(pg_temp.h01('step' || k || '/' || s.hw || '/' || s.repo_no) * 2 * %(commits)s)::int
        AS step_i,
    1 + (pg_temp.h01('size' || k || '/' || s.hw) - 0.5) * 0.6 AS step_factor,
    pg_temp.h01('ann' || k || '/' || s.hw) < 0.33 AS annotated
FROM (SELECT * FROM unnest(%(repo_no)s::int[], %(hw)s::int[], %(lo)s::int[], %(count)s::int[],
        %(repositories)s::text[]) AS t (repo_no, hw, lo, count, repository)) AS s
JOIN gen_hardware AS h ON h.no = s.hw
CROSS JOIN LATERAL generate_series(s.lo, s.lo + s.count - 1) AS k
JOIN gen_case AS gc ON gc.no = k
"""

RUNS = """
CREATE TEMP TABLE gen_run AS
WITH covered AS (
    SELECT c.no AS commit_no, c.id AS commit_id, c.repo_no, c.kind, c.step_i, s.hw, s.lo,
        s.count, c.ts, r AS attempt
    FROM gen_commit AS c
    JOIN gen_suite AS s ON s.repo_no = c.repo_no
    CROSS JOIN LATERAL generate_series(
        0, CASE WHEN pg_temp.h01('rerun' || c.sha || s.hw) < 0.02 THEN 1 ELSE 0 END) AS r
    WHERE c.kind <> 'unknown'
        AND c.u < least(1.0, %(c)s * s.weight) * CASE c.kind WHEN 'pr' THEN %(pr)s ELSE 1 END
    UNION ALL
    SELECT c.no, c.id, c.repo_no, c.kind, c.step_i, 0, 0, 200, c.ts, 0
    FROM gen_commit AS c
    WHERE c.kind = 'unknown'
    UNION ALL
    SELECT NULL, NULL, 0, 'manual', %(commits)s - 1, 2, 300, 100,
        TIMESTAMP '2023-06-10' + m * (%(commits)s / 20) * INTERVAL '8 hours', 0
    FROM generate_series(0, 19) AS m
)
SELECT
    row_number() OVER (ORDER BY start_ts, run_id)::int AS no,
    x.*
FROM (
    SELECT
        md5('run/' || coalesce(commit_id, 'manual' || ts) || '/' || hw || '/' || attempt)
            AS run_id,
        commit_no, commit_id, repo_no, kind, step_i, hw, lo, count, ts AS commit_ts,
        ts + INTERVAL '1 hour' + hw * INTERVAL '7 minutes' + attempt * INTERVAL '3 hours'
            AS start_ts,
        CASE kind WHEN 'default' THEN 'commit' WHEN 'manual' THEN 'manual'
            ELSE 'pull request' END AS run_reason
    FROM covered
) AS x
"""

RESULTS = """
INSERT INTO benchmark_result
    (id, case_id, context_id, run_id, unit, time_unit, batch_id, timestamp, iterations,
     min, max, mean, median, stdev, q1, q3, iqr, info_id, error, data, times, validation,
     optional_benchmark_info, change_annotations, run_tags, run_reason, commit_id, hardware_id,
     commit_repo_url, history_fingerprint, submission_key, submission_payload_sha256)
SELECT
    pg_temp.uuid7(v.ts),
    v.case_id,
    v.context_id,
    v.run_id,
    CASE WHEN v.errored THEN NULL ELSE v.unit END,
    CASE WHEN v.errored THEN NULL ELSE 's' END,
    md5(v.run_id || '/' || v.case_name),
    v.ts,
    CASE WHEN v.errored THEN NULL ELSE 3 END,
    CASE WHEN v.errored THEN NULL ELSE least(v.a, v.b, v.c)::numeric END,
    CASE WHEN v.errored THEN NULL ELSE greatest(v.a, v.b, v.c)::numeric END,
    CASE WHEN v.errored THEN NULL ELSE ((v.a + v.b + v.c) / 3)::numeric END,
    CASE WHEN v.errored THEN NULL ELSE v.median::numeric END,
    CASE WHEN v.errored THEN NULL ELSE sqrt(((v.a - (v.a + v.b + v.c) / 3) ^ 2
        + (v.b - (v.a + v.b + v.c) / 3) ^ 2 + (v.c - (v.a + v.b + v.c) / 3) ^ 2) / 2)::numeric
    END,
    CASE WHEN v.errored THEN NULL
        ELSE ((least(v.a, v.b, v.c) + v.median) / 2)::numeric END,
    CASE WHEN v.errored THEN NULL
        ELSE ((greatest(v.a, v.b, v.c) + v.median) / 2)::numeric END,
    CASE WHEN v.errored THEN NULL
        ELSE ((greatest(v.a, v.b, v.c) - least(v.a, v.b, v.c)) / 2)::numeric END,
    v.info_id,
    CASE WHEN v.errored THEN jsonb_build_object(
        'command', 'python -m arrowbench run ' || v.case_name,
        'stderr', 'Error: benchmark process exited with status 1 (' || v.case_name || ')')
    END,
    CASE WHEN v.errored THEN '{}'::numeric[] ELSE ARRAY[v.a, v.b, v.c]::numeric[] END,
    CASE WHEN v.errored THEN '{}'::numeric[]
        ELSE ARRAY[v.a * 1.01, v.b * 1.01, v.c * 1.01]::numeric[] END,
    NULL,
    '{}'::jsonb,
    CASE WHEN v.annotate THEN '{"begins_distribution_change": true}'::jsonb ELSE '{}'::jsonb END,
    jsonb_build_object('name', v.run_reason || ': ' || coalesce(v.sha, 'local'),
        'arrow_compiler_id', 'GNU', 'arrow_compiler_version', '11.4.0'),
    v.run_reason,
    v.commit_id,
    v.hardware_id,
    v.repository,
    v.fingerprint,
    NULL,
    NULL
FROM (
    SELECT
        r.run_id, r.run_reason, r.commit_id, gc.sha, h.id AS hardware_id, s.case_id,
        s.context_id, s.unit, s.fingerprint, cs.name AS case_name,
        CASE r.repo_no WHEN 0 THEN %(arrow)s ELSE %(nanoarrow)s END AS repository,
        md5('info/' || coalesce(r.commit_id, 'none') || '/' || s.context_id) AS info_id,
        r.start_ts + (k - r.lo) * INTERVAL '1.5 seconds'
            + (random() * 999)::int * INTERVAL '1 microsecond' AS ts,
        random() < 0.005 AS errored,
        (r.kind = 'default' AND s.annotated AND r.commit_no = nr.commit_no) AS annotate,
        x.a, x.b, x.c,
        greatest(least(x.a, x.b), least(greatest(x.a, x.b), x.c)) AS median
    FROM gen_run AS r
    CROSS JOIN LATERAL generate_series(r.lo, r.lo + r.count - 1) AS k
    JOIN gen_series AS s ON s.repo_no = r.repo_no AND s.hw = r.hw AND s.case_no = k
    JOIN gen_hardware AS h ON h.no = r.hw
    JOIN gen_case AS cs ON cs.no = k
    LEFT JOIN gen_commit AS gc ON gc.no = r.commit_no
    LEFT JOIN gen_next_run AS nr
        ON nr.repo_no = r.repo_no AND nr.hw = r.hw AND nr.step_i = s.step_i
    CROSS JOIN LATERAL (
        SELECT s.base
            * CASE WHEN r.step_i >= s.step_i THEN s.step_factor ELSE 1 END
            * CASE WHEN random() < 0.002 THEN 1.6 ELSE 1 END
            * CASE WHEN r.kind = 'pr' AND pg_temp.h01('pr' || r.commit_id || k) < 0.05
                THEN 1.15 ELSE 1 END AS level
    ) AS lvl
    CROSS JOIN LATERAL (
        SELECT
            lvl.level * (1 + (random() - 0.5) * 0.04) AS a,
            lvl.level * (1 + (random() - 0.5) * 0.04) AS b,
            lvl.level * (1 + (random() - 0.5) * 0.04) AS c
    ) AS x
    WHERE r.no BETWEEN %(first)s AND %(last)s
) AS v
ORDER BY v.ts
"""

# For each (suite, step index): the first default-branch commit at or after it that the suite's
# machine benchmarked: the commit whose results carry the distribution-change annotation.
NEXT_RUN = """
CREATE TEMP TABLE gen_next_run AS
SELECT DISTINCT ON (s.repo_no, s.hw, s.step_i)
    s.repo_no, s.hw, s.step_i, r.commit_no
FROM (SELECT DISTINCT repo_no, hw, step_i FROM gen_series) AS s
JOIN gen_run AS r
    ON r.repo_no = s.repo_no AND r.hw = s.hw AND r.kind = 'default' AND r.step_i >= s.step_i
ORDER BY s.repo_no, s.hw, s.step_i, r.step_i
"""


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def dimensions(conn: psycopg.Connection) -> None:
    """Hardware, contexts, cases and info rows, plus the gen_* tables that describe them."""
    hardware = []
    for no, (name, cores, threads, memory, arch, cpu, _suite, _w) in enumerate(MACHINES):
        hardware.append(
            {
                "no": no, "id": f"{no + 1:032x}", "name": name, "type": "machine",
                "hash": machine_hash(name, 0, cores, threads, memory), "architecture_name": arch,
                "kernel_name": "6.2.0-1017-aws", "os_name": "Linux", "os_version": "22.04",
                "cpu_model_name": cpu, "cpu_l1d_cache_bytes": 49152, "cpu_l1i_cache_bytes": 32768,
                "cpu_l2_cache_bytes": 1048576, "cpu_l3_cache_bytes": 36700160,
                "cpu_core_count": cores, "cpu_thread_count": threads,
                "cpu_frequency_max_hz": 3500000000, "memory_bytes": memory, "gpu_count": 0,
                "gpu_product_names": [], "info": None, "optional_info": None,
            }
        )  # fmt: skip
    name, info, _suite, _w = CLUSTER
    hardware.append(
        {"no": len(MACHINES), "id": f"{len(MACHINES) + 1:032x}", "name": name, "type": "cluster",
         "hash": cluster_hash(name, info), "info": info, "optional_info": {"region": "us-east-2"}}
    )  # fmt: skip
    rows = json.dumps(hardware)
    conn.execute(
        "INSERT INTO hardware SELECT * FROM jsonb_populate_recordset(NULL::hardware, %s::jsonb)",
        (rows,),
    )
    conn.execute(
        """
        CREATE TEMP TABLE gen_hardware AS
        SELECT (h ->> 'no')::int AS no, h ->> 'id' AS id, h ->> 'hash' AS hash
        FROM jsonb_array_elements(%s::jsonb) AS h
        """,
        (rows,),
    )
    contexts = [{"id": f"c{no:031x}", "tags": tags} for no, tags in enumerate(CONTEXTS)]
    conn.execute(
        "INSERT INTO context SELECT * FROM jsonb_populate_recordset(NULL::context, %s::jsonb)",
        (json.dumps(contexts),),
    )
    conn.execute(
        """
        CREATE TEMP TABLE gen_case AS
        SELECT
            k AS no,
            md5('case/' || k) AS id,
            (%(names)s::text[])[1 + (k / 40) %% 30]
                || CASE WHEN k >= 1200 THEN '-' || (k / 1200) ELSE '' END AS name,
            jsonb_build_object(
                'dataset', (%(datasets)s::text[])[1 + k %% 8],
                'compression', (%(options)s::text[])[1 + (k / 8) %% 5],
                'cpu_count', ((k / 8) %% 5 + 1)::text
            ) AS tags,
            'c' || lpad(to_hex((k / 40) %% 4), 31, '0') AS context_id,
            CASE WHEN (k / 40) %% 7 = 1 THEN 'B/s' WHEN (k / 40) %% 7 = 4 THEN 'i/s'
                WHEN (k / 40) %% 11 = 6 THEN 'ns' ELSE 's' END AS unit
        FROM generate_series(0, %(cases)s - 1) AS k
        """,
        {"names": NAMES, "datasets": DATASETS, "options": OPTIONS,
         "cases": NANOARROW_SUITE[0] + NANOARROW_SUITE[1]},
    )  # fmt: skip
    conn.execute('INSERT INTO "case" (id, name, tags) SELECT id, name, tags FROM gen_case')


def commits(conn: psycopg.Connection) -> None:
    params = {"commits": DEFAULT_COMMITS, "pr_branches": PR_BRANCHES, "full_prs": FULL_PRS,
              "full_every": FULL_EVERY, "arrow": ARROW, "nanoarrow": NANOARROW}  # fmt: skip
    conn.execute(COMMITS, params)
    conn.execute(INSERT_COMMITS, params)
    conn.execute(
        """
        INSERT INTO info (id, tags)
        SELECT md5('info/' || coalesce(c.id, 'none') || '/' || ctx.id),
            jsonb_build_object('arrow_git_revision', coalesce(c.sha, 'local'),
                'arrow_version', '1' || (3 + coalesce(c.no, 0) / 700) || '.0.0-SNAPSHOT',
                'benchmark_language_version', (%(versions)s::text[])[ctx.n])
        FROM (SELECT id, sha, no FROM gen_commit UNION ALL SELECT NULL, NULL, NULL) AS c
        CROSS JOIN (SELECT id, row_number() OVER (ORDER BY id)::int AS n FROM context) AS ctx
        """,
        {"versions": LANGUAGE_VERSIONS},
    )


def suites(conn: psycopg.Connection) -> None:
    rows = _suites()
    conn.execute(
        """
        CREATE TEMP TABLE gen_suite AS
        SELECT * FROM unnest(%s::int[], %s::int[], %s::int[], %s::int[], %s::float8[])
            AS t (repo_no, hw, lo, count, weight)
        """,
        [list(col) for col in zip(*rows, strict=True)],
    )
    cols = list(zip(*rows, strict=True))
    conn.execute(
        SERIES,
        {"repo_no": list(cols[0]), "hw": list(cols[1]), "lo": list(cols[2]),
         "count": list(cols[3]), "repositories": [ARROW if r == 0 else NANOARROW for r in cols[0]],
         "commits": DEFAULT_COMMITS},
    )  # fmt: skip


def expected_results(conn: psycopg.Connection, c: float) -> int:
    row = conn.execute(
        """
        SELECT coalesce(sum(s.count * (1 + (pg_temp.h01('rerun' || g.sha || s.hw) < 0.02)::int)), 0)
        FROM gen_commit AS g
        JOIN gen_suite AS s ON s.repo_no = g.repo_no
        WHERE g.kind <> 'unknown'
            AND g.u < least(1.0, %(c)s * s.weight) * CASE g.kind WHEN 'pr' THEN %(pr)s ELSE 1 END
        """,
        {"c": c, "pr": PR_COVERAGE},
    ).fetchone()
    return int(row[0]) + 10 * 200 + 20 * 100  # unknown-commit runs and manual runs


def coverage(conn: psycopg.Connection, target: int) -> float:
    """The coverage constant whose expected result count is closest to `target` (bisection)."""
    lo, hi = 0.0, 1.0 / min(suite[4] for suite in _suites())
    if expected_results(conn, lo) > target:
        log(f"note: this shape holds at least {expected_results(conn, lo)} results; using that")
        return lo
    if expected_results(conn, hi) < target:
        log(f"note: at most {expected_results(conn, hi)} results fit this shape; using that")
        return hi
    for _ in range(40):
        mid = (lo + hi) / 2
        if expected_results(conn, mid) < target:
            lo = mid
        else:
            hi = mid
    return hi


def runs(conn: psycopg.Connection, c: float) -> None:
    conn.execute(RUNS, {"c": c, "pr": PR_COVERAGE, "commits": DEFAULT_COMMITS})
    conn.execute("CREATE INDEX ON gen_run (no)")
    conn.execute(NEXT_RUN)
    conn.execute("ANALYZE gen_run, gen_series, gen_case, gen_commit, gen_next_run")


def drop_result_indexes(conn: psycopg.Connection) -> list[str]:
    """Drop benchmark_result's primary key and indexes; returns the statements rebuilding them."""
    rows = conn.execute(
        """
        SELECT i.relname AS name, pg_get_indexdef(i.oid) AS definition, con.conname
        FROM pg_index AS x
        JOIN pg_class AS i ON i.oid = x.indexrelid
        LEFT JOIN pg_constraint AS con ON con.conindid = x.indexrelid AND con.contype = 'p'
        WHERE x.indrelid = 'public.benchmark_result'::regclass
        ORDER BY i.relname
        """
    ).fetchall()
    rebuild = []
    for name, definition, constraint in rows:
        if constraint is not None:
            conn.execute(
                sql.SQL("ALTER TABLE benchmark_result DROP CONSTRAINT {}").format(
                    sql.Identifier(constraint)
                )
            )
            rebuild.append(
                f'ALTER TABLE public.benchmark_result ADD CONSTRAINT "{constraint}" '
                "PRIMARY KEY (id)"
            )
        else:
            conn.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(name)))
            rebuild.append(definition)
    return rebuild


def load_results(conn: psycopg.Connection) -> int:
    """Insert the results run by run, in time order, in statements of ~250k rows."""
    sizes = conn.execute("SELECT no, count FROM gen_run ORDER BY no").fetchall()
    chunks, first, rows = [], sizes[0][0], 0
    for no, count in sizes:
        rows += count
        if rows >= 250_000:
            chunks.append((first, no, rows))
            first, rows = no + 1, 0
    if rows:
        chunks.append((first, sizes[-1][0], rows))
    total, started = 0, time.perf_counter()
    for first, last, rows in chunks:
        conn.execute(
            RESULTS, {"first": first, "last": last, "arrow": ARROW, "nanoarrow": NANOARROW}
        )
        total += rows
        rate = total / (time.perf_counter() - started)
        log(f"  results {total:>10,} ({rate:,.0f}/s)")
    return total


def superuser(conn: psycopg.Connection) -> bool:
    row = conn.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user").fetchone()
    return bool(row and row[0])


def generate(url: str, target: int) -> None:
    timings: list[tuple[str, float]] = []

    def step(name: str, started: float) -> float:
        now = time.perf_counter()
        timings.append((name, now - started))
        log(f"{name}: {now - started:.1f} s")
        return now

    t = time.perf_counter()
    run_migrations(url)
    t = step("migrate", t)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SET maintenance_work_mem = '1GB'")
        conn.execute("SET work_mem = '256MB'")
        conn.execute("SET max_parallel_maintenance_workers = 2")
        conn.execute("SET TimeZone = 'UTC'")
        conn.execute(SETUP)
        dimensions(conn)
        commits(conn)
        suites(conn)
        c = coverage(conn, target)
        runs(conn, c)
        t = step(f"dimensions, commits, runs (coverage constant {c:.4f})", t)
        if superuser(conn):
            conn.execute("SET session_replication_role = replica")  # skip FK triggers
        rebuild = drop_result_indexes(conn)
        total = load_results(conn)
        t = step(f"insert {total:,} results", t)
        conn.execute("SET session_replication_role = origin")
        for statement in rebuild:
            conn.execute(statement)
        t = step(f"rebuild {len(rebuild)} benchmark_result indexes", t)
        # The load bypassed the lookback cache's triggers: create the epoch rows they would
        # have created (as migration 6 does for existing data), so that the first request
        # stores what it computes, and forget any stored distribution.
        reset_after_bulk_load(conn)
        t = step("lookback cache epochs", t)
        conn.execute("VACUUM (ANALYZE)")
        t = step("vacuum analyze", t)
    with psycopg.connect(url, autocommit=True) as conn:
        print_sizes(conn)
    print("timings: " + ", ".join(f"{name} {secs:.1f} s" for name, secs in timings))


def print_sizes(conn: psycopg.Connection) -> None:
    rows = conn.execute(
        """
        SELECT c.relname, c.reltuples::bigint,
            pg_size_pretty(pg_table_size(c.oid)), pg_size_pretty(pg_indexes_size(c.oid))
        FROM pg_class AS c
        JOIN pg_namespace AS n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relkind = 'r' AND c.reltuples > 0
        ORDER BY pg_total_relation_size(c.oid) DESC
        """
    ).fetchall()
    print(f"{'table':<20} {'rows':>12} {'table size':>12} {'index size':>12}")
    for name, tuples, table, indexes in rows:
        print(f"{name:<20} {tuples:>12,} {table:>12} {indexes:>12}")
    counts = conn.execute(
        """
        SELECT
            (SELECT count(*) FROM commit WHERE sha = fork_point_sha) AS default_commits,
            (SELECT count(*) FROM commit WHERE sha <> fork_point_sha) AS pr_commits,
            (SELECT count(DISTINCT branch) FROM commit WHERE sha <> fork_point_sha) AS branches,
            (SELECT count(*) FROM "case") AS cases,
            (SELECT count(DISTINCT history_fingerprint) FROM benchmark_result) AS series,
            (SELECT count(DISTINCT run_id) FROM benchmark_result) AS runs,
            (SELECT count(*) FROM benchmark_result WHERE error IS NOT NULL) AS errored,
            (SELECT count(*) FROM benchmark_result
             WHERE change_annotations ? 'begins_distribution_change') AS annotated
        """
    ).fetchone()
    names = ("default-branch commits", "PR commits", "PR branches", "cases", "series", "runs",
             "errored results", "annotated results")  # fmt: skip
    print(", ".join(f"{name} {value:,}" for name, value in zip(names, counts, strict=True)))
    size = conn.execute("SELECT pg_size_pretty(pg_database_size(current_database()))").fetchone()
    print(f"database size {size[0]}")


def dataset_tag(target: int) -> str:
    return json.dumps({"conbench_bench_dataset": FORMAT_VERSION, "results": target})


def start_embedded(data_dir: Path) -> str:
    """The embedded server on `data_dir`, tuned once like a dedicated database host."""
    from conbench.embedded_pg import EmbeddedPostgres

    pg = EmbeddedPostgres(data_dir)
    server, _ = pg.start()
    tuning = {"shared_buffers": "4GB", "effective_cache_size": "16GB", "work_mem": "16MB",
              "random_page_cost": "1.1", "max_wal_size": "8GB"}  # fmt: skip
    with psycopg.connect(server.url(), autocommit=True) as conn:
        current = dict(conn.execute("SELECT name, setting FROM pg_file_settings").fetchall())
        if any(current.get(name) != value for name, value in tuning.items()):
            for name, value in tuning.items():
                conn.execute(sql.SQL("ALTER SYSTEM SET {} = {}").format(
                    sql.Identifier(name), sql.Literal(value)))  # fmt: skip
            restart = True
        else:
            restart = False
    if restart:
        pg.stop()
        server, _ = pg.start()
    return server.url()


def database_url(args: argparse.Namespace) -> tuple[str, str]:
    """(maintenance URL, URL of the dataset database)."""
    name = args.dbname or f"bench_{args.results}"
    if args.db_url:
        base = psycopg.conninfo.conninfo_to_dict(args.db_url)
        if args.dbname is None:
            return args.db_url, args.db_url
        admin = psycopg.conninfo.make_conninfo(**base)
        return admin, psycopg.conninfo.make_conninfo(**{**base, "dbname": name})
    admin = start_embedded(args.data_dir)
    return admin, admin.rsplit("/", 1)[0] + "/" + name


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--results", type=int, default=1_000_000, help="results to generate")
    parser.add_argument("--db-url", help="use this server instead of the embedded one")
    parser.add_argument(
        "--dbname", help="database to create (default bench_<results>; with --db-url: that one)"
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=DEFAULT_DATA_DIR,
        help=f"embedded PostgreSQL data directory, kept for reuse (default {DEFAULT_DATA_DIR})",
    )
    parser.add_argument("--force", action="store_true", help="regenerate an existing dataset")
    parser.add_argument("--stop", action="store_true", help="stop the embedded server and exit")
    args = parser.parse_args()
    if args.stop:
        from conbench.embedded_pg import EmbeddedPostgres

        EmbeddedPostgres(args.data_dir).stop()
        return

    admin, url = database_url(args)
    tag = dataset_tag(args.results)
    dbname = psycopg.conninfo.conninfo_to_dict(url)["dbname"]
    with psycopg.connect(admin, autocommit=True) as conn:
        row = conn.execute(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s",
            (dbname,),
        ).fetchone()
        if row is not None and row[0] == tag and not args.force:
            log(f"dataset {dbname} already generated ({args.results:,} results); reusing it")
            with psycopg.connect(url) as data:
                print_sizes(data)
            print(url)
            return
        if admin != url:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(dbname)))  # fmt: skip
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
        else:
            found = conn.execute(
                "SELECT to_regclass('public.benchmark_result') IS NOT NULL"
            ).fetchone()
            if found[0] and conn.execute("SELECT EXISTS (TABLE benchmark_result)").fetchone()[0]:
                raise SystemExit(f"{dbname} already holds results; give an empty database")
    started = time.perf_counter()
    generate(url, args.results)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("COMMENT ON DATABASE {} IS {}").format(
            sql.Identifier(dbname), sql.Literal(tag)))  # fmt: skip
    print(f"generated in {time.perf_counter() - started:.1f} s")
    print(url)


if __name__ == "__main__":
    main()
