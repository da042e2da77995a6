"""Named-query loader: `sql/<module>.sql` holds queries headed `-- name: verb_noun`.

Lines after the header that start with `--` document the query; the rest, up to the next header,
is the statement. Parameters are psycopg's own `%(name)s`.
"""

import re
from functools import cache

from conbench.paths import SQL_DIR

_HEADER = re.compile(r"^--\s*name:\s*([a-z_][a-z0-9_]*)\s*$", re.MULTILINE)


class QueryFileError(ValueError):
    """A query file is malformed (duplicate name, empty statement)."""


def parse_queries(text: str, source: str = "<string>") -> dict[str, str]:
    """Split a query file into {name: statement}."""
    queries: dict[str, str] = {}
    headers = list(_HEADER.finditer(text))
    for i, match in enumerate(headers):
        end = headers[i + 1].start() if i + 1 < len(headers) else len(text)
        body = [
            line
            for line in text[match.end() : end].strip().splitlines()
            if not line.lstrip().startswith("--")
        ]
        statement = "\n".join(body).strip()
        name = match.group(1)
        if not statement:
            raise QueryFileError(f"{source}: query {name} has no statement")
        if name in queries:
            raise QueryFileError(f"{source}: query {name} is defined twice")
        queries[name] = statement
    return queries


@cache
def load(module: str) -> dict[str, str]:
    """The named queries of `sql/<module>.sql`, read once per process."""
    path = SQL_DIR / f"{module}.sql"
    return parse_queries(path.read_text(encoding="utf-8"), str(path))
