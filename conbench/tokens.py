"""User API tokens and CLI login codes (07 §2.3, 02 §11): formats and hashes, no I/O.

A token carries 256 random bits, so a plain SHA-256 is the right storage hash: a slow hash only
helps against guessable secrets.
"""

from __future__ import annotations

import base64
import hashlib
import secrets

TOKEN_PREFIX = "cb_"
TOKEN_BODY_LENGTH = 43  # 32 bytes in base62 need at most 43 digits
PREFIX_LENGTH = 8
_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def base62(data: bytes) -> str:
    """`data` as a big-endian number written in base62 (`0-9A-Za-z`); empty for zero."""
    number = int.from_bytes(data, "big")
    digits = []
    while number:
        number, rest = divmod(number, 62)
        digits.append(_BASE62[rest])
    return "".join(reversed(digits))


def new_token() -> str:
    """A fresh plaintext token: `cb_` + 32 random bytes in base62, left-padded to 43 characters."""
    return TOKEN_PREFIX + base62(secrets.token_bytes(32)).rjust(TOKEN_BODY_LENGTH, "0")


def token_prefix(token: str) -> str:
    """The first 8 characters, stored and shown so a user can tell tokens apart."""
    return token[:PREFIX_LENGTH]


def token_hash(token: str) -> str:
    """Hex SHA-256 of the whole plaintext: what `api_token.token_hash` stores."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_cli_code() -> str:
    """A one-time CLI login code: 32 random bytes, base64url without padding."""
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode("ascii")


def code_hash(code: str) -> str:
    """Hex SHA-256 of a CLI login code: only this reaches the database."""
    return hashlib.sha256(code.encode("utf-8")).hexdigest()
