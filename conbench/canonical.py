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
import json
import math
import re
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

    The C JSON encoder does the work: its text is already canonical unless a float is integral
    (`1.0` must read `1`) or has an exponent. Such bodies are rewritten (integral floats below
    2**53 become ints, which is exact) or, for exponents and larger integral floats, hashed
    through `canonical_json`. Lone surrogates (which `json.loads` lets through from `\\ud800`
    escapes) are encoded as-is.
    """
    stripped = {key: value for key, value in body.items() if key != "submission_key"}
    text = _FAST_ENCODER.encode(stripped)
    if _maybe_not_canonical(text):  # may also hit a string: then the rewrite is a no-op
        try:
            text = _FAST_ENCODER.encode(_integral_floats_as_ints(stripped))
        except _SlowPath:
            text = canonical_json(stripped)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


_FAST_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)
# `.0` closing a number, or an exponent; the digit before it is checked apart: a pattern that
# starts with a literal is searched several times faster than one that starts with `\d`.
_NUMBER_TAIL = re.compile(r"\.0[,\]}]|e[-+]\d")


def _maybe_not_canonical(text: str) -> bool:
    """Whether `text` may hold an integral float (`1.0`) or an exponent (`1e-07`)."""
    return any(m.start() and text[m.start() - 1].isdecimal() for m in _NUMBER_TAIL.finditer(text))


class _SlowPath(Exception):
    pass


def _integral_floats_as_ints(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _integral_floats_as_ints(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_integral_floats_as_ints(v) for v in value]
    if type(value) is float:
        if value.is_integer():
            if abs(value) < 2**53:
                return int(value)  # exact, and so are the shortest digits of such a float
            raise _SlowPath
        if "e" in repr(value):
            raise _SlowPath
    return value
