"""Canonical JSON of a submission and its SHA-256 (02 §3.2), used for idempotent replays.

Numbers: a JSON integer (a Python int after `json.loads`) is written as its exact digits; a JSON
float as ECMAScript's Number::toString writes it, like RFC 8785: shortest round-trip digits,
integral values without a fraction (`1.0` -> `1`, `1e2` -> `100`, `-0.0` -> `0`), plain decimals
for exponents in [-7, 21) (`0.1`, `0.000001`, `100000000000000000000`) and `e` notation outside
(`1e-7`, `1e+21`). `NaN`/`Infinity` literals, which Python's parser accepts, are written as those
words rather than failing. Keys sort by code point; strings escape only `"`, `\\` and control
characters; the text is hashed as UTF-8.
"""

import hashlib
import math
from decimal import Decimal
from typing import Any

_SHORT_ESCAPES = {
    '"': '\\"',
    "\\": "\\\\",
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
}


def _string(value: str) -> str:
    out = []
    for char in value:
        if char in _SHORT_ESCAPES:
            out.append(_SHORT_ESCAPES[char])
        elif char < " ":
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def format_float(value: float) -> str:
    """ECMAScript Number::toString of a double (the RFC 8785 number form)."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0:
        return "0"
    sign = "-" if value < 0 else ""
    _, digit_tuple, exponent = Decimal(repr(abs(value))).as_tuple()
    digits = "".join(map(str, digit_tuple)).rstrip("0")
    exponent += len(digit_tuple) - len(digits)
    k = len(digits)
    n = exponent + k  # value = 0.digits x 10**n
    if k <= n <= 21:
        text = digits + "0" * (n - k)
    elif 0 < n <= 21:
        text = digits[:n] + "." + digits[n:]
    elif -6 < n <= 0:
        text = "0." + "0" * -n + digits
    else:
        mantissa = digits if k == 1 else digits[0] + "." + digits[1:]
        text = f"{mantissa}e{'+' if n - 1 >= 0 else '-'}{abs(n - 1)}"
    return sign + text


def canonical_json(value: Any) -> str:
    """The canonical text of a parsed JSON value (dict, list, str, int, float, bool, None)."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return format_float(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, list | tuple):
        return "[" + ",".join(canonical_json(item) for item in value) + "]"
    if isinstance(value, dict):
        items = sorted(value.items())
        return "{" + ",".join(_string(k) + ":" + canonical_json(v) for k, v in items) + "}"
    raise TypeError(f"not a JSON value: {type(value).__name__}")


def payload_sha256(body: dict) -> str:
    """Lowercase hex SHA-256 of the canonical body without its top-level `submission_key`.

    Lone surrogates (which `json.loads` lets through from `\\ud800` escapes) are encoded as-is.
    """
    stripped = {key: value for key, value in body.items() if key != "submission_key"}
    text = canonical_json(stripped)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
