"""Rows -> JSON shapes of the API: legacy entities (01 §7) and the modern ResultDetail (02 §4.2).

Result rows come from `queries.results` (run rows from `queries.runs`): the result's own columns,
`case_name`, `case_tags`, `context_tags`, `info_tags`, and `hardware` / `commit` as whole-row JSON
objects (`commit` is None for a commitless result).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from conbench.aggregates import is_failed, less_is_better
from conbench.identity import MACHINE_COLUMNS

STATS_COLUMNS = ("min", "max", "mean", "median", "stdev", "q1", "q3", "iqr")


def to_float(value: Any) -> float | None:
    """NUMERIC arrives as Decimal; the API speaks JSON floats."""
    return None if value is None else float(value)


def to_floats(values: list[Decimal | None] | None) -> list[float | None]:
    """A numeric[] column as floats; NULL arrays of old rows become `[]`."""
    return [to_float(v) for v in values or ()]


def utc_seconds(dt: datetime) -> str:
    """Legacy result/run timestamps: whole seconds and `Z` (stored values are naive UTC)."""
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def rfc3339(dt: datetime | str | None) -> str | None:
    """Modern timestamps: RFC 3339 UTC, fractional seconds only when stored."""
    value = naive_iso(dt)
    return None if value is None else value + "Z"


def naive_iso(dt: datetime | str | None) -> str | None:
    """Commit timestamps as naive ISO; also accepts the ISO text of a row decoded from JSON."""
    if dt is None:
        return None
    if isinstance(dt, str):
        dt = datetime.fromisoformat(dt)
    return dt.isoformat()


def _links(base: str, collection: str, item_id: str) -> dict[str, str]:
    return {"list": f"{base}/api/{collection}/", "self": f"{base}/api/{collection}/{item_id}/"}


def index_links(base: str) -> dict[str, Any]:
    """`GET /api/`: where everything is."""
    paths = {
        "benchmarks": "benchmarks/", "commits": "commits/", "contexts": "contexts/",
        "docs": "docs.json", "login": "login/", "logout": "logout/", "info": "info/",
        "hardware": "hardware/", "ping": "ping/", "register": "register/", "runs": "runs/",
        "users": "users/",
    }  # fmt: skip
    return {"links": {key: f"{base}/api/{path}" for key, path in paths.items()}}


def commit_entity(
    commit: dict[str, Any], base: str | None = None, *, parent_id: str | None | bool = False
) -> dict[str, Any]:
    """A legacy commit (01 §7.2); links only with `base`, `links.parent` only when `parent_id` is
    given (None meaning "no parent row")."""
    repository, sha = commit["repository"], commit["sha"]
    body = {
        "id": commit["id"],
        "sha": sha,
        "branch": commit["branch"],
        "fork_point_sha": commit["fork_point_sha"],
        "url": f"{repository}/commit/{sha}" if repository and sha else None,
        "parent_sha": commit["parent"],
        "repository": repository,
        "message": commit["message"],
        "author_name": commit["author_name"],
        "author_login": commit["author_login"],
        "author_avatar": commit["author_avatar"],
        "timestamp": naive_iso(commit["timestamp"]),
    }
    if base is not None:
        links: dict[str, Any] = _links(base, "commits", commit["id"])
        if parent_id is not False:
            links["parent"] = f"{base}/api/commits/{parent_id}/" if parent_id else None
        body["links"] = links
    return body


def hardware_entity(hardware: dict[str, Any], base: str | None = None) -> dict[str, Any]:
    """Legacy hardware (01 §7.3): a machine (links with `base`) or a cluster (never links);
    never the hash."""
    body: dict[str, Any] = {
        "id": hardware["id"],
        "name": hardware["name"],
        "type": hardware["type"],
    }
    if hardware["type"] == "cluster":
        body["info"] = hardware["info"]
        body["optional_info"] = hardware["optional_info"]
        return body
    body.update((column, hardware[column]) for column in MACHINE_COLUMNS)
    if base is not None:
        body["links"] = _links(base, "hardware", hardware["id"])
    return body


def tags_entity(row: dict[str, Any], collection: str, base: str) -> dict[str, Any]:
    """A context or info (01 §7.4): tags at top level; the envelope wins over tags id/links."""
    body = dict(row["tags"])
    body["id"] = row["id"]
    body["links"] = _links(base, collection, row["id"])
    return body


def user_entity(user: dict[str, Any], base: str) -> dict[str, Any]:
    """A legacy user (01 §7.5); the password marker never leaves the database."""
    return {
        "id": user["id"],
        "email": user["email"],
        "name": user["name"],
        "links": _links(base, "users", user["id"]),
    }


def result_core(row: dict[str, Any]) -> dict[str, Any]:
    """The legacy result entity (01 §7.1) up to `error`: what a compare side shows of a result
    (`legacy_result` adds `tags`, `commit`, `hardware` and `links`)."""
    return {
        "id": row["id"],
        "run_id": row["run_id"],
        "run_tags": row["run_tags"],
        "run_reason": row["run_reason"],
        "commit_repo_url": row["commit_repo_url"],
        "batch_id": row["batch_id"],
        "history_fingerprint": row["history_fingerprint"],
        "timestamp": utc_seconds(row["timestamp"]),
        "optional_benchmark_info": row["optional_benchmark_info"],
        "validation": row["validation"],
        "change_annotations": row["change_annotations"] or {},
        "stats": {
            "data": to_floats(row["data"]),
            "times": to_floats(row["times"]),
            "unit": row["unit"],
            "time_unit": row["time_unit"],
            "iterations": row["iterations"],
            "min": to_float(row["min"]),
            "max": to_float(row["max"]),
            "mean": to_float(row["mean"]),
            "median": to_float(row["median"]),
            "stdev": to_float(row["stdev"]),
            "q1": to_float(row["q1"]),
            "q3": to_float(row["q3"]),
            "iqr": to_float(row["iqr"]),
        },
        "error": row["error"],
    }


def legacy_result(row: dict[str, Any], base: str) -> dict[str, Any]:
    """The legacy result entity (01 §7.1) of a `queries.results` row."""
    entity = result_core(row)
    commit = row["commit"]
    entity["tags"] = {"name": row["case_name"], **row["case_tags"]}
    entity["commit"] = commit_entity(commit) if commit else None
    entity["hardware"] = hardware_entity(row["hardware"])
    entity["links"] = {
        "list": f"{base}/api/benchmarks/",
        "self": f"{base}/api/benchmarks/{row['id']}/",
        "info": f"{base}/api/info/{row['info_id']}/",
        "context": f"{base}/api/contexts/{row['context_id']}/",
        "run": f"{base}/api/runs/{row['run_id']}/",
    }
    return entity


def legacy_run(
    row: dict[str, Any], candidate_baseline_runs: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A legacy run (01 §7.6) from its representative result; the detail adds the candidates."""
    commit = row["commit"]
    body = {
        "id": row["run_id"],
        "tags": row["run_tags"],
        "reason": row["run_reason"],
        "timestamp": utc_seconds(row["timestamp"]),
        "commit": commit_entity(commit) if commit else None,
        "hardware": hardware_entity(row["hardware"]),
    }
    if candidate_baseline_runs is not None:
        body["candidate_baseline_runs"] = candidate_baseline_runs
    return body


def failed(row: dict[str, Any]) -> bool:
    """A failed result (04 §3) has no SVS and takes no part in comparisons."""
    return is_failed(row["error"], row["data"], unit_missing=row["unit"] is None)


def single_value_summary(row: dict[str, Any]) -> tuple[float | None, str]:
    """SVS and its type (04 §3-§4): the best repetition; None for a failed result or a unit without
    direction (the type then follows the SQL shortcut "more is better <=> unit ends in /s")."""
    unit = row["unit"]
    if unit is None:
        return None, "n/a"
    lower = less_is_better(unit)
    kind = "max" if lower is False or (lower is None and unit.endswith("/s")) else "min"
    if lower is None or failed(row):
        return None, kind
    stored = row[kind]
    if stored is not None:
        return float(stored), kind
    best = min if kind == "min" else max
    return float(best(row["data"])), kind


def modern_hardware(hardware: dict[str, Any]) -> dict[str, Any]:
    """Hardware on the modern surface: with its hash, machine columns or cluster info."""
    body = {key: hardware[key] for key in ("id", "type", "name", "hash")}
    if hardware["type"] == "cluster":
        body["info"] = hardware["info"]
        body["optional_info"] = hardware["optional_info"]
    else:
        body.update((column, hardware[column]) for column in MACHINE_COLUMNS)
    return body


def modern_commit(commit: dict[str, Any]) -> dict[str, Any]:
    """A commit on the modern surface, with `on_default_branch` (sha = fork_point_sha)."""
    repository, sha = commit["repository"], commit["sha"]
    return {
        "id": commit["id"],
        "sha": sha,
        "repository": repository,
        "url": f"{repository}/commit/{sha}" if repository and sha else None,
        "parent_sha": commit["parent"],
        "branch": commit["branch"],
        "fork_point_sha": commit["fork_point_sha"],
        "on_default_branch": commit["fork_point_sha"] is not None
        and sha == commit["fork_point_sha"],
        "message": commit["message"],
        "author_name": commit["author_name"],
        "author_login": commit["author_login"],
        "author_avatar": commit["author_avatar"],
        "timestamp": rfc3339(commit["timestamp"]),
    }


def modern_result(row: dict[str, Any]) -> dict[str, Any]:
    """ResultDetail (02 §4.2) of a `queries.results` row."""
    svs, svs_type = single_value_summary(row)
    unit = row["unit"]
    stats: dict[str, Any] = {
        "data": to_floats(row["data"]),
        "times": to_floats(row["times"]),
        "time_unit": row["time_unit"],
        "iterations": row["iterations"],
    }
    stats.update((column, to_float(row[column])) for column in STATS_COLUMNS)
    commit = row["commit"]
    fingerprint = row["history_fingerprint"]
    return {
        "id": row["id"],
        "run_id": row["run_id"],
        "run_tags": row["run_tags"],
        "run_reason": row["run_reason"],
        "batch_id": row["batch_id"],
        "timestamp": rfc3339(row["timestamp"]),
        "name": row["case_name"],
        "tags": row["case_tags"],
        "case_id": row["case_id"],
        "context": row["context_tags"],
        "context_id": row["context_id"],
        "info": row["info_tags"],
        "info_id": row["info_id"],
        "hardware": modern_hardware(row["hardware"]),
        "commit": modern_commit(commit) if commit else None,
        "commit_repo_url": row["commit_repo_url"],
        "history_fingerprint": fingerprint,
        "unit": unit,
        "less_is_better": less_is_better(unit),
        "single_value_summary": svs,
        "single_value_summary_type": svs_type,
        "failed": failed(row),
        "stats": stats,
        "error": row["error"],
        "validation": row["validation"],
        "optional_benchmark_info": row["optional_benchmark_info"],
        "change_annotations": row["change_annotations"] or {},
        "submission_key": row["submission_key"],
        "links": {
            "self": f"/results/{row['id']}",
            "series": f"/series/{fingerprint}",
            "history": f"/api/history/{row['id']}",
        },
    }
