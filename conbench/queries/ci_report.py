"""Rows of the CI report (02 §9): the selected runs, their results, the baseline runs' results."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg

from conbench import sql

_Q = sql.load("ci_report")


def list_commit_runs(conn: psycopg.Connection, repository: str, sha: str) -> list[dict[str, Any]]:
    """The runs with results on commit (repository, sha), run_id ascending; each row has
    `run_id, result_count, run_reason, run_tags, commit_repo_url, commit`."""
    params = {"repository": repository, "sha": sha}
    return conn.execute(_Q["list_commit_runs"], params).fetchall()


def list_run_groups(
    conn: psycopg.Connection, run_ids: Sequence[str], repository: str | None = None
) -> list[dict[str, Any]]:
    """The given runs, one row per (repository, commit) their results name, shaped as
    `list_commit_runs` rows (`commit` None when commitless)."""
    params = {"run_ids": list(run_ids), "repository": repository}
    return conn.execute(_Q["list_run_groups"], params).fetchall()


def list_contender_results(
    conn: psycopg.Connection, run_ids: Sequence[str], commit_id: str | None
) -> list[dict[str, Any]]:
    """Every result of these runs (on `commit_id` when given), by run then id: the columns a row
    is scored on, entity ids, and whether it begins a distribution change."""
    params = {"run_ids": list(run_ids), "commit_id": commit_id}
    return conn.execute(_Q["list_contender_results"], params).fetchall()


def list_result_entities(
    conn: psycopg.Connection, rows: Sequence[dict[str, Any]]
) -> dict[str, dict[str, Any]]:
    """The case, context, info and hardware rows the given result rows name, keyed by kind, then
    id: cases `{name, tags}`, contexts and infos their tags, hardware `{id, type, name, hash}`."""
    params = {
        f"{kind}_ids": sorted({row[f"{kind}_id"] for row in rows})
        for kind in ("case", "context", "info", "hardware")
    }
    found: dict[str, dict[str, Any]] = {"case": {}, "context": {}, "info": {}, "hardware": {}}
    for row in conn.execute(_Q["list_result_entities"], params):
        kind, tags = row["kind"], row["tags"]
        if kind == "case":
            found[kind][row["id"]] = {"name": row["name"], "tags": tags}
        elif kind == "hardware":
            hardware = {"id": row["id"], "type": tags["type"], "name": row["name"]}
            found[kind][row["id"]] = {**hardware, "hash": tags["hash"]}
        else:
            found[kind][row["id"]] = tags
    return found


def list_baseline_results(
    conn: psycopg.Connection, run_ids: Sequence[str], fingerprints: Sequence[str]
) -> list[dict[str, Any]]:
    """The newest result per (baseline run, fingerprint) among these fingerprints."""
    if not run_ids or not fingerprints:
        return []
    params = {"run_ids": list(run_ids), "fingerprints": sorted(set(fingerprints))}
    return conn.execute(_Q["list_baseline_results"], params).fetchall()
