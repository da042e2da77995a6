"""Migration files: `sql/migrations/NNNNNN_name.(up|down).sql`, their directives and statements.

Two comment directives, each alone on its line: `-- conbench:no-transaction` runs the statements
one by one outside a transaction (needed for CREATE/DROP INDEX CONCURRENTLY, so every statement
must be idempotent), and `-- conbench:verify` ends the statements: the one query after it returns a
row per problem (column `problem`) and must return none before the version is recorded.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from conbench.paths import MIGRATIONS_DIR

_FILE_NAME = re.compile(r"^(\d{6})_([a-z0-9]+(?:_[a-z0-9]+)*)\.(up|down)\.sql$")
_DIRECTIVE = re.compile(r"^--\s*conbench:(\S*)\s*$", re.MULTILINE)
CONCURRENT_INDEX = re.compile(
    r"^\s*CREATE\s+(?:UNIQUE\s+)?INDEX\s+CONCURRENTLY\s+(?:IF\s+NOT\s+EXISTS\s+)?\"?([\w$]+)",
    re.IGNORECASE,
)
_DOLLAR_QUOTE = re.compile(r"\$(?:[A-Za-z_][A-Za-z0-9_]*)?\$")


class MigrationError(Exception):
    """The migrator refused or failed; str() is the one line shown to the operator."""


@dataclass(frozen=True)
class Script:
    """One parsed migration file."""

    statements: tuple[str, ...]
    verify: str | None
    transactional: bool


@dataclass(frozen=True)
class Migration:
    """Version N: `NNNNNN_name.up.sql` and its `.down.sql`; the checksum is the up file's."""

    version: int
    name: str
    up: Script
    down: Script
    checksum: str

    @property
    def label(self) -> str:
        return f"{self.version:06d}_{self.name}"

    @property
    def ledger_name(self) -> str:
        """The name recorded in the ledger, spelled as in spec 03 §6 (`submission-idempotency`)."""
        return self.name.replace("_", "-")


def available_migrations(directory: Path | None = None) -> list[Migration]:
    """The migrations shipped in `directory` (default sql/migrations), checked: file names
    `NNNNNN_name.(up|down).sql`, one name per number, up/down pairs, contiguous from 000001."""
    directory = directory or MIGRATIONS_DIR
    problems: list[str] = []
    files: dict[int, dict[str, Path]] = {}
    names: dict[int, set[str]] = {}
    for path in sorted(directory.iterdir()):
        if path.name.startswith("."):
            continue
        match = _FILE_NAME.match(path.name)
        if match is None or not path.is_file():
            problems.append(f"{path.name} is not named NNNNNN_name.up.sql or NNNNNN_name.down.sql")
            continue
        version = int(match.group(1))
        names.setdefault(version, set()).add(match.group(2))
        files.setdefault(version, {})[match.group(3)] = path
    for version in sorted(files):
        if len(names[version]) > 1:
            problems.append(f"version {version:06d} has several names: {sorted(names[version])}")
        problems += [
            f"{version:06d}_{min(names[version])} has no .{kind}.sql"
            for kind in ("up", "down")
            if kind not in files[version]
        ]
    missing = sorted(set(range(1, max(files, default=0) + 1)) - set(files))
    if not files:
        problems.append("there are no migrations")
    elif missing:
        problems.append(f"numbers are not contiguous from 000001: {missing[0]:06d} is missing")
    if problems:
        raise MigrationError(f"{directory}: {'; '.join(problems)}")
    migrations = []
    for version in sorted(files):
        up = files[version]["up"].read_bytes()
        label = files[version]["up"].name.removesuffix(".up.sql")
        migrations.append(
            Migration(
                version=version,
                name=names[version].pop(),
                up=parse_script(up.decode("utf-8"), files[version]["up"].name),
                down=parse_script(files[version]["down"].read_text("utf-8"), f"{label}.down.sql"),
                checksum=hashlib.sha256(up).hexdigest(),
            )
        )
    return migrations


def parse_script(text: str, source: str) -> Script:
    """Split a migration file into statements and its verify query, checking the directives."""
    directives = _DIRECTIVE.findall(text)
    unknown = sorted(set(directives) - {"no-transaction", "verify"})
    if unknown or directives.count("verify") > 1:
        raise MigrationError(f"{source}: unknown or repeated directive {unknown or ['verify']}")
    marker = re.search(r"^--\s*conbench:verify\s*$", text, re.MULTILINE)
    body, verify = (text[: marker.start()], text[marker.end() :]) if marker else (text, "")
    statements = tuple(split_statements(body))
    transactional = "no-transaction" not in directives
    if transactional and any(
        re.search(r"\bCONCURRENTLY\b", code_only(s), re.I) for s in statements
    ):
        raise MigrationError(f"{source}: CONCURRENTLY needs `-- conbench:no-transaction`")
    if verify.strip() and len(split_statements(verify)) != 1:
        raise MigrationError(f"{source}: the verify section must hold exactly one query")
    return Script(statements, verify.strip().rstrip(";") or None, transactional)


def split_statements(text: str) -> list[str]:
    """Split SQL at top-level semicolons, respecting quotes, dollar quotes and comments."""
    statements, start, i, n = [], 0, 0, len(text)
    while i < n:
        if text.startswith("--", i):
            end = text.find("\n", i)
            i = n if end < 0 else end + 1
        elif text.startswith("/*", i):
            depth, i = 1, i + 2
            while i < n and depth:
                depth += text.startswith("/*", i) - text.startswith("*/", i)
                i += 2 if text.startswith(("/*", "*/"), i) else 1
        elif text[i] in "'\"":
            quote, backslash = text[i], text[i] == "'" and text[i - 1 : i] in ("e", "E")
            i += 1
            while i < n and (text[i] != quote or text.startswith(quote * 2, i)):
                i += 2 if (backslash and text[i] == "\\") or text[i] == quote else 1
            i += 1
        elif text[i] == "$" and (tag := _DOLLAR_QUOTE.match(text, i)) and not _in_word(text, i):
            end = text.find(tag.group(0), tag.end())
            i = n if end < 0 else end + len(tag.group(0))
        elif text[i] == ";":
            statements.append(text[start:i])
            i, start = i + 1, i + 1
        else:
            i += 1
    statements.append(text[start:])
    return [s.strip() for s in statements if code_only(s)]


def _in_word(text: str, i: int) -> bool:
    return i > 0 and (text[i - 1].isalnum() or text[i - 1] == "_")


def code_only(statement: str) -> str:
    """The statement without its whole-line comments (what is left is worth executing)."""
    return "\n".join(
        line for line in statement.splitlines() if not line.strip().startswith("--")
    ).strip()
