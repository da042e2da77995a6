"""Factories: rows inserted with plain SQL. Defaults make a valid, non-failed, commitless result;
every keyword overrides a column."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from conbench import aggregates, identity
from conbench.ids import new_id

REPOSITORY = "https://github.com/org/repo"
ON_DEFAULT_BRANCH = "same as sha"
"""`make_commit(fork_point_sha=...)` default: the commit is on the default branch."""

_JSON_COLUMNS = frozenset(
    {"error", "validation", "optional_benchmark_info", "change_annotations", "run_tags", "tags",
     "info", "optional_info"}
)  # fmt: skip


def _params(values: dict[str, Any]) -> dict[str, Any]:
    return {k: Jsonb(v) if k in _JSON_COLUMNS and v is not None else v for k, v in values.items()}


def _insert(conn: psycopg.Connection, table: str, values: dict[str, Any]) -> dict[str, Any]:
    query = sql.SQL("INSERT INTO {} ({}) VALUES ({}) RETURNING *").format(
        sql.Identifier(table),
        sql.SQL(", ").join(map(sql.Identifier, values)),
        sql.SQL(", ").join(map(sql.Placeholder, values)),
    )
    row = conn.execute(query, _params(values)).fetchone()
    assert row is not None
    return row


def _find(conn: psycopg.Connection, table: str, values: dict[str, Any]) -> dict[str, Any] | None:
    query = sql.SQL("SELECT * FROM {} WHERE {}").format(
        sql.Identifier(table),
        sql.SQL(" AND ").join(
            sql.SQL("{} IS NOT DISTINCT FROM {}").format(sql.Identifier(k), sql.Placeholder(k))
            for k in values
        ),
    )
    return conn.execute(query, _params(values)).fetchone()


def _get_or_insert(conn: psycopg.Connection, table: str, values: dict[str, Any]) -> dict[str, Any]:
    return _find(conn, table, values) or _insert(conn, table, {"id": new_id(), **values})


def _numeric(value: Any) -> Decimal | None:
    """Bound as the decimal text of the float, as ingestion stores it (no float8 rounding)."""
    return None if value is None else Decimal(repr(float(value)))


def now() -> datetime:
    """Naive UTC now, as the database stores it."""
    return datetime.now(UTC).replace(tzinfo=None)


def make_case(conn: psycopg.Connection, name: str = "file-read", tags: dict | None = None) -> str:
    """The id of the case `(name, tags)`, created if needed."""
    tags = {"dataset": "nyctaxi"} if tags is None else tags
    return _get_or_insert(conn, "case", {"name": name, "tags": tags})["id"]


def make_context(conn: psycopg.Connection, tags: dict | None = None) -> str:
    """The id of the context with these tags, created if needed."""
    tags = {"benchmark_language": "Python"} if tags is None else tags
    return _get_or_insert(conn, "context", {"tags": tags})["id"]


def make_info(conn: psycopg.Connection, tags: dict | None = None) -> str:
    """The id of a new info row."""
    tags = {"python_version": "3.11"} if tags is None else tags
    return _insert(conn, "info", {"id": new_id(), "tags": tags})["id"]


def make_hardware(
    conn: psycopg.Connection, name: str = "runner-1", **columns: Any
) -> dict[str, Any]:
    """A machine (default) or, with `type="cluster"`, a cluster row, created if needed; the hash is
    computed as ingestion computes it."""
    if columns.get("type") == "cluster":
        values = {"info": {"workers": 4}, "optional_info": {}, **columns}
        values["hash"] = identity.cluster_hash(name, values["info"])
    else:
        values = {
            "type": "machine", "architecture_name": "x86_64", "kernel_name": "Linux",
            "os_name": "Linux", "os_version": "6.1", "cpu_model_name": "Xeon",
            "cpu_l1d_cache_bytes": 32768, "cpu_l1i_cache_bytes": 32768,
            "cpu_l2_cache_bytes": 1048576, "cpu_l3_cache_bytes": 39845888, "cpu_core_count": 4,
            "cpu_thread_count": 8, "cpu_frequency_max_hz": 0, "memory_bytes": 34359738368,
            "gpu_count": 0, "gpu_product_names": [], **columns,
        }  # fmt: skip
        values["hash"] = identity.machine_hash(
            name, values["gpu_count"], values["cpu_core_count"], values["cpu_thread_count"],
            values["memory_bytes"],
        )  # fmt: skip
    return _get_or_insert(conn, "hardware", {"name": name, **values})


def make_commit(
    conn: psycopg.Connection,
    sha: str | None = None,
    *,
    parent: str | None = None,
    branch: str | None = "org:main",
    fork_point_sha: str | None = ON_DEFAULT_BRANCH,
    timestamp: datetime | None = datetime(2024, 1, 1, 12, 0),
    repository: str = REPOSITORY,
    unknown: bool = False,
    **columns: Any,
) -> dict[str, Any]:
    """A commit row; by default on the default branch (`fork_point_sha = sha`). `unknown=True` makes
    the degraded row of a failed GitHub lookup (03 §2.4)."""
    sha = sha or secrets.token_hex(20)
    if unknown:
        values = {"message": "", "author_name": ""}
    else:
        values = {
            "parent": parent, "branch": branch, "timestamp": timestamp,
            "fork_point_sha": sha if fork_point_sha == ON_DEFAULT_BRANCH else fork_point_sha,
            "message": f"commit {sha[:7]}", "author_name": "Ada", "author_login": "ada",
            "author_avatar": "https://avatars.example/ada",
        }  # fmt: skip
    values.update(columns)
    return _insert(conn, "commit", {"id": new_id(), "sha": sha, "repository": repository, **values})


def make_user(
    conn: psycopg.Connection, email: str | None = None, name: str = "Ada"
) -> dict[str, Any]:
    """A user with the unusable password marker."""
    email = email or f"user-{secrets.token_hex(4)}@example.com"
    return _insert(conn, "user", {"id": new_id(), "email": email, "name": name, "password": "!"})


def make_result(conn: psycopg.Connection, **overrides: Any) -> dict[str, Any]:
    """A benchmark_result row (as inserted). Pass `commit=<make_commit row>` to attach a commit;
    `history_fingerprint` follows 03 §2.2 unless given."""
    commit = overrides.pop("commit", None)
    values: dict[str, Any] = {
        "id": new_id(),
        "run_id": f"run-{secrets.token_hex(4)}",
        "batch_id": f"batch-{secrets.token_hex(4)}",
        "timestamp": now(),
        "run_tags": {},
        "run_reason": "commit",
        "data": [1.0, 2.0, 3.0],
        "times": [],
        "unit": "s",
        "time_unit": "s",
        "error": None,
        "validation": None,
        "optional_benchmark_info": None,
        "change_annotations": {},
        "commit_id": commit["id"] if commit else None,
        "commit_repo_url": commit["repository"] if commit else REPOSITORY,
        **overrides,
    }
    values.setdefault("iterations", len(values["data"] or ()))
    values.setdefault("case_id", make_case(conn))
    values.setdefault("context_id", make_context(conn))
    values.setdefault("info_id", make_info(conn))
    if "hardware_id" not in values:
        values["hardware_id"] = make_hardware(conn)["id"]
    data = values["data"]
    if values["error"] is None and data and None not in data:
        for key, value in aggregates.compute_aggregates([float(v) for v in data]).items():
            values.setdefault(key, value)
    for key in ("data", "times"):
        if values[key] is not None:
            values[key] = [_numeric(v) for v in values[key]]
    for key in aggregates.AGGREGATE_KEYS:
        values[key] = _numeric(values.get(key))
    if "history_fingerprint" not in values:
        hardware_hash = conn.execute(
            "SELECT hash FROM hardware WHERE id = %s", (values["hardware_id"],)
        ).fetchone()["hash"]
        values["history_fingerprint"] = identity.history_fingerprint(
            values["case_id"], values["context_id"], hardware_hash, values["commit_repo_url"]
        )
    return _insert(conn, "benchmark_result", values)


def clone_results(
    conn: psycopg.Connection, row: dict[str, Any], count: int, runs: int = 100
) -> None:
    """`count` copies of a result row spread over `runs` run and batch ids and three run reasons,
    then ANALYZE (rolled back with the test): enough rows for the planner to choose the plans it
    chooses on a big table."""
    varied = {
        "id": "r.id || lpad(g::text, 8, '0')",
        "run_id": "'clone-run-' || g %% %(runs)s",
        "batch_id": "'clone-batch-' || g %% %(runs)s",
        "run_reason": "(ARRAY['commit', 'pull request', 'manual'])[1 + g %% 3]",
    }
    columns = sql.SQL(", ").join(
        sql.SQL(varied[name]) if name in varied else sql.Identifier("r", name) for name in row
    )
    query = sql.SQL(
        "INSERT INTO benchmark_result ({}) SELECT {} FROM benchmark_result AS r,"
        " generate_series(1, %(count)s) AS g WHERE r.id = %(id)s"
    ).format(sql.SQL(", ").join(map(sql.Identifier, row)), columns)
    conn.execute(query, {"id": row["id"], "count": count, "runs": runs})
    conn.execute("ANALYZE benchmark_result")
