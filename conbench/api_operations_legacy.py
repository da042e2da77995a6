"""Operations of the legacy v1 surface (01), keyed by (METHOD, route path as registered)."""

from __future__ import annotations

from dataclasses import replace

from conbench.api_models import Operation, Param, Response, array, integer, number, ref, string

PAGE_SIZE = Param(
    "page_size", integer(minimum=1, maximum=1000, default=100), "Rows per page, 1..1000."
)
PAGE_CURSOR = Param("cursor", string(), "`next_page_cursor` of the previous page; `null` = first.")
THRESHOLDS = (
    Param("threshold", number(), "Pairwise percent-change threshold (default 5)."),
    Param("threshold_z", number(), "Lookback z-score threshold (default 5)."),
)
SUBMIT_400 = Response(
    "Schema error (field → messages) or a creation rule (`{description}` only).",
    {"oneOf": [ref("LegacyError"), ref("LegacyBusinessError")]},
)
CREATED = Response("Created.", ref("LegacyResult"), headers=(("Location", "`links.self`."),))
BUSY = Response(
    "Other compare work is running; retry soon.",
    ref("LegacyBusinessError"),
    headers=(("Retry-After", "Seconds: 1."),),
)


def _catalog(
    name: str, plural: str, path: str, schema: str, note: str
) -> dict[tuple[str, str], Operation]:
    """The list and item routes of a catalog."""
    return {
        ("GET", f"/api/{path}/"): Operation(
            f"legacyList{plural}",
            f"List {note}",
            "Catalog",
            "public",
            {200: Response("A plain list.", array(ref(schema)))},
        ),
        ("GET", f"/api/{path}/{{id}}/"): Operation(
            f"legacyGet{name}",
            f"Get one {name.lower()}",
            "Catalog",
            "public",
            {200: Response("The entity.", ref(schema)), 404: "Unknown id."},
        ),
    }


def _aliases(operations: dict[tuple[str, str], Operation]) -> dict[tuple[str, str], Operation]:
    """`/api/benchmarks/…` is the older name of `/api/benchmark-results/…`; clients still use it."""
    return {
        (method, path.replace("/benchmark-results/", "/benchmarks/")): replace(
            op,
            operation_id=op.operation_id + "Alias",
            summary=op.summary + " (alias)",
            description=f"Same as `{method} {path}`.",
        )
        for (method, path), op in operations.items()
    }


# fmt: off
_RESULTS: dict[tuple[str, str], Operation] = {
    ("POST", "/api/benchmark-results/"): Operation(
        "legacyCreateResult", "Submit a benchmark result", "Results", "write",
        {201: CREATED, 400: SUBMIT_400},
        body=ref("LegacyResultSubmission"),
        description="Not idempotent: re-posting stores a duplicate. GitHub metadata of a new "
        "commit is fetched within a time budget; a failure stores an unknown commit instead.",
    ),
    ("GET", "/api/benchmark-results/"): Operation(
        "legacyListResults", "List benchmark results", "Results", "public",
        {200: Response("A page, newest id first.", ref("LegacyResultList")), 400: "Bad parameter."},
        params=(
            Param("run_id", string(), "Only this run."),
            Param("run_reason", string(), "Only this run reason."),
            Param("earliest_timestamp", string(format="date-time"), "ISO 8601 lower bound."),
            Param("latest_timestamp", string(format="date-time"), "ISO 8601 upper bound."),
            PAGE_CURSOR,
            PAGE_SIZE,
        ),
        description="Without `run_id`, only results from 2023-06-03 on are listed.",
    ),
    ("GET", "/api/benchmark-results/{id}/"): Operation(
        "legacyGetResult", "Get a benchmark result", "Results", "public",
        {200: Response("The result.", ref("LegacyResult")), 404: "Unknown id."},
    ),
    ("PUT", "/api/benchmark-results/{id}/"): Operation(
        "legacyUpdateResult", "Update a result's change annotations", "Results", "write",
        {
            200: Response("The updated result.", ref("LegacyResult")),
            400: "Bad body.",
            404: "Unknown id (checked before the body).",
        },
        body=ref("LegacyChangeAnnotations"),
    ),
    ("DELETE", "/api/benchmark-results/{id}/"): Operation(
        "legacyDeleteResult", "Delete a benchmark result", "Results", "write",
        {204: "Deleted.", 404: "Unknown id."},
    ),
}

_USER_BODY_400 = "Bad body, or the email address is already in use."

LEGACY_OPERATIONS: dict[tuple[str, str], Operation] = {
    ("GET", "/api/"): Operation(
        "legacyIndex", "Links to the API's collections", "Meta", "write",
        {200: Response("Absolute URLs.", ref("LegacyIndex"))},
    ),
    ("GET", "/api/ping/"): Operation(
        "legacyPing", "Liveness probe", "Meta", "public",
        {200: Response("The process is up.", ref("Ping"))},
    ),
    ("POST", "/api/login/"): Operation(
        "legacyLogin", "Exchange a user API token for a session cookie", "Auth", "public",
        {
            204: Response("Logged in.", headers=(("Set-Cookie", "`conbench_session`."),)),
            400: "Invalid email or password.",
            429: Response("Too many failed attempts.", ref("LegacyBusinessError")),
            501: "CONBENCH_SESSION_SECRET is not set.",
        },
        body=ref("LoginRequest"),
        description="The password is a user API token; there are no stored passwords.",
    ),
    ("GET", "/api/logout/"): Operation(
        "legacyLogout", "Expire the session cookie", "Auth", "public", {204: "Logged out."}
    ),
    ("POST", "/api/register/"): Operation(
        "legacyRegister", "Retired registration", "Auth", "public",
        {410: "Registration is retired; ask an operator for an API token."},
    ),
    ("GET", "/api/google/"): Operation(
        "legacyGoogleLogin", "Redirect to the OIDC login", "Auth", "public",
        {302: "To `/api/auth/login`.", 501: "OIDC is not configured."},
        params=(Param("target", string(), "Same-origin path to return to."),),
    ),
    ("GET", "/api/google/callback"): Operation(
        "legacyGoogleCallback", "Redirect to the OIDC callback", "Auth", "public",
        {302: "To `/api/auth/callback` with the same query.", 501: "OIDC is not configured."},
    ),
    ("GET", "/api/users/"): Operation(
        "legacyListUsers", "List users", "Users", "write",
        {200: Response("A plain list.", array(ref("User")))},
    ),
    ("POST", "/api/users/"): Operation(
        "legacyCreateUser", "Create a user", "Users", "write",
        {
            201: Response("Created.", ref("User"), headers=(("Location", "The user's URL."),)),
            400: _USER_BODY_400,
        },
        body=ref("UserCreate"),
    ),
    ("GET", "/api/users/{id}/"): Operation(
        "legacyGetUser", "Get a user", "Users", "write",
        {200: Response("The user.", ref("User")), 404: "Unknown id."},
    ),
    ("PUT", "/api/users/{id}/"): Operation(
        "legacyUpdateUser", "Update a user", "Users", "write",
        {200: Response("The user.", ref("User")), 400: _USER_BODY_400, 404: "Unknown id."},
        body=ref("UserUpdate"),
    ),
    ("DELETE", "/api/users/{id}/"): Operation(
        "legacyDeleteUser", "Delete a user and their API tokens", "Users", "write",
        {
            204: "Deleted.",
            404: "Unknown id.",
            409: Response("The user owns alert rules.", ref("LegacyBusinessError")),
        },
    ),
    **_RESULTS,
    **_aliases(_RESULTS),
    ("GET", "/api/runs/"): Operation(
        "legacyListRuns", "Runs of some commits", "Runs", "public",
        {200: Response("One entry per run.", ref("LegacyRunList")), 400: "commit_hash is required"},
        params=(
            Param("commit_hash", string(), "Comma-separated commit SHAs.", required=True),
            PAGE_CURSOR,
            PAGE_SIZE,
        ),
    ),
    ("GET", "/api/runs/{run_id}/"): Operation(
        "legacyGetRun", "Get a run with its candidate baseline runs", "Runs", "public",
        {200: Response("The run.", ref("RunWithBaselines")), 404: "No result has this run id."},
    ),
    ("GET", "/api/compare/benchmark-results/{ids}/"): Operation(
        "legacyCompareResults", "Compare two benchmark results", "Compare", "public",
        {
            200: Response("The comparison.", ref("LegacyComparison")),
            400: "Benchmark units do not match, or a bad threshold.",
            404: "Malformed ids or an unknown result.",
            429: BUSY,
            504: "The comparison query timed out.",
        },
        params=THRESHOLDS,
    ),
    ("GET", "/api/compare/runs/{ids}/"): Operation(
        "legacyCompareRuns", "Compare two runs, result by result", "Compare", "public",
        {
            200: Response("A page of comparisons.", ref("LegacyComparisonList")),
            400: "Bad parameter.",
            404: "Unknown run.",
            429: BUSY,
            504: "The comparison query timed out.",
        },
        params=(*THRESHOLDS, PAGE_CURSOR, PAGE_SIZE),
        description="A page holds the next `page_size` history fingerprints of both runs.",
    ),
    ("GET", "/api/history/{benchmark_result_id}/"): Operation(
        "legacyHistory", "History of a result's series", "History", "public",
        {200: Response("Every point, oldest first.", ref("HistorySampleList")), 404: "Unknown id."},
    ),
    ("GET", "/api/history/download/{benchmark_result_id}/"): Operation(
        "legacyHistoryCsv", "History of a result's series as CSV", "History", "public",
        {
            200: Response("A CSV attachment with `# ` header lines.", string(), media="text/csv"),
            404: "Unknown id, or no default-branch history.",
        },
    ),
    ("GET", "/api/commits/"): Operation(
        "legacyListCommits", "List commits", "Catalog", "public",
        {200: Response("A plain list, newest first (at most 500).", array(ref("Commit")))},
        params=(Param("sha", string(), "Comma-separated SHAs: every row with one of them."),),
    ),
    ("GET", "/api/commits/{id}/"): Operation(
        "legacyGetCommit", "Get a commit", "Catalog", "public",
        {200: Response("The commit with `links.parent`.", ref("Commit")), 404: "Unknown id."},
    ),
    **_catalog("Hardware", "Hardware", "hardware", "Hardware", "hardware (500, by name)"),
    **_catalog("Context", "Contexts", "contexts", "TagEntity", "contexts (500)"),
    **_catalog("Info", "Infos", "info", "TagEntity", "info rows (500)"),
}
# fmt: on

LEGACY_TAGS = (
    ("Results", "Submit, list, read, annotate and delete benchmark results."),
    ("Runs", "Runs are the results sharing a `run_id`."),
    ("Compare", "Pairwise and lookback z-score comparisons."),
    ("History", "The series a result belongs to."),
    ("Catalog", "Commits, hardware, contexts and info rows."),
    ("Users", "User accounts."),
    ("Auth", "Session login with an API token; retired registration and SSO redirects."),
    ("Meta", "The index and the liveness probe."),
)
