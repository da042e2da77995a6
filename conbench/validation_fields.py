"""Field checkers and the problem collector behind `conbench.validation`.

Messages and conversions follow marshmallow 3 as upstream used it (01 §5.2): `Integer` truncates
JSON floats and parses strings with `int()`, `Decimal` takes numbers and numeric strings, and
booleans are never numbers.
"""

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

MISSING_FIELD = "Missing data for required field."
NOT_NULL = "Field may not be null."
UNKNOWN_FIELD = "Unknown field."
INVALID_INPUT = "Invalid input type."
NOT_STRING = "Not a valid string."
NOT_INTEGER = "Not a valid integer."
NOT_NUMBER = "Not a valid number."
NOT_MAPPING = "Not a valid mapping type."
NOT_LIST = "Not a valid list."
NOT_DATETIME = "Not a valid datetime."
SPECIAL_NUMBER = "Special numeric values (nan or infinity) are not permitted."
TOO_LARGE = "Number too large."

INT32 = (-(2**31), 2**31 - 1)
INT64 = (-(2**63), 2**63 - 1)

Path = tuple[str | int, ...]

# One email address, as the legacy user and login schemas accepted it.
EMAIL = re.compile(r"[^@\s]+@(?:[^@\s.]+(?:\.[^@\s.]+)+|localhost)")


class FieldError(Exception):
    """One value failed one check; the message is the marshmallow text."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Problem:
    """A failed check; `path` ends in `_schema`/`_errors` for whole-object messages."""

    path: Path
    message: str
    value: Any = None
    summary: str | None = None

    @property
    def location(self) -> str:
        """`body`, `body.stats.data[1]`, ...; whole-object messages sit at their object."""
        parts = ["body"]
        for part in self.path:
            if isinstance(part, int):
                parts.append(f"[{part}]")
            elif part not in ("_schema", "_errors"):
                parts.append(f".{part}")
        return "".join(parts)

    def describe(self) -> str:
        """The problem as one line: rule messages alone, field messages after their location."""
        if self.summary is not None:
            return self.summary
        location = self.location
        return self.message if location == "body" else f"{location[5:]}: {self.message}"


class Problems:
    """Collects every problem of one body, then renders the legacy and the modern error shapes."""

    def __init__(self) -> None:
        self.items: list[Problem] = []

    def __bool__(self) -> bool:
        return bool(self.items)

    def add(self, path: Path, message: str, value: Any = None, summary: str | None = None) -> None:
        """Record a problem; `summary` replaces the `location: message` form in `detail()`."""
        self.items.append(Problem(path, message, value, summary))

    def legacy(self) -> dict:
        """marshmallow's nested shape: `{"stats": {"data": {"1": ["Not a valid number."]}}}`."""
        tree: dict = {}
        for problem in self.items:
            node = tree
            for part in problem.path[:-1]:
                node = node.setdefault(str(part), {})
            node.setdefault(str(problem.path[-1]), []).append(problem.message)
        return tree

    def modern(self) -> list[dict]:
        """The problem+json `errors` list."""
        return [
            {"message": p.message, "location": p.location, "value": p.value} for p in self.items
        ]

    def detail(self) -> str:
        """One line: the first problem, and how many more there are."""
        first = self.items[0].describe()
        more = len(self.items) - 1
        return first if more == 0 else f"{first} (and {more} more problem{'s' * (more > 1)})"


def as_string(value: Any) -> str:
    """A JSON string, unchanged."""
    if not isinstance(value, str):
        raise FieldError(NOT_STRING)
    return value


def as_mapping(value: Any) -> dict:
    """A JSON object, unchanged (keys and values are free-form)."""
    if not isinstance(value, dict):
        raise FieldError(NOT_MAPPING)
    return value


def as_document(value: Any) -> dict:
    """A JSON object stored as it comes: free-form, but JSON, so a `NaN` or `Infinity` literal
    anywhere inside (Python's parser lets them through; PostgreSQL cannot store them) is refused
    with the message numbers get."""
    if has_special_number(as_mapping(value)):
        raise FieldError(SPECIAL_NUMBER)
    return value


def has_special_number(value: Any) -> bool:
    """Whether a parsed JSON value holds a non-finite float at any depth."""
    pending = [value]
    while pending:
        item = pending.pop()
        kind = type(item)
        if kind is dict:
            pending.extend(item.values())
        elif kind is list:
            pending.extend(item)
        elif kind is float and item - item != 0.0:
            return True
    return False


def as_integer(value: Any) -> int:
    """Integers, integral strings (`"8"`), and JSON floats truncated toward zero."""
    if isinstance(value, bool):
        raise FieldError(NOT_INTEGER)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if math.isnan(value):
            raise FieldError(NOT_INTEGER)
        if math.isinf(value):
            raise FieldError(TOO_LARGE)
        return int(value)
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            raise FieldError(NOT_INTEGER) from None
    raise FieldError(NOT_INTEGER)


def bounded(low: int, high: int) -> Callable[[Any], int]:
    """An integer checker limited to a column's range (marshmallow `Range` wording)."""

    def check(value: Any) -> int:
        number = as_integer(value)
        if not low <= number <= high:
            raise FieldError(
                f"Must be greater than or equal to {low} and less than or equal to {high}."
            )
        return number

    return check


def as_number(value: Any) -> float:
    """A finite float from a JSON number or numeric string (marshmallow `Decimal`, `float()`)."""
    if type(value) is float:
        # The Decimal round trip below gives a finite float back unchanged (repr is exact).
        if value - value == 0.0:
            return value
        raise FieldError(SPECIAL_NUMBER)
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise FieldError(NOT_NUMBER)
    try:
        number = Decimal(value if isinstance(value, str) else str(value))
    except InvalidOperation:
        raise FieldError(NOT_NUMBER) from None
    if not number.is_finite():
        raise FieldError(SPECIAL_NUMBER)
    result = float(number)
    # A finite decimal beyond the double range would become infinity: treated as a special value.
    if math.isinf(result):
        raise FieldError(SPECIAL_NUMBER)
    return result


_ISO_DATETIME = re.compile(
    r"(?P<year>\d{4})-(?P<month>\d{1,2})-(?P<day>\d{1,2})"
    r"[T ](?P<hour>\d{1,2}):(?P<minute>\d{1,2})"
    r"(?::(?P<second>\d{1,2})(?:\.(?P<microsecond>\d{1,6})\d{0,6})?)?"
    r"(?P<tzinfo>Z|[+-]\d{2}(?::?\d{2})?)?",
    re.ASCII,
)


def as_datetime(value: Any) -> datetime:
    """marshmallow's ISO 8601 grammar; naive means UTC; returns naive UTC with microseconds."""
    match = _ISO_DATETIME.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise FieldError(NOT_DATETIME)
    parts = match.groupdict()
    tz_text = parts.pop("tzinfo")
    if parts["microsecond"]:
        parts["microsecond"] = parts["microsecond"].ljust(6, "0")
    try:
        tz = UTC
        if tz_text and tz_text != "Z":
            minutes = 60 * int(tz_text[1:3]) + (int(tz_text[-2:]) if len(tz_text) > 3 else 0)
            tz = timezone(timedelta(minutes=-minutes if tz_text[0] == "-" else minutes))
        moment = datetime(**{k: int(v) for k, v in parts.items() if v is not None}, tzinfo=tz)
        return moment.astimezone(UTC).replace(tzinfo=None)
    except (ValueError, OverflowError):
        raise FieldError(NOT_DATETIME) from None


class Reader:
    """Reads the fields of one JSON object into checked values, recording problems under `path`."""

    def __init__(self, problems: Problems, obj: dict, path: Path = ()) -> None:
        self.problems, self.obj, self.path = problems, obj, path

    def reject_unknown(self, allowed: frozenset[str]) -> None:
        """Record "Unknown field." for every key outside `allowed`."""
        for key, value in self.obj.items():
            if key not in allowed:
                self.problems.add((*self.path, key), UNKNOWN_FIELD, value)

    def field(
        self,
        key: str,
        check: Callable[[Any], Any],
        *,
        required: bool = False,
        nullable: bool = False,
        null_message: str = NOT_NULL,
    ) -> Any:
        """The checked value; None when absent, null or invalid (recording a problem where due)."""
        if key not in self.obj:
            if required:
                self.problems.add((*self.path, key), MISSING_FIELD)
            return None
        value = self.obj[key]
        if value is None:
            if not nullable:
                summary = null_message if null_message != NOT_NULL else None
                self.problems.add((*self.path, key), null_message, None, summary)
            return None
        try:
            return check(value)
        except FieldError as exc:
            self.problems.add((*self.path, key), exc.message, value)
            return None

    def list_field(
        self,
        key: str,
        item: Callable[[Any], Any],
        *,
        required: bool = False,
        nullable: bool = False,
        items_nullable: bool,
    ) -> list | None:
        """A list whose items are checked one by one; item problems are keyed by index."""
        value = self.field(key, _as_list, required=required, nullable=nullable)
        if value is None:
            return None
        out, ok = [], True
        for index, element in enumerate(value):
            if element is None:
                if not items_nullable:
                    self.problems.add((*self.path, key, index), NOT_NULL)
                    ok = False
                out.append(None)
                continue
            try:
                out.append(item(element))
            except FieldError as exc:
                self.problems.add((*self.path, key, index), exc.message, element)
                ok = False
        return out if ok else None

    def nested(self, key: str, *, required: bool = False) -> "Reader | None":
        """A Reader over a nested object; a non-object records marshmallow's `_schema` message."""
        value = self.field(key, lambda v: v, required=required)
        if value is None:
            return None
        if not isinstance(value, dict):
            self.problems.add((*self.path, key, "_schema"), INVALID_INPUT, value)
            return None
        return Reader(self.problems, value, (*self.path, key))


def _as_list(value: Any) -> list:
    if not isinstance(value, list):
        raise FieldError(NOT_LIST)
    return value
