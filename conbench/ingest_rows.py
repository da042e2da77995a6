"""The parameters of the insert statements (sql/ingest.sql), built from validated results."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg

from conbench.ids import new_id
from conbench.ingest_commits import BatchCommitResolver, CommitRef, CommitResolver, NewCommit
from conbench.queries import ingest as queries
from conbench.validation import Cluster, Machine, ResultInput


def build_batch(
    conn: psycopg.Connection,
    inputs: Sequence[ResultInput],
    commits: CommitResolver,
    resolved: dict[tuple[str, str], NewCommit],
) -> queries.ResultBatch:
    """The statement's parameters; commits a non-offline resolver must decide are looked up
    first, so it is asked only about commits the database does not have."""
    refs = {}
    for inp in inputs:
        if inp.github.commit:
            pair = (inp.github.commit, inp.github.repository)
            refs.setdefault(pair, _commit_ref(inp))
    if not commits.offline:
        missing = [pair for pair in refs if pair not in resolved]
        existing = queries.list_commits(conn, missing)
        absent = [pair for pair in missing if pair not in existing]
        resolved.update(dict.fromkeys(existing, NewCommit()))  # unused: the stored row wins
        resolved.update(zip(absent, _resolve_all(commits, [refs[p] for p in absent]), strict=True))
    batch = queries.ResultBatch()
    for inp in inputs:
        commit_id = None
        if inp.github.commit:
            sha, repository = inp.github.commit, inp.github.repository
            commit_id = batch.commit_id(sha, repository)
            if commit_id is None:
                new = resolved.get((sha, repository)) or commits.resolve(refs[sha, repository])
                commit_id = batch.add_commit(sha, repository, new.columns())
                if new.backfill_branch and new.timestamp:
                    batch.add_backfill(repository, new.backfill_branch, new.timestamp)
        row = _result_row(inp)
        row["case_id"] = batch.add_case(inp.benchmark_name, inp.case_tags)
        row["context_id"] = batch.add_context(inp.context)
        row["info_id"] = batch.add_info(inp.info)
        row["hardware_id"] = _add_hardware(batch, inp.hardware)
        row["commit_id"] = commit_id
        batch.add_result(row)
    return batch


def found_result(inp: ResultInput) -> queries.FoundResult:
    """The parameters of `insert_result_found`: the same rows `build_batch` would store."""
    hw = inp.hardware
    if isinstance(hw, Cluster):
        hardware = {"type": "cluster", "name": hw.name, "info": hw.info,
                    "optional_info": hw.optional_info, "hash": hw.hash}  # fmt: skip
    else:
        hardware = {"type": "machine", "name": hw.name}
        hardware.update((c, getattr(hw, c)) for c in queries.MACHINE_COLUMNS)
        hardware["hash"] = hw.hash
    row = _result_row(inp)
    row["id"] = new_id()
    return queries.FoundResult(
        row=row,
        case_name=inp.benchmark_name,
        case_tags=inp.case_tags,
        context=inp.context,
        info=inp.info,
        hardware=hardware,
        sha=inp.github.commit or None,
        repository=inp.github.repository,
    )


def _resolve_all(commits: CommitResolver, refs: Sequence[CommitRef]) -> list[NewCommit]:
    if isinstance(commits, BatchCommitResolver):
        return commits.resolve_many(refs)
    return [commits.resolve(ref) for ref in refs]


def _commit_ref(inp: ResultInput) -> CommitRef:
    gh = inp.github
    return CommitRef(gh.repository, gh.commit, gh.branch, gh.pr_number, inp.timestamp)


def _add_hardware(batch: queries.ResultBatch, hw: Machine | Cluster) -> str:
    if isinstance(hw, Cluster):
        return batch.add_cluster(hw.name, hw.info, hw.optional_info, hw.hash)
    values = [getattr(hw, c) for c in queries.MACHINE_COLUMNS]
    return batch.add_machine(hw.name, values, hw.hash)


def _result_row(inp: ResultInput) -> dict[str, Any]:
    """The result's own columns (queries.RESULT_COLUMNS)."""
    return {
        "run_id": inp.run_id,
        "unit": inp.unit,
        "time_unit": inp.time_unit,
        "batch_id": inp.batch_id,
        "timestamp": inp.timestamp.isoformat(),
        "iterations": inp.iterations,
        **inp.aggregates,
        "error": inp.error,
        "data": inp.data,
        "times": inp.times,
        "validation": inp.validation,
        "optional_benchmark_info": inp.optional_benchmark_info,
        "change_annotations": inp.change_annotations,
        "run_tags": inp.run_tags,
        "run_reason": inp.run_reason,
        "commit_repo_url": inp.github.repository,
        "submission_key": inp.submission_key,
        "submission_payload_sha256": inp.payload_sha256 if inp.submission_key else None,
    }
