"""Where the SQL files and the web UI live: the checkout, or the installed data files."""

import sys
from pathlib import Path


def _data_root() -> Path:
    checkout = Path(__file__).resolve().parent.parent
    if (checkout / "sql" / "migrations").is_dir():
        return checkout
    return Path(sys.prefix) / "share" / "conbench"


ROOT = _data_root()
SQL_DIR = ROOT / "sql"
MIGRATIONS_DIR = SQL_DIR / "migrations"
STATIC_DIR = ROOT / "static"
