"""The JSON text of the insert statements' parameters: orjson, read back as the standard
library's text would be."""

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from conbench.queries import ingest

DOCUMENTS = [
    {"a": 1, "b": [1.5, None, True, "x"], "c": {"d": {}}},
    {"unicode": "caf\u00e9 \u2603 \U0001f600", "control": "a\u0000b\n\t\u001f"},
    {"big": 2**70, "small": -(2**63)},  # beyond 64 bits: the standard library's path
    {"surrogate": "\ud800"},  # orjson refuses: the standard library's path
    {1: "int key"},  # orjson refuses: the standard library's path (key "1")
    {"when": datetime(2024, 2, 1, 12, 30, 1, 123456), "aware": datetime(2024, 2, 1, tzinfo=UTC)},
    {"decimal": Decimal("1.25"), "floats": [0.1, 1e-7, 1e16, 123456789.123456789]},
    [{"id": "x", "data": [1.0, 2.0], "tags": {"k": "v"}}] * 3,
]


@pytest.mark.parametrize("value", DOCUMENTS, ids=range(len(DOCUMENTS)))
def test_parameter_json_reads_back_as_the_standard_librarys_text(value):
    assert isinstance(ingest._json(value), str)
    assert json.loads(ingest._json(value)) == json.loads(ingest._ENCODER.encode(value))


def test_values_json_cannot_carry_are_still_refused():
    with pytest.raises(TypeError):
        ingest._json({"x": object()})
