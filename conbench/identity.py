"""Identity strings: hardware hash, history fingerprint and normalized repository URL (03 §2)."""

import hashlib
import json
from typing import Any
from urllib.parse import urlparse

GITHUB_PREFIX = "https://github.com"

# The hardware columns that, with `name`, identify a machine (the legacy hardware_index).
MACHINE_COLUMNS = (
    "architecture_name", "kernel_name", "os_name", "os_version", "cpu_model_name",
    "cpu_l1d_cache_bytes", "cpu_l1i_cache_bytes", "cpu_l2_cache_bytes", "cpu_l3_cache_bytes",
    "cpu_core_count", "cpu_thread_count", "cpu_frequency_max_hz", "memory_bytes", "gpu_count",
    "gpu_product_names",
)  # fmt: skip


def machine_hash(
    name: str, gpu_count: int, cpu_core_count: int, cpu_thread_count: int, memory_bytes: int
) -> str:
    """`name-gpus-cores-threads-memory`; caches, OS and CPU model are deliberately left out."""
    return f"{name}-{gpu_count}-{cpu_core_count}-{cpu_thread_count}-{memory_bytes}"


def python_json_dumps_sorted(obj: Any) -> str:
    """Python's `json.dumps(obj, sort_keys=True)`, as upstream hashed it: `", "`/`": "` separators,
    ASCII escapes, floats in `repr` form; floats parsed from a JSON body keep it (`1.0`, `1e-05`).
    """
    return json.dumps(obj, sort_keys=True)


def cluster_hash(name: str, info: dict) -> str:
    """`name-md5(json text of info)`, byte-compatible with hashes stored by upstream Conbench."""
    digest = hashlib.md5(python_json_dumps_sorted(info).encode("utf-8"), usedforsecurity=False)
    return f"{name}-{digest.hexdigest()}"


def history_fingerprint(case_id: str, context_id: str, hardware_hash: str, repository: str) -> str:
    """md5 of the four strings concatenated without separators: the identity of a series."""
    text = case_id + context_id + hardware_hash + repository
    return hashlib.md5(text.encode("utf-8"), usedforsecurity=False).hexdigest()


def normalize_repository(url: str) -> str:
    """Rewrite `git@github.com:` to https, require a GitHub URL and strip trailing slashes.

    Raises ValueError carrying the exact upstream message.
    """
    if url.startswith("git@github.com:"):
        url = url.replace("git@github.com:", "https://github.com/")
    if not url.startswith(GITHUB_PREFIX):
        raise ValueError(
            f"'repository' must be a URL, starting with 'https://github.com', got `{url}`"
        )
    try:
        urlparse(url)
    except ValueError as exc:
        raise ValueError(f"'repository' failed URL validation: `{exc}`") from None
    return url.rstrip("/")
