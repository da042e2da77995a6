"""Dimension ids a process has stored results under, so a single result can be stored by an insert
that only finds its case (`insert_result_known`) instead of the statement that looks all its
dimensions up.

A result's context, info, hardware and commit rows are named by their content (tags, the
machine's fields, sha and repository); they are few compared with results (a run brings at most
one new commit and info row), while cases are many and are found by the insert itself. Conbench
never changes those rows in that content and never deletes them (enrichment fills a commit's
metadata, never its sha or repository), so content -> id, once read from the database, stays
true; ids are random and never reused. If a row is deleted anyway (by hand), the insert fails its
foreign key, stores nothing, and the caller forgets the ids and looks the rows up again. Each
process (gunicorn worker) has its own cache, bounded to `MAX_ENTRIES` per kind and emptied when
full.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

MAX_ENTRIES = 4096
KINDS = ("context", "info", "hardware", "commit")
Keys = tuple[Any, Any, Any, Any]  # one key per kind, in KINDS order


class DimensionIds:
    """content -> stored row for each dimension kind: the context and info ids with their stored
    tags, the hardware id with its hash and row (as JSON), the commit id."""

    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self.max_entries = max_entries
        self._maps: list[dict[Any, Any]] = [{} for _ in KINDS]

    @staticmethod
    def keys(params: Mapping[str, Any]) -> Keys:
        """The keys of a result from the parameters of `insert_result_found`."""
        commit = None if params["sha"] is None else (params["sha"], params["repository"])
        return (params["context"], params["info"], params["hardware"], commit)

    def lookup(self, keys: Keys) -> Known | None:
        """What `insert_result_known` needs, or None unless every row is known."""
        found = [ids.get(key) for ids, key in zip(self._maps, keys, strict=True)]
        context, info, hardware, commit = found
        if context is None or info is None or hardware is None:
            return None
        if keys[3] is not None and commit is None:
            return None
        return Known(context, info, hardware, commit)

    def remember(self, keys: Keys, row: Mapping[str, Any]) -> None:
        """Keep the rows an `insert_result_found` row names."""
        hardware = row["hardware"]
        values = (
            (row["context_id"], row["context_tags"]),
            (row["info_id"], row["info_tags"]),
            (row["hardware_id"], hardware["hash"], hardware),
            row["commit_id"],
        )
        for ids, key, value in zip(self._maps, keys, values, strict=True):
            if key is None:
                continue
            if len(ids) >= self.max_entries:
                ids.clear()
            ids[key] = value

    def forget(self, keys: Keys) -> None:
        for ids, key in zip(self._maps, keys, strict=True):
            ids.pop(key, None)

    def clear(self) -> None:
        for ids in self._maps:
            ids.clear()


class Known:
    """The cached rows of one result's dimensions."""

    __slots__ = ("commit_id", "context", "hardware", "info")

    def __init__(self, context: tuple, info: tuple, hardware: tuple, commit_id: str | None):
        self.context, self.info, self.hardware, self.commit_id = context, info, hardware, commit_id

    def params(self) -> dict[str, str | None]:
        """The dimension parameters of `insert_result_known`."""
        return {
            "context_id": self.context[0],
            "info_id": self.info[0],
            "hardware_id": self.hardware[0],
            "hardware_hash": self.hardware[1],
            "commit_id": self.commit_id,
        }

    def complete(self, row: Mapping[str, Any]) -> dict[str, Any]:
        """An `insert_result_known_detail` row with the documents it leaves to the cache, as
        `results.get_result` reads them (copies: the caller may change them)."""
        return {
            **row,
            "context_tags": dict(self.context[1]),
            "info_tags": dict(self.info[1]),
            "hardware": dict(self.hardware[2]),
        }


DIMENSIONS = DimensionIds()
