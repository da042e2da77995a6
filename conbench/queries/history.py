"""History of a series (04 §9): its default-branch members with the rolling statistics of 04 §5,
and the row that heads a series (name, tags, context, hardware)."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

import psycopg
from psycopg.rows import tuple_row

from conbench import sql, stats

_Q = sql.load("history")
_CACHE_Q = sql.load("history_cache")

log = logging.getLogger(__name__)

_FLAGS = {None: False, "null": False, "false": False, "true": True}
_DECODER = json.JSONDecoder()


class Member(NamedTuple):
    """One history point: its row from the series members query with the SVS as a float and its
    §5 statistics."""

    row: dict[str, Any]
    svs: float
    begins_distribution_change: bool
    stats: stats.PointStats


@dataclass(frozen=True)
class History:
    """The members of one series, oldest first, as columns: `columns[name]` holds the column
    `name` of the history query (a tuple, one value per member); `begins_distribution_change`
    the annotation read as a flag; `stats` their §5 statistics (include current off)."""

    columns: dict[str, tuple]
    begins_distribution_change: list[bool]
    stats: stats.SeriesStats

    def __len__(self) -> int:
        return len(self.begins_distribution_change)


def list_history_columns(
    conn: psycopg.Connection, fingerprint: str, *, legacy: bool = False
) -> dict[str, tuple]:
    """Every member of the series, ordered by commit timestamp, result timestamp, id, as columns
    by name: the modern point's columns, or the legacy sample's with `legacy`. Fetched as tuples
    in binary (a thousand rows decode in a fraction of the time dicts of text values take)."""
    query = _Q["list_legacy_history_points" if legacy else "list_history_points"]
    cursor = conn.execute(query, {"fingerprint": fingerprint}, binary=True)
    cursor.row_factory = tuple_row
    rows = cursor.fetchall()
    names = [column.name for column in cursor.description or ()]
    if not rows:
        return {name: () for name in names}
    columns = dict(zip(names, zip(*rows, strict=True), strict=True))
    if "run_tags" in columns:
        columns["run_tags"] = tuple(_json_values(columns["run_tags"]))
    return columns


def _json_values(texts: Sequence[str]) -> list[Any]:
    """`json.loads` of each text as PostgreSQL prints a jsonb value (one value, no surrounding
    whitespace): straight through the decoder's scanner, which is what `json.loads` ends up
    calling after two regular-expression passes for whitespace that cost 4 times the parse."""
    scan = _DECODER.scan_once
    return [scan(text, 0)[0] for text in texts]


def with_history_statistics(columns: dict[str, tuple]) -> History:
    """The members of `list_history_columns` with their §5 statistics (include current off)."""
    flags = annotation_flags(columns["begins_distribution_change"])
    computed = stats.rolling_columns(
        columns["commit_timestamp"],
        columns["result_timestamp"],
        columns["svs"],
        flags,
        include_current=False,
        ordered=True,
    )
    return History(columns, flags, computed)


def annotation_flags(texts: Sequence[str | None]) -> list[bool]:
    """`begins_distribution_change` from the JSON text of the annotation, as upstream reads it
    (Python `bool` of the JSON value); only unusual values need decoding."""
    flags = []
    for text in texts:
        flag = _FLAGS.get(text)
        flags.append(bool(json.loads(text)) if flag is None else flag)  # type: ignore[arg-type]
    return flags


def list_series_heads(conn: psycopg.Connection, result_ids: list[str]) -> dict[str, dict[str, Any]]:
    """Name, tags, context, hardware and repository of the series of each result, by result id."""
    if not result_ids:
        return {}
    rows = conn.execute(_Q["list_series_heads"], {"ids": result_ids}).fetchall()
    return {row["id"]: row for row in rows}


def get_series_head(conn: psycopg.Connection, result_id: str) -> dict[str, Any] | None:
    """The head row of one result's series; None for an unknown result."""
    return list_series_heads(conn, [result_id]).get(result_id)


def get_newest_result_id(conn: psycopg.Connection, fingerprint: str) -> str | None:
    """The newest result carrying `fingerprint` (non-errored first); None when there is none."""
    row = conn.execute(
        _Q["get_newest_result_id_of_fingerprint"], {"fingerprint": fingerprint}
    ).fetchone()
    return None if row is None else row["id"]


def begins_distribution_change(value: Any) -> bool:
    """The annotation's truthiness as upstream reads it (Python `bool` of the JSON value)."""
    return bool(value)


def with_statistics(rows: Sequence[dict[str, Any]], *, include_current: bool) -> list[Member]:
    """Rows of one series, sorted oldest first, with their §5 statistics (rows need
    `commit_timestamp`, `result_timestamp`, `svs`, `begins_distribution_change`)."""
    if not rows:
        return []
    svs = [float(row["svs"]) for row in rows]
    begins = [begins_distribution_change(row["begins_distribution_change"]) for row in rows]
    computed = stats.rolling_columns(
        [row["commit_timestamp"] for row in rows],
        [row["result_timestamp"] for row in rows],
        svs,
        begins,
        include_current=include_current,
    )
    point_stats = map(stats.PointStats, *computed)
    return list(map(Member, rows, svs, begins, point_stats))


def get_series_head_cached(
    conn: psycopg.Connection, result_id: str, variant: str
) -> dict[str, Any] | None:
    """The head row of one result's series (as `get_series_head`) with `cache_epoch`, the
    fingerprint's current epoch, and `cached_body`, the stored body of `variant` when it is valid
    (else None); None for an unknown result. Variant `legacy` is looked up per hardware hash
    (`legacy_variant`). One statement (docs/history-cache.md)."""
    cursor = conn.execute(
        _CACHE_Q["get_series_head_cached"], {"id": result_id, "variant": variant}, binary=True
    )
    return cursor.fetchone()


def get_fingerprint_cached(conn: psycopg.Connection, fingerprint: str) -> dict[str, Any]:
    """`cache_epoch` (the fingerprint's current epoch) and, when the `modern` body of the
    fingerprint is stored and valid, `cached_body` and the head row of its newest member (the
    head of `/api/history?fingerprint=`); `cached_body` is None otherwise."""
    cursor = conn.execute(
        _CACHE_Q["get_fingerprint_cached"], {"fingerprint": fingerprint}, binary=True
    )
    row = cursor.fetchone()
    assert row is not None  # one row whatever is stored
    return row


def legacy_variant(hardware_hash: str) -> str:
    """The variant of a legacy history body: its samples repeat the head's hardware hash."""
    return f"legacy:{hardware_hash}"


def upsert_history_cache(
    conn: psycopg.Connection,
    fingerprint: str,
    variant: str,
    *,
    epoch: int,
    body: bytes,
    newest_id: str | None = None,
) -> None:
    """Store a body computed from members read after `epoch` was; a database error is logged
    and ignored (a read never fails because of the cache)."""
    try:
        with conn.transaction():
            conn.execute(
                _CACHE_Q["upsert_history_cache"],
                {
                    "fingerprint": fingerprint,
                    "variant": variant,
                    "epoch": epoch,
                    "body": body,
                    "newest_id": newest_id,
                },
            )
    except psycopg.Error as exc:
        log.warning("history cache not stored: %s", str(exc).splitlines()[0] if str(exc) else exc)


# Operator job (`conbench admin history-cache prune`).


def list_prunable_history_cache(
    conn: psycopg.Connection, cutoff: datetime | None
) -> list[tuple[str, str, bool]]:
    """(fingerprint, variant, stale) of the stored rows that are stale or, with a `cutoff`,
    computed before it, in key order."""
    rows = conn.execute(_CACHE_Q["list_prunable_history_cache"], {"cutoff": cutoff}).fetchall()
    return [(row["history_fingerprint"], row["variant"], row["stale"]) for row in rows]


def delete_prunable_history_cache(
    conn: psycopg.Connection, keys: Sequence[tuple[str, str]], cutoff: datetime | None
) -> int:
    """Delete the rows of `keys` ((fingerprint, variant) pairs) that are still stale or computed
    before `cutoff`; the count deleted."""
    params = {
        "fingerprints": [fingerprint for fingerprint, _ in keys],
        "variants": [variant for _, variant in keys],
        "cutoff": cutoff,
    }
    return conn.execute(_CACHE_Q["delete_prunable_history_cache"], params).rowcount
