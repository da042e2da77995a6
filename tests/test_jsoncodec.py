"""The JSON codec: orjson speed with the values the standard library gives, edges included."""

import dataclasses
import json
from datetime import UTC, datetime

import pytest
from falcon import testing

from conbench import jsoncodec
from conbench.app import create_app
from conbench.config import Settings
from tests import payloads

TOKEN = "jsoncodec-test-token"

BODIES = [
    b'{"a": 1, "b": [1.5, -0.0, 1e-7, 2.5e300, "\\u00e9\\ud83d\\ude00"], "a": 3}',
    b"123456789012345678901234567890",
    b'{"big": -123456789012345678901, "also": [18446744073709551616]}',
    b"[1, 12345678901234567890123.5, 12345678901234567890e3, 0.0001234567890123456789012]",
    b'{"sha": "0000000000000000000000000000000000000000", "n": "x 12345678901234567890123 y"}',
    b"[NaN, Infinity, -Infinity, 1e400]",
    b'\xef\xbb\xbf{"bom": true}',
    '{"utf16": 1}'.encode("utf-16"),
    b'"\\ud800"',
    b"  null\n",
]


def _outcome(parse, data):
    try:
        return repr(parse(data))
    except ValueError as exc:
        return type(exc).__name__


@pytest.mark.parametrize("body", BODIES)
def test_bodies_parse_to_what_the_standard_library_gives(body):
    assert _outcome(jsoncodec.loads, body) == _outcome(json.loads, body)
    text = (
        body.decode("utf-8", "surrogatepass") if body[:2] != b"\xff\xfe" else body.decode("utf-16")
    )
    assert _outcome(jsoncodec.loads, text) == _outcome(json.loads, text)


def test_integers_beyond_64_bits_stay_exact_integers():
    parsed = jsoncodec.loads(b'{"n": [123456789012345678901234567890, -9223372036854775809]}')
    assert parsed == {"n": [123456789012345678901234567890, -9223372036854775809]}
    assert all(type(v) is int for v in parsed["n"])


@pytest.mark.parametrize("body", [b"not json", b"[1,]", b'"\xff"', b"", b"{'a': 1}"])
def test_invalid_bodies_raise_what_the_standard_library_raises(body):
    with pytest.raises(ValueError) as expected:
        json.loads(body)
    with pytest.raises(ValueError) as caught:
        jsoncodec.loads(body)
    assert type(caught.value) is type(expected.value)


VALUES = [
    {"z": 1, "a": [1.0, -0.0, 1e-7, 1e16, 0.1, 123456789], "é": "ü \u2028 \x00 \x1f"},
    {1: "int key", None: "none key", False: "bool key", 2.5: "float key"},
    [2**64, -(2**63) - 1, 10**30],
    ("tuple", ["nested", {"k": ()}]),
]


@pytest.mark.parametrize("value", VALUES)
def test_encoding_parses_back_to_what_json_dumps_gave(value):
    encoded = jsoncodec.dumps(value)
    assert isinstance(encoded, bytes)
    assert json.loads(encoded) == json.loads(json.dumps(value, ensure_ascii=False))


def test_non_ascii_is_written_as_utf8():
    assert jsoncodec.dumps({"name": "café"}) == '{"name":"café"}'.encode()


@dataclasses.dataclass
class _Point:
    x: int


@pytest.mark.parametrize("value", [datetime.now(UTC), _Point(1), {1, 2}, b"bytes"])
def test_what_json_dumps_refuses_is_still_refused(value):
    with pytest.raises(TypeError):
        json.dumps(value)
    with pytest.raises(TypeError):
        jsoncodec.dumps({"value": value})


def test_a_lone_surrogate_fails_to_encode_as_before():
    with pytest.raises(UnicodeEncodeError):
        json.dumps("\ud800", ensure_ascii=False).encode()
    with pytest.raises(UnicodeEncodeError):
        jsoncodec.dumps({"s": "\ud800"})


def test_a_submitted_integer_beyond_64_bits_is_stored_and_served_exactly(work_db_url, db):
    settings = Settings.from_env({"CONBENCH_DB_URL": work_db_url, "CONBENCH_API_TOKEN": TOKEN})
    client = testing.TestClient(create_app(settings, db))
    body = payloads.legacy_result()
    body["optional_benchmark_info"] = {"big": 123456789012345678901234567890, "neg": -(2**70)}
    created = client.simulate_post(
        "/api/benchmark-results/",
        body=json.dumps(body),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {TOKEN}"},
    )
    assert created.status_code == 201, created.text
    served = client.simulate_get(f"/api/benchmark-results/{created.json['id']}/")
    assert b"123456789012345678901234567890" in served.content
    assert served.json["optional_benchmark_info"] == body["optional_benchmark_info"]
