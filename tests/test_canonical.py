import hashlib
import json
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conbench.canonical import canonical_json, format_float, payload_sha256
from tests import payloads
from tests.payloads import modern_result


def canon(text: str) -> str:
    return canonical_json(json.loads(text))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1", "1"),
        ("1.0", "1"),
        ("1e2", "100"),
        ("1E2", "100"),
        ("-0", "0"),
        ("-0.0", "0"),
        ("0.1", "0.1"),
        ("1e-7", "1e-7"),
        ("0.000001", "0.000001"),
        ("1e21", "1e+21"),
        ("1e20", "100000000000000000000"),
        ("2.5", "2.5"),
        ("-1.25e-10", "-1.25e-10"),
        ("0.30000000000000004", "0.30000000000000004"),
        ("123456789012345678901234567890", "123456789012345678901234567890"),
    ],
)
def test_numbers_have_one_canonical_form(text, expected):
    assert canon(text) == expected


@pytest.mark.parametrize(
    ("bits", "expected"),
    [
        ("0000000000000001", "5e-324"),
        ("7fefffffffffffff", "1.7976931348623157e+308"),
        ("4340000000000000", "9007199254740992"),
        ("4430000000000000", "295147905179352830000"),
        ("44b52d02c7e14af5", "9.999999999999997e+22"),
        ("44b52d02c7e14af6", "1e+23"),
        ("444b1ae4d6e2ef4f", "999999999999999900000"),
        ("3eb0c6f7a0b5ed8c", "9.999999999999997e-7"),
        ("41b3de4355555555", "333333333.3333333"),
        ("becbf647612f3696", "-0.0000033333333333333333"),
    ],
)
def test_floats_match_the_rfc_8785_vectors(bits, expected):
    assert format_float(struct.unpack(">d", bytes.fromhex(bits))[0]) == expected


def test_non_standard_literals_are_written_not_rejected():
    assert canon("[NaN, Infinity, -Infinity]") == "[NaN,Infinity,-Infinity]"


def test_keys_sort_by_code_point_at_every_level():
    assert canon('{"b": {"z": 1, "a": 2}, "a": [{"y": 1, "x": 2}], "B": 0}') == (
        '{"B":0,"a":[{"x":2,"y":1}],"b":{"a":2,"z":1}}'
    )


def test_strings_escape_only_quote_backslash_and_controls():
    assert canon(r'"a\"b\\c\n\u0001\u007f é €"') == '"a\\"b\\\\c\\n\\u0001\x7f é €"'


def test_literals_and_empty_containers():
    assert canon('{"a": null, "b": true, "c": false, "d": {}, "e": []}') == (
        '{"a":null,"b":true,"c":false,"d":{},"e":[]}'
    )


def test_hash_ignores_the_top_level_submission_key():
    assert payload_sha256(modern_result("k1")) == payload_sha256(modern_result("k2"))
    assert payload_sha256(modern_result("k1")) == payload_sha256(modern_result(None))


def test_hash_keeps_a_nested_submission_key():
    body = modern_result(info={"submission_key": "x"})
    assert payload_sha256(body) != payload_sha256(modern_result(info={}))


def test_hash_ignores_key_order_whitespace_and_number_spelling():
    first = json.loads('{"a": 1.0, "b": [1e2, 0.5]}')
    second = json.loads('{ "b" : [100, 5e-1], "a" : 1 }')
    assert payload_sha256(first) == payload_sha256(second)


def test_null_absent_and_empty_object_hash_differently():
    hashes = {payload_sha256({"a": None}), payload_sha256({}), payload_sha256({"a": {}})}
    assert len(hashes) == 3


def test_hash_is_lowercase_hex_sha256_of_the_utf8_text():
    body = {"name": "é", "n": 1}
    expected = hashlib.sha256('{"n":1,"name":"é"}'.encode()).hexdigest()
    assert payload_sha256(body) == expected


def test_hash_does_not_mutate_the_body():
    body = modern_result("k")
    payload_sha256(body)
    assert body["submission_key"] == "k"


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.sampled_from([0.0, -0.0, 1.0, 1e-05, 1e-07, 1e16, 1e21, 1.5e22, 123456.789, 1e-4])
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.text(), json_values, max_size=6), st.text(min_size=1))
def test_fast_hash_equals_the_hash_of_the_canonical_text(body, key):
    body["submission_key"] = key
    assert payload_sha256(body) == _exact(body)


def test_fast_hash_of_a_realistic_body_equals_the_hash_of_the_canonical_text():
    body = payloads.modern_result(stats=payloads.stats(data=[1.0, 2.5e-05, 3], times=[1e16]))
    assert payload_sha256(body) == _exact(body)


def _exact(body):
    stripped = {k: v for k, v in body.items() if k != "submission_key"}
    return hashlib.sha256(canonical_json(stripped).encode("utf-8", "surrogatepass")).hexdigest()
