"""`conbench ci report`: fetch the server's CI report and print it as Markdown or JSON (02 §14).

The exit code follows the report: 0 for `success` and `skipped`, 1 for `failure` and
`action_required` (and for a server or network failure), 2 for usage errors, including the
parameters the server refuses (422).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from typing import Any

import jinja2
import requests

from conbench.cli import Env, UsageError
from conbench.commands.auth import server_url

TIMEOUT = (5.0, 120.0)  # connect, read: a report of 5000 rows takes a moment
PASSING = ("success", "skipped")
ROW_LIMIT = 50  # rows per Markdown section; the full report has them all
ICONS = {"success": "✅", "skipped": "⏭️", "failure": "❌", "action_required": "⚠️"}
_BLANK_LINES = re.compile(r"\n{3,}")


class ReportFailed(Exception):
    """No report could be fetched: exit 1."""


def cmd_ci_report(env: Env, args: argparse.Namespace) -> int:
    """Print the CI report of a commit or of runs; the exit code says whether CI should pass."""
    try:
        server = server_url(env, args.server)
        params = report_params(args)
        report = fetch_report(server, params)
    except UsageError as exc:
        print(f"usage error: {exc}", file=sys.stderr)
        return 2
    except ReportFailed as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if args.format == "json":
        print(json.dumps(report, indent=2))
    else:
        print(render_markdown(report), end="")
    return 0 if report.get("status") in PASSING else 1


def _ids(values: list[str] | None) -> list[str]:
    """Ids from repeated or comma-separated arguments, trimmed, empties dropped."""
    return [part.strip() for value in values or () for part in value.split(",") if part.strip()]


def report_params(args: argparse.Namespace) -> dict[str, str]:
    """The query of `GET /api/ci/report`; the selector rules are checked here too, so a typo
    fails before any request."""
    run_ids, baseline_run_ids = _ids(args.run_ids), _ids(args.baseline_run_ids)
    if (args.repository is None) != (args.commit is None):
        raise UsageError("--repository and --commit must be given together")
    if args.repository is None and not run_ids:
        raise UsageError("give --repository and --commit, or --run-ids")
    params: dict[str, str] = {}
    if args.repository is not None:
        params["repository"] = args.repository
        params["commit_sha"] = args.commit
    if run_ids:
        params["run_ids"] = ",".join(run_ids)
    if baseline_run_ids:
        params["baseline_run_ids"] = ",".join(baseline_run_ids)
    for name in ("baseline", "threshold", "threshold_z"):
        value = getattr(args, name)
        if value is not None:
            params[name] = str(value)
    return params


def fetch_report(server: str, params: dict[str, str]) -> dict[str, Any]:
    """The report body; a 422 is a usage error (its detail says which parameter)."""
    try:
        resp = requests.get(f"{server}/api/ci/report", params=params, timeout=TIMEOUT)
    except requests.RequestException as exc:
        raise ReportFailed(f"request failed: {exc}") from None
    if resp.status_code == 200:
        try:
            return resp.json()
        except ValueError:
            raise ReportFailed("the server answered 200 without a JSON body") from None
    message = f"HTTP {resp.status_code}: {_detail(resp)}"
    if resp.status_code == 422:
        raise UsageError(message)
    raise ReportFailed(message)


def _detail(resp: requests.Response) -> str:
    try:
        body = resp.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and (body.get("detail") or body.get("description")):
        return str(body.get("detail") or body.get("description"))
    return resp.reason or "no detail"


def render_markdown(report: dict[str, Any]) -> str:
    """The report as GitHub-flavoured Markdown (template `conbench/templates/ci_report.md.j2`)."""
    rows = [row for run in report["runs"] for row in run["comparisons"]]

    def of(status: str) -> list[dict[str, Any]]:
        return [row for row in rows if row["status"] == status]

    text = (
        _environment()
        .get_template("ci_report.md.j2")
        .render(
            report=report,
            s=report["summary"],
            icon=ICONS.get(report["status"], ""),
            sections=[("Regressions", of("regressed")), ("Improvements", of("improved"))],
            errored=of("errored"),
            limit=ROW_LIMIT,
        )
    )
    return _BLANK_LINES.sub("\n\n", text)


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("conbench", "templates"),
        autoescape=False,  # Markdown, not HTML; cells are escaped by the `cell` filter
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["cell"] = _cell
    env.filters["code"] = _code
    env.globals.update(
        number=_number, svs=_svs, percent=_percent, z=_z, row_name=_row_name, run_note=_run_note
    )
    return env


def _cell(value: Any) -> str:
    """Text safe inside a Markdown table cell: no pipes or line breaks."""
    return str(value).replace("|", "\\|").replace("\r", " ").replace("\n", " ")


def _code(value: Any) -> str:
    return "`" + str(value).replace("`", "'") + "`"


def _number(value: float | None) -> str:
    if value is None:
        return "—"
    return str(int(value)) if float(value).is_integer() else f"{value:.4g}"


def _svs(side: dict[str, Any] | None) -> str:
    if side is None or side["single_value_summary"] is None:
        return "—"
    return f"{side['single_value_summary']:.4g}"


def _percent(row: dict[str, Any]) -> str:
    pairwise = (row["analysis"] or {}).get("pairwise")
    return "—" if pairwise is None else f"{pairwise['percent_change']:+g}%"


def _z(row: dict[str, Any]) -> str:
    z = (row["analysis"] or {}).get("lookback_z_score")
    return "—" if z is None else f"{z['z_score']:+g}"


def _row_name(row: dict[str, Any]) -> str:
    """The benchmark name with its other case tags, e.g. `sort (dataset=uniform)`."""
    tags = ", ".join(f"{k}={v}" for k, v in sorted(row["tags"].items()) if k != "name")
    return f"{row['name']} ({tags})" if tags else row["name"]


def _run_note(run: dict[str, Any]) -> str:
    error = run["baseline_error"]
    if error is not None:
        return f"{error['code']}: {error['message']}"
    if run["commits_skipped"]:
        return f"{len(run['commits_skipped'])} newer ancestor commit(s) had no baseline run"
    return ""
