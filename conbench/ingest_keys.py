"""Submission keys (02 §3.1): which inputs replay a stored key, repeat one of the same request,
conflict with it, or are new rows."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from conbench.validation import ResultInput

MAX_KEY_LENGTH = 255


@dataclass(frozen=True)
class StoredResult:
    """What a submission answers: the stored (or replayed) result's identity."""

    id: str
    run_id: str
    history_fingerprint: str
    replayed: bool = False
    # The stored row as results.get_result reads it, when the insert returned it (`detail`).
    row: Mapping[str, Any] | None = field(default=None, compare=False, repr=False)


@dataclass
class SubmissionPlan:
    """Which inputs are replays of stored keys, repeats inside the request, or new rows."""

    new: list[int] = field(default_factory=list)
    conflicts: list[int] = field(default_factory=list)
    stored: dict[int, StoredResult] = field(default_factory=dict)
    repeats: dict[int, int] = field(default_factory=dict)  # index -> index of the first

    @classmethod
    def make(
        cls, inputs: Sequence[ResultInput], known: Mapping[str, Mapping[str, Any]]
    ) -> SubmissionPlan:
        plan = cls()
        first: dict[str, int] = {}
        for i, inp in enumerate(inputs):
            key = inp.submission_key
            if key is None:
                plan.new.append(i)
            elif key in known:
                if known[key]["submission_payload_sha256"] == inp.payload_sha256:
                    plan.stored[i] = replayed(known[key])
                else:
                    plan.conflicts.append(i)
            elif key in first:
                if inputs[first[key]].payload_sha256 == inp.payload_sha256:
                    plan.repeats[i] = first[key]
                else:
                    plan.conflicts.append(i)
            else:
                first[key] = i
                plan.new.append(i)
        return plan

    def results(self) -> list[StoredResult]:
        for i, j in self.repeats.items():
            original = self.stored[j]
            self.stored[i] = StoredResult(
                original.id, original.run_id, original.history_fingerprint, replayed=True
            )
        return [self.stored[i] for i in sorted(self.stored)]


def replayed(row: Mapping[str, Any]) -> StoredResult:
    return StoredResult(row["id"], row["run_id"], row["history_fingerprint"], replayed=True)


def submission_key(body: Any) -> str | None:
    """A well-formed submission key of a raw body, else None (validation reports bad ones)."""
    if not isinstance(body, dict):
        return None
    key = body.get("submission_key")
    if isinstance(key, str) and key.strip() and len(key) <= MAX_KEY_LENGTH:
        return key
    return None
