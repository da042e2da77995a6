"""`conbench admin repair-commits` (05 §6) against a fake GitHub and a real database."""

import base64
import json
import threading

import pytest

from conbench import cli
from conbench.commands.repair import Options, decode_cursor, encode_cursor, repair
from conbench.db import connect
from conbench.enrichment import Enricher
from conbench.github import GitHubClient, TokenPool
from tests import factories
from tests.fake_github import FakeGitHub

URL = "https://github.com/org/repo"
TOKEN = "ghp_repair000000000000000000000000000"
KEYS = {
    "scanned", "repaired", "would_repair", "unsupported_repository", "failed",
    "auth_or_quota_failures", "already_repaired", "backfill_enqueued", "would_backfill",
    "backfill_timed_out", "next_cursor",
}  # fmt: skip


@pytest.fixture
def fake():
    server = FakeGitHub().start()
    server.add_repo("org/repo")
    server.add_history("org/repo", 40)
    yield server
    server.stop()


@pytest.fixture
def db(fresh_db_url):
    with connect(fresh_db_url, autocommit=True) as conn:
        yield conn


@pytest.fixture
def env(fresh_db_url, fake):
    return {
        "CONBENCH_DB_URL": fresh_db_url,
        "GITHUB_API_TOKEN": TOKEN,
        "CONBENCH_GITHUB_API_URL": fake.url,
    }


def unknown(conn, sha, repository=URL):
    return factories.make_commit(conn, sha, repository=repository, unknown=True)


def run(capsys, env, *flags):
    code = cli.main(["admin", "repair-commits", "--format", "json", *flags], env)
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert len(lines) <= 1, out
    return code, (json.loads(lines[0]) if lines else None), err


def row(conn, sha):
    return conn.execute("SELECT * FROM commit WHERE sha = %s", (sha,)).fetchone()


@pytest.fixture
def world(db, fake):
    """Two default-branch commits, one pull-request commit, one unsupported repository."""
    history = fake.repos["org/repo"].history
    fake.add_commit("org/repo", "f" * 40, parent=history[9], fork_point=history[9])
    for sha in (history[20], history[30], "f" * 40):
        unknown(db, sha)
    unknown(db, "a" * 40, repository="https://github.com/just-org")
    return history


def test_a_dry_run_calls_github_and_reports_but_writes_nothing(capsys, env, db, world, fake):
    code, summary, _ = run(capsys, env, "--dry-run")
    assert code == 0
    assert summary == {
        **dict.fromkeys(KEYS, 0),
        "scanned": 4,
        "would_repair": 3,
        "would_backfill": 2,
        "unsupported_repository": 1,
        "backfill_timed_out": False,
        "next_cursor": None,
    }
    assert fake.calls("/commits/")
    assert row(db, world[20])["timestamp"] is None
    assert db.execute("SELECT count(*) AS n FROM commit_backfill_job").fetchone()["n"] == 0


def test_a_run_repairs_the_rows_in_place(capsys, env, db, world):
    before = {sha: row(db, sha)["id"] for sha in (world[20], "f" * 40)}
    code, summary, _ = run(capsys, env)
    assert code == 0
    assert (summary["repaired"], summary["would_backfill"], summary["backfill_enqueued"]) == (
        3,
        2,
        0,
    )
    default = row(db, world[20])
    assert default["id"] == before[world[20]]
    assert (default["branch"], default["fork_point_sha"]) == ("org:main", world[20])
    assert default["parent"] == world[19] and default["message"] == "Commit number 20"
    pull = row(db, "f" * 40)
    assert (pull["fork_point_sha"], pull["timestamp"] is not None) == (world[9], True)
    assert row(db, "a" * 40)["timestamp"] is None  # unsupported: left as it was
    code, again, _ = run(capsys, env)
    assert (again["scanned"], again["unsupported_repository"]) == (1, 1)


def test_repaired_commits_put_their_existing_results_on_the_default_branch_history(
    capsys, env, db, world
):
    result = factories.make_result(db, commit=row(db, world[30]))
    default_branch_results = """
        SELECT r.id FROM benchmark_result AS r JOIN commit AS c ON c.id = r.commit_id
        WHERE c.sha = c.fork_point_sha AND c.timestamp IS NOT NULL"""
    assert db.execute(default_branch_results).fetchall() == []
    run(capsys, env)
    assert db.execute(default_branch_results).fetchall() == [{"id": result["id"]}]


def test_the_cursor_pages_through_the_backlog_across_invocations(capsys, env, db, world):
    expected = sorted(
        (r["repository"], r["sha"])
        for r in db.execute("SELECT repository, sha FROM commit").fetchall()
    )
    seen, cursor, runs = [], [], 0
    while True:
        code, summary, _ = run(capsys, env, "--limit", "3", "--dry-run", *cursor)
        runs += 1
        assert code == 0
        seen.append(summary["scanned"])
        if summary["next_cursor"] is None:
            break
        assert decode_cursor(summary["next_cursor"]) == expected[3 * runs - 1]
        cursor = ["--cursor", summary["next_cursor"]]
    assert (runs, seen) == (2, [3, 1])


def test_a_cursor_is_unpadded_base64url_json():
    cursor = encode_cursor("https://github.com/o/r", "abc")
    assert "=" not in cursor
    padded = cursor + "=" * (-len(cursor) % 4)
    assert json.loads(base64.urlsafe_b64decode(padded)) == {
        "repository": "https://github.com/o/r",
        "sha": "abc",
    }


def test_the_repository_flag_filters_candidates_after_normalizing(capsys, env, world):
    code, summary, _ = run(capsys, env, "--dry-run", "--repository", " git@github.com:org/repo/")
    assert (summary["scanned"], summary["unsupported_repository"]) == (3, 0)


def test_failures_are_counted_sampled_and_warned_about(capsys, env, db, world, fake):
    fake.fail("/commits/", 404, times=2)
    code, summary, err = run(capsys, env)
    assert code == 0
    assert (summary["failed"], summary["auth_or_quota_failures"], summary["repaired"]) == (2, 0, 1)
    assert set(summary) == KEYS | {"failures"}
    assert [set(f) for f in summary["failures"]] == [{"repository", "sha", "error"}] * 2
    first = summary["failures"][0]
    assert first["error"] == f"GitHub 404 for /repos/org/repo/commits/{first['sha']}"
    assert err.count("warning: ") == 2


def test_incomplete_metadata_is_a_failure(capsys, env, db, fake):
    fake.add_commit("org/repo", "c" * 40)  # GitHub finds no merge base for it
    unknown(db, "c" * 40)
    code, summary, _ = run(capsys, env)
    assert summary["failed"] == 1 and code == 0


def test_only_auth_or_quota_failures_exit_1(capsys, env, world, fake):
    fake.tokens = {"ghp_another_token_0000000000"}
    code, summary, err = run(capsys, env)
    assert code == 1
    assert (summary["scanned"], summary["auth_or_quota_failures"]) == (4, 3)
    assert "GitHub authentication or quota failure" in err


def test_quota_exhaustion_counts_as_auth_or_quota(capsys, env, world, fake):
    fake.rate_limit(TOKEN)
    code, summary, _ = run(capsys, env)
    assert (code, summary["auth_or_quota_failures"]) == (1, 3)
    assert summary["failures"][0]["error"] == "Hourly GitHub HTTP API quota exhausted"


def test_a_row_repaired_meanwhile_counts_as_already_repaired(db, fake, world, fresh_db_url):
    class RacingEnricher(Enricher):
        def enrich(self, ref, deadline):
            new = super().enrich(ref, deadline)
            with connect(fresh_db_url, autocommit=True) as other:
                other.execute(
                    "UPDATE commit SET timestamp = now(), fork_point_sha = sha WHERE sha = %s",
                    (ref.sha,),
                )
            return new

    options = Options(URL, 10, None, False, False, 120, 20, "json")
    enricher = RacingEnricher(GitHubClient(fake.url, TokenPool([TOKEN])))
    summary = repair(db, enricher, options)
    assert (summary.counts["already_repaired"], summary.counts["repaired"]) == (3, 0)


def test_backfill_enqueues_and_drains_the_default_branch_history(capsys, env, db, world):
    code, summary, _ = run(capsys, env, "--backfill")
    assert code == 0
    assert (summary["backfill_enqueued"], summary["would_backfill"]) == (2, 0)
    assert summary["backfill_timed_out"] is False
    (job,) = db.execute("SELECT * FROM commit_backfill_job").fetchall()
    # from the newest tracked default-branch commit (the repaired history[20]) to history[30]
    assert (job["status"], job["inserted_commits"]) == ("done", 9)
    stored = db.execute("SELECT sha FROM commit WHERE repository = %s", (URL,)).fetchall()
    assert {r["sha"] for r in stored} >= set(world[20:31])
    assert len(stored) == len({r["sha"] for r in stored}) == 12


def test_a_backfill_that_does_not_drain_in_time_sets_timed_out_and_exits_1(
    capsys, env, db, world, fake
):
    fake.slow(3.0, "/commits?")
    code, summary, err = run(capsys, env, "--backfill", "--backfill-timeout", "500ms")
    assert code == 1
    assert summary["backfill_timed_out"] is True and summary["backfill_enqueued"] == 2
    assert "backfill did not drain in time" in err
    (job,) = db.execute("SELECT * FROM commit_backfill_job").fetchall()
    assert (job["status"], job["lease_until"]) == ("pending", None)  # handed back to the servers
    for thread in threading.enumerate():
        if thread.name == "conbench-backfill":
            thread.join(5)


def test_the_text_summary_is_one_line(capsys, env, world):
    flags = ["--dry-run", "--limit", "2", "--repository", URL]
    code = cli.main(["admin", "repair-commits", *flags], env)
    out = capsys.readouterr().out
    assert code == 0
    (line,) = out.splitlines()
    keys = [part.split("=")[0] for part in line.split(" ")]
    assert keys == [
        "scanned", "repaired", "would_repair", "unsupported_repository", "failed",
        "auth_or_quota_failures", "already_repaired", "backfill_enqueued", "would_backfill",
        "backfill_timed_out", "next_cursor",
    ]  # fmt: skip
    assert "scanned=2 repaired=0 would_repair=2 " in line
    assert " backfill_timed_out=false next_cursor=" in line


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--limit", "0"], "--limit must be greater than 0"),
        (["--limit", "2147483647"], "--limit must be < 2147483647"),
        (["--cursor", "%%%"], "invalid --cursor: "),
        (["--cursor", encode_cursor("x", "y")[:-2] + "!!"], "invalid --cursor: "),
        (["--cursor", base64.urlsafe_b64encode(b'{"sha": "x"}').decode()], "invalid --cursor: "),
        (["--repository", URL, "--cursor", encode_cursor(URL + "2", "a")], "invalid --cursor: "),
        (["--backfill-timeout", "0s"], "--backfill-timeout must be greater than 0"),
        (["--github-timeout", "soon"], "--github-timeout must be a duration"),
    ],
)
def test_usage_errors_exit_2(capsys, flags, message):
    code = cli.main(["admin", "repair-commits", *flags], {})
    assert code == 2
    assert message in capsys.readouterr().err


def test_an_unknown_format_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as caught:
        cli.main(["admin", "repair-commits", "--format", "xml"], {})
    assert caught.value.code == 2


def test_database_url_is_not_a_fallback(capsys, fresh_db_url):
    code = cli.main(
        ["admin", "repair-commits"], {"DATABASE_URL": fresh_db_url, "GITHUB_API_TOKEN": TOKEN}
    )
    assert code == 1
    assert "CONBENCH_DB_URL is required" in capsys.readouterr().err


def test_github_credentials_are_required(capsys, fresh_db_url):
    code = cli.main(["admin", "repair-commits"], {"CONBENCH_DB_URL": fresh_db_url})
    assert code == 1
    assert "GitHub credentials are required" in capsys.readouterr().err


def test_a_database_error_exits_1_without_printing_the_url(capsys, env, fresh_db_url):
    url = fresh_db_url.replace("postgres@", "postgres:hunter2secret@") + "_missing"
    code = cli.main(["admin", "repair-commits"], {**env, "CONBENCH_DB_URL": url})
    out, err = capsys.readouterr()
    assert code == 1 and out == ""
    assert "repair-commits error: database:" in err
    assert url not in err and "hunter2secret" not in err


def test_output_never_shows_the_token_or_the_database_url(capsys, env, world, fake, fresh_db_url):
    fake.fail("/commits/", 401, times=1)
    fake.rate_limit(TOKEN)
    cli.main(["admin", "repair-commits", "--format", "json"], env)
    cli.main(["admin", "repair-commits"], env)
    out, err = capsys.readouterr()
    for secret in (TOKEN, fresh_db_url):
        assert secret not in out and secret not in err
