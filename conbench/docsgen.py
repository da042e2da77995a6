"""Reference documents generated from the code: `docs/cli.md` and the manpage `docs/conbench.1`.

Regenerate with `python -m conbench.docsgen`; tests fail when a committed file differs.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from argparse_manpage.manpage import Manpage

from conbench import __version__
from conbench.cli import get_parser
from conbench.paths import ROOT

DOCS_DIR = ROOT / "docs"

_CLI_INTRO = """\
# Command line

One command, `conbench`, runs the server, migrates the database and holds the operator tools.
Configuration comes from environment variables (see [configuration.md](configuration.md)); flags
override a variable only where the flag says so. Exit codes: 0 success, 1 runtime error (one line
on stderr), 2 usage error. Summaries go to stdout, diagnostics to stderr.

`serve` runs gunicorn with **sync** workers by default: threaded (gthread) workers showed p99 stalls
of 0.1-1 s under load on a 2-core machine, sync workers never did. `--threads N` with N > 1 selects
gthread workers for deployments that want them.

This file is generated from the argument parser by `python -m conbench.docsgen`; the manpage
`docs/conbench.1` comes from the same parser (`man ./docs/conbench.1`).
"""


def _subcommands(parser: argparse.ArgumentParser) -> list[tuple[str, argparse.ArgumentParser]]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return list(action.choices.items())
    return []


def _walk(parser: argparse.ArgumentParser, path: str) -> list[tuple[str, argparse.ArgumentParser]]:
    found = [(path, parser)]
    for name, sub in _subcommands(parser):
        found += _walk(sub, f"{path} {name}")
    return found


def render_cli_doc() -> str:
    """docs/cli.md: every command with its usage, description and options."""
    parts = [_CLI_INTRO]
    for path, parser in _walk(get_parser(), "conbench")[1:]:
        if _subcommands(parser):
            continue  # a group: its leaves are listed on their own
        parts.append(f"\n## `{path}`\n")
        if parser.description:
            parts.append(f"\n{parser.description}\n")
        usage = parser.format_usage().removeprefix("usage: ").strip()
        parts.append(f"\n```\n{' '.join(usage.split())}\n```\n")
        rows = [
            (", ".join(a.option_strings) or a.dest, a.help or "")
            for a in parser._actions
            if not isinstance(a, argparse._HelpAction)
        ]
        if rows:
            parts.append("\n| option | meaning |\n|---|---|\n")
            parts.extend(f"| `{opt}` | {_cell(text)} |\n" for opt, text in rows)
    return "".join(parts)


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def render_manpage() -> str:
    """docs/conbench.1 from the same parser, with a fixed date so the file is reproducible."""
    # argparse wraps to the terminal's width (COLUMNS); a fixed width keeps the file reproducible.
    saved = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = "100"
    try:
        page = Manpage(get_parser())
        page.date = __version__
        page.source = f"conbench {__version__}"
        page.manual = "Conbench manual"
        return str(page)
    finally:
        if saved is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = saved


GENERATED = {"cli.md": render_cli_doc, "conbench.1": render_manpage}


def write_docs(docs_dir: Path = DOCS_DIR) -> None:
    for name, render in GENERATED.items():
        (docs_dir / name).write_text(render(), encoding="utf-8")


if __name__ == "__main__":
    write_docs()
