"""Time-ordered ids in the layout of the `uuid7` 0.1.0 package upstream Conbench used (03 §1.2).

Not RFC 9562 UUIDv7: those start `019...` and would sort before every legacy id (`06...`).
"""

import os
import threading
import time
from datetime import UTC, datetime

_EPOCH = datetime(1970, 1, 1)
_SEQ_MAX = 0x3FFF
_T_MAX = (1 << 60) - 1
_lock = threading.Lock()
_last_t = -1
_seq = 0


def _fixed_point(unix_ns: int) -> int:
    """T = floor(unix_ns * 2**24 / 10**9): 36 bits of whole seconds, 24 bits of fraction.

    Clamped to the 60 bits of the layout, so instants before 1970 or after 4147 still give bounds.
    """
    return min(max((unix_ns << 24) // 1_000_000_000, 0), _T_MAX)


def id_prefix(unix_ns: int) -> str:
    """The 16 hex characters of time and version for an instant, e.g. `0647a82800007000`."""
    t = _fixed_point(unix_ns)
    return f"{t >> 28:08x}{(t >> 12) & 0xFFFF:04x}7{t & 0xFFF:03x}"


def _format(unix_ns: int, seq: int, tail: int) -> str:
    return f"{id_prefix(unix_ns)}{0x8000 | seq:04x}{tail:012x}"


def _next_seq(t: int) -> int:
    global _last_t, _seq
    if t == _last_t:
        # Like uuid7 0.1.0 the counter saturates; the random tail keeps ids unique.
        _seq = min(_seq + 1, _SEQ_MAX)
    else:
        _last_t, _seq = t, 0
    return _seq


def new_id_at(unix_ns: int) -> str:
    """A new id for the instant `unix_ns`; the sequence counter orders ids sharing one T."""
    with _lock:
        seq = _next_seq(_fixed_point(unix_ns))
    return _format(unix_ns, seq, int.from_bytes(os.urandom(6), "big"))


def new_id() -> str:
    """A new 32-hex-character id for now; reading the clock under the lock keeps ids ordered."""
    with _lock:
        unix_ns = time.time_ns()
        seq = _next_seq(_fixed_point(unix_ns))
    return _format(unix_ns, seq, int.from_bytes(os.urandom(6), "big"))


def _unix_ns(dt: datetime) -> int:
    if dt.tzinfo is not None:
        dt = dt.astimezone(UTC).replace(tzinfo=None)
    delta = dt - _EPOCH
    return ((delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds) * 1_000


def id_for_instant(dt: datetime) -> str:
    """The smallest id generated at `dt` (naive = UTC): the `earliest_timestamp` id bound."""
    return _format(_unix_ns(dt), 0, 0)
