"""Operations of the modern surface (02), and `OPERATIONS`: every operation of both surfaces.

Keys are (METHOD, route path exactly as registered); `conbench.openapi` documents an operation
only when the route table has its route, and a test fails when a registered route has no entry.
"""

from __future__ import annotations

from conbench.api_models import (
    BASELINES,
    CURSOR,
    THRESHOLD,
    THRESHOLD_Z,
    Operation,
    Param,
    Response,
    array,
    enum,
    integer,
    page_size,
    ref,
    string,
    timestamp,
)
from conbench.api_operations_legacy import LEGACY_OPERATIONS

MODERN_TAGS = (
    ("Results", "Submit, list, read, annotate and delete benchmark results."),
    ("Runs", "Runs are the results sharing a `run_id`."),
    ("Series", "Browse benchmark series with their latest status."),
    ("History", "Every point of a series, with its rolling statistics."),
    ("Compare", "Compare two results of one series."),
    ("CI", "The CI verdict for a commit or a set of runs."),
    ("Alerts", "Alert rules and the events their evaluation opened and resolved."),
    ("Tokens", "User API tokens for scripts and CI."),
    ("Auth", "OIDC login, the CLI loopback login and the caller's capabilities."),
    ("Meta", "Liveness."),
)

_NOT_FOUND = "benchmark result not found"
_INVALID = "A parameter or the body is invalid; `detail` names it."
_REPLAYED = ("Idempotent-Replayed", "`true` when a submission key matched a stored result.")
_THRESHOLDS = (THRESHOLD, THRESHOLD_Z)

# fmt: off
_RESULTS: dict[tuple[str, str], Operation] = {
    ("POST", "/api/results"): Operation(
        "submitResults", "Submit one benchmark result, or an array of them", "Results", "write",
        {
            201: Response(
                "Stored (or replayed): one object for one result, `results` for an array.",
                {"oneOf": [ref("ResultCreated"), ref("BulkResultCreated")]},
                headers=(_REPLAYED,),
            ),
            409: "submission key already exists with different content",
            422: "Validation failed; `errors[].location` points at each field, e.g. "
            "`body.stats.data[1]`.",
        },
        body={"oneOf": [ref("ResultSubmission"), array(ref("ResultSubmission"))]},
        description="With a `submission_key`, a repeat of the same body answers the original "
        "result without writing (the key is compared by the SHA-256 of the canonical JSON of "
        "the body without the key); the same key with another body is a conflict.",
    ),
    ("GET", "/api/benchmark-results"): Operation(
        "listBenchmarkResults", "List benchmark results", "Results", "public",
        {200: Response("A page, newest id first.", ref("ResultList")), 422: _INVALID},
        params=(
            Param("run_id", string(), "Only this run."),
            Param("batch_id", string(), "Only this batch."),
            Param("run_reason", string(), "Only this run reason."),
            Param("earliest_timestamp", timestamp(), "RFC 3339 lower bound."),
            Param("latest_timestamp", timestamp(), "RFC 3339 upper bound."),
            CURSOR,
            page_size(1000, 100),
        ),
        description="Without `run_id` and `batch_id`, only results from 2023-06-03 on are listed.",
    ),
    ("POST", "/api/benchmark-results"): Operation(
        "redirectLegacySubmission", "Redirect to the legacy create", "Results", "public",
        {308: "To `POST /api/benchmark-results/`; HTTP clients re-send the body."},
        description="Not a modern route: legacy clients that drop the trailing slash reach the "
        "legacy create this way. New clients use `POST /api/results`.",
    ),
    ("GET", "/api/benchmark-results/{id}"): Operation(
        "getBenchmarkResult", "Get a benchmark result", "Results", "public",
        {200: Response("The result.", ref("ResultDetail")), 404: _NOT_FOUND},
    ),
    ("PUT", "/api/benchmark-results/{id}"): Operation(
        "updateBenchmarkResult", "Update a result's change annotations", "Results", "write",
        {200: Response("The updated result.", ref("ResultDetail")), 404: _NOT_FOUND,
         422: _INVALID},
        body=ref("ChangeAnnotationsUpdate"),
    ),
    ("DELETE", "/api/benchmark-results/{id}"): Operation(
        "deleteBenchmarkResult", "Delete a benchmark result", "Results", "write",
        {204: "Deleted.", 404: _NOT_FOUND},
    ),
}

_ANALYSIS: dict[tuple[str, str], Operation] = {
    ("GET", "/api/runs/recent"): Operation(
        "listRecentRuns", "Recent runs, newest first", "Runs", "public",
        {200: Response("A page of runs.", ref("RecentRuns")), 422: _INVALID},
        params=(page_size(100, 25), Param("repository", string(), "Only this repository."),
                CURSOR),
        description="Bounded: the newest results are read until `page_size` runs are found or "
        "50,000 results were read; each run found is then counted exactly.",
    ),
    ("GET", "/api/series"): Operation(
        "listSeries", "Browse benchmark series", "Series", "public",
        {200: Response("A page of series.", ref("SeriesPage")), 422: _INVALID},
        params=(
            Param("q", string(), "Benchmark-name search."),
            Param("hardware", string(), "Hardware name or hash."),
            Param("repository", string(), "Only this repository."),
            Param("fingerprint", string(), "One history fingerprint."),
            Param("active_since", timestamp(), "Series with a result at or after this time."),
            Param("active_until", timestamp(), "Series with a result at or before this time."),
            THRESHOLD_Z,
            CURSOR,
            page_size(100, 25),
        ),
        description="Bounded: a broad query looks at a window of recent commits and marks the "
        "page `truncated` when results beyond it were left out.",
    ),
    ("GET", "/api/history/{benchmark_result_id}"): Operation(
        "getHistory", "History of the series a result belongs to", "History", "public",
        {200: Response("The series and its points.", ref("HistorySeries")), 404: "not found"},
    ),
    ("GET", "/api/history"): Operation(
        "getHistoryByFingerprint", "History of a series by fingerprint", "History", "public",
        {200: Response("The series and its points.", ref("HistorySeries")),
         404: "Unknown fingerprint.", 422: "fingerprint is required"},
        params=(Param("fingerprint", string(), "The history fingerprint.", required=True),),
    ),
    ("GET", "/api/compare/benchmark-results"): Operation(
        "compareResults", "Compare two results of one series", "Compare", "public",
        {
            200: Response("The comparison.", ref("Comparison")),
            404: "not found",
            422: "Missing ids, a bad threshold, or not comparable (fingerprints or units "
            "differ, or a side failed).",
        },
        params=(
            Param("baseline", string(), "Baseline result id.", required=True),
            Param("contender", string(), "Contender result id.", required=True),
            *_THRESHOLDS,
        ),
    ),
    ("GET", "/api/ci/report"): Operation(
        "getCIReport", "CI verdict for a commit or a set of runs", "CI", "public",
        {200: Response("The report.", ref("CIReport")), 404: "No run found.", 422: _INVALID},
        params=(
            Param("repository", string(), "With `commit_sha`: select the commit's runs."),
            Param("commit_sha", string(), "With `repository`."),
            Param("commit", string(), "Alias of `commit_sha`."),
            Param("run_ids", string(), "Comma-separated run ids."),
            Param("baseline_run_ids", string(), "Comma-separated, paired with `run_ids`."),
            Param("baseline", enum(*BASELINES), "Baseline commit (default `fork_point`)."),
            *_THRESHOLDS,
        ),
        description="At most 5,000 contender results. A commit without runs is a report with "
        "status `action_required`; run ids of which none exists answer 404.",
    ),
}

_ACCOUNT: dict[tuple[str, str], Operation] = {
    ("POST", "/api/alert-rules"): Operation(
        "createAlertRule", "Create an alert rule", "Alerts", "user",
        {201: Response("The rule.", ref("AlertRule")), 422: _INVALID},
        body=ref("AlertRuleInput"),
    ),
    ("GET", "/api/alert-rules"): Operation(
        "listAlertRules", "The caller's alert rules", "Alerts", "user",
        {200: Response("Oldest first.", ref("AlertRuleList"))},
    ),
    ("GET", "/api/alert-rules/{id}"): Operation(
        "getAlertRule", "Get an alert rule", "Alerts", "user",
        {200: Response("The rule.", ref("AlertRule")), 404: "Unknown id or another user's."},
    ),
    ("PUT", "/api/alert-rules/{id}"): Operation(
        "replaceAlertRule", "Replace an alert rule", "Alerts", "user",
        {200: Response("The rule.", ref("AlertRule")), 404: "Unknown id or another user's.",
         422: _INVALID},
        body=ref("AlertRuleInput"),
        description="Omitted optional fields take their defaults. Changing what is evaluated "
        "resets `state` to `inactive`.",
    ),
    ("DELETE", "/api/alert-rules/{id}"): Operation(
        "deleteAlertRule", "Delete an alert rule and its events", "Alerts", "user",
        {204: "Deleted.", 404: "Unknown id or another user's."},
    ),
    ("GET", "/api/alert-rules/{id}/events"): Operation(
        "listAlertEvents", "Events of an alert rule", "Alerts", "user",
        {200: Response("Newest first.", ref("AlertEventList")),
         404: "Unknown id or another user's.", 422: "limit must be between 1 and 500"},
        params=(Param("limit", integer(minimum=1, maximum=500, default=50), "1..500."),),
    ),
    ("POST", "/api/tokens"): Operation(
        "createToken", "Create an API token", "Tokens", "user",
        {201: Response("The token; the plaintext is shown only now.", ref("Token")),
         422: "name is required"},
        body=ref("TokenCreate"),
    ),
    ("GET", "/api/tokens"): Operation(
        "listTokens", "The caller's API tokens", "Tokens", "user",
        {200: Response("Newest first.", ref("TokenList"))},
    ),
    ("DELETE", "/api/tokens/{id}"): Operation(
        "revokeToken", "Revoke an API token", "Tokens", "user",
        {204: "Revoked (idempotent).", 404: "Unknown id or another user's."},
    ),
    ("GET", "/api/auth/login"): Operation(
        "login", "Start the OIDC login", "Auth", "public",
        {302: "To the identity provider.", 501: "OIDC login is not configured",
         502: "identity provider unavailable"},
        params=(Param("next", string(), "Same-origin path to return to."),),
    ),
    ("GET", "/api/auth/callback"): Operation(
        "loginCallback", "Finish the OIDC login", "Auth", "public",
        {302: "To `next`, `/`, or the CLI's loopback URL.",
         400: "invalid login state; email not verified; code exchange failed; or "
         "`invalid ID token: <check>` (signature, issuer, audience, expiry, nonce)",
         501: "OIDC login is not configured", 502: "identity provider unavailable"},
        params=(Param("code", string(), "Authorization code."),
                Param("state", string(), "The state sent to the provider.")),
    ),
    ("GET", "/api/auth/cli-start"): Operation(
        "cliLoginStart", "Start a CLI loopback login", "Auth", "public",
        {302: "To the loopback URL with a one-time code, or to the identity provider.",
         400: "invalid redirect_uri, or state missing",
         501: "OIDC login is not configured", 502: "identity provider unavailable"},
        params=(
            Param("redirect_uri", string(), "`http://127.0.0.1:<port>/…` or "
                  "`http://[::1]:<port>/…`.", required=True),
            Param("state", string(), "Echoed back to the loopback URL.", required=True),
        ),
    ),
    ("POST", "/api/auth/cli-exchange"): Operation(
        "cliLoginExchange", "Exchange a one-time CLI code for an API token", "Auth", "public",
        {200: Response("A new API token.", ref("Token")), 400: "invalid or expired code",
         422: "The body is not `{code, name?}`."},
        body=ref("CliExchange"),
    ),
    ("POST", "/api/auth/logout"): Operation(
        "logout", "Expire the session cookie", "Auth", "public", {204: "Logged out."},
    ),
    ("GET", "/api/auth/capabilities"): Operation(
        "getCapabilities", "What the caller can do", "Auth", "public",
        {200: Response("Sign-in state and enabled features.", ref("Capabilities"))},
    ),
    ("GET", "/api/users/me"): Operation(
        "getCurrentUser", "The signed-in user", "Auth", "session",
        {200: Response("The user.", ref("CurrentUser"))},
    ),
    ("GET", "/api/ping"): Operation(
        "ping", "Liveness probe", "Meta", "public",
        {200: Response("The process is up.", ref("Ping"))},
    ),
}
# fmt: on

MODERN_OPERATIONS = {**_RESULTS, **_ANALYSIS, **_ACCOUNT}
OPERATIONS: dict[tuple[str, str], Operation] = {**MODERN_OPERATIONS, **LEGACY_OPERATIONS}
