import hashlib
import json

import pytest

from conbench.identity import (
    cluster_hash,
    history_fingerprint,
    machine_hash,
    normalize_repository,
    python_json_dumps_sorted,
)


def test_machine_hash_joins_name_gpus_cores_threads_memory():
    assert machine_hash("demo-runner", 0, 10, 10, 34359738368) == "demo-runner-0-10-10-34359738368"


def test_cluster_hash_of_the_spec_example():
    assert (
        cluster_hash("c1", {"workers": 4, "region": "us"}) == "c1-bb018ab84e04e12cd6e14b8b3ff9c548"
    )


def test_cluster_json_text_sorts_keys_with_python_separators():
    assert (
        python_json_dumps_sorted({"workers": 4, "region": "us"}) == '{"region": "us", "workers": 4}'
    )


def test_cluster_json_text_escapes_non_ascii_like_python():
    text = python_json_dumps_sorted({"city": "Zürich", "emoji": "\U0001f600"})
    assert text == '{"city": "Z\\u00fcrich", "emoji": "\\ud83d\\ude00"}'


def test_cluster_json_text_keeps_python_float_repr_of_parsed_json():
    parsed = json.loads('{"a": 1.0, "b": 0.00001, "c": 1e21, "d": [true, null]}')
    assert (
        python_json_dumps_sorted(parsed) == '{"a": 1.0, "b": 1e-05, "c": 1e+21, "d": [true, null]}'
    )


def test_cluster_hash_sorts_nested_objects():
    first = cluster_hash("c", {"x": {"b": 1, "a": 2}})
    second = cluster_hash("c", {"x": {"a": 2, "b": 1}})
    assert first == second


def test_history_fingerprint_is_md5_of_the_concatenation():
    expected = hashlib.md5(b"case1ctx1demo-0-1-1-1https://github.com/o/r").hexdigest()
    assert (
        history_fingerprint("case1", "ctx1", "demo-0-1-1-1", "https://github.com/o/r") == expected
    )


def test_history_fingerprint_hashes_utf8():
    expected = hashlib.md5("abé-https://github.com/o/r".encode()).hexdigest()
    assert history_fingerprint("a", "b", "é-", "https://github.com/o/r") == expected


def test_repository_git_ssh_form_becomes_https():
    assert normalize_repository("git@github.com:apache/arrow") == "https://github.com/apache/arrow"


def test_repository_trailing_slashes_are_stripped():
    assert (
        normalize_repository("https://github.com/apache/arrow//")
        == "https://github.com/apache/arrow"
    )


def test_repository_outside_github_is_rejected_with_the_upstream_message():
    with pytest.raises(ValueError) as info:
        normalize_repository("https://gitlab.com/o/r")
    assert str(info.value) == (
        "'repository' must be a URL, starting with 'https://github.com', got `https://gitlab.com/o/r`"
    )


def test_repository_that_urlparse_rejects_is_rejected():
    with pytest.raises(ValueError) as info:
        normalize_repository("https://github.com[/o/r")
    assert str(info.value) == "'repository' failed URL validation: `Invalid IPv6 URL`"
