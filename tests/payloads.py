"""Result-submission payload builders shaped like what benchadapt sends.

Every builder returns a new dict on each call, so tests may mutate the result freely. Keyword
overrides replace top-level keys; an override of ``None`` sends JSON null and ``DROP`` removes it.
"""

import copy
from typing import Any

DROP = object()
"""Override value that removes the key from the built payload."""


def _apply(base: dict, overrides: dict[str, Any]) -> dict:
    for key, value in overrides.items():
        if value is DROP:
            base.pop(key, None)
        else:
            base[key] = copy.deepcopy(value)
    return base


def machine_info(**overrides: Any) -> dict:
    """A benchadapt-style machine_info: scalars are strings (``"8"``, ``kernel_name: "None"``)."""
    base = {
        "name": "ci-runner-1",
        "architecture_name": "x86_64",
        "kernel_name": "None",
        "os_name": "Linux",
        "os_version": "6.1.0-18-amd64",
        "cpu_model_name": "Intel(R) Xeon(R) CPU @ 2.20GHz",
        "cpu_l1d_cache_bytes": "32768",
        "cpu_l1i_cache_bytes": "32768",
        "cpu_l2_cache_bytes": "1048576",
        "cpu_l3_cache_bytes": "39845888",
        "cpu_core_count": "4",
        "cpu_thread_count": "8",
        "cpu_frequency_max_hz": "0",
        "memory_bytes": "33672359936",
        "gpu_count": "0",
        "gpu_product_names": [],
    }
    return _apply(base, overrides)


def cluster_info(
    name: str = "c1", info: dict | None = None, optional_info: dict | None = None
) -> dict:
    """A cluster_info object; defaults to the spec's example cluster (hash ``c1-bb018ab8...``)."""
    return {
        "name": name,
        "info": copy.deepcopy(info) if info is not None else {"workers": 4, "region": "us"},
        "optional_info": copy.deepcopy(optional_info) if optional_info is not None else {},
    }


def stats(**overrides: Any) -> dict:
    """A successful stats object (three iterations in seconds)."""
    base = {
        "data": [1.1, 1.2, 1.3],
        "unit": "s",
        "times": [1.1, 1.2, 1.3],
        "time_unit": "s",
        "iterations": 3,
    }
    return _apply(base, overrides)


def github(**overrides: Any) -> dict:
    """A github object for a default-branch commit of conbench/demo."""
    base = {
        "repository": "https://github.com/conbench/demo",
        "commit": "0123456789abcdef0123456789abcdef01234567",
        "pr_number": None,
        "branch": None,
    }
    return _apply(base, overrides)


def legacy_result(**overrides: Any) -> dict:
    """A complete, valid legacy create body (machine hardware, successful stats)."""
    base = {
        "run_id": "run-0123456789",
        "run_name": "commit: 0123456789abcdef0123456789abcdef01234567",
        "run_reason": "commit",
        "run_tags": {"arch": "x86_64"},
        "batch_id": "5f3c6a0e9d8b4c2a8e1f7b6d5c4a3b2e",
        "timestamp": "2024-01-05T12:00:00.123456+00:00",
        "tags": {"name": "file-read", "dataset": "nyctaxi", "compression": "snappy"},
        "context": {"benchmark_language": "Python", "arrow_compiler_id": "GNU"},
        "info": {"arrow_version": "15.0.0"},
        "optional_benchmark_info": {},
        "machine_info": machine_info(),
        "github": github(),
        "stats": stats(),
    }
    return _apply(base, overrides)


def modern_result(submission_key: str | None = "key-1", **overrides: Any) -> dict:
    """A valid ``POST /api/results`` body: the legacy payload plus a submission_key, if not None."""
    body = legacy_result(**overrides)
    if submission_key is not None:
        body["submission_key"] = submission_key
    return body
