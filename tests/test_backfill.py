"""The durable default-branch backfill (05 §5): job claims, pages, retries, shutdown, and a real
server killed in the middle of a backfill."""

import os
import signal
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
import requests

from conbench.backfill import BackfillWorker, server_hooks
from conbench.config import Settings
from conbench.db import connect
from conbench.github import GitHubClient, TokenPool
from conbench.queries.backfill import upsert_backfill_jobs
from tests import payloads, procs
from tests.fake_github import FakeGitHub

URL = "https://github.com/org/repo"
TOKEN = "ghp_backfill0000000000000000000000000"
WRITE_TOKEN = "backfill-write-token"
START = datetime(2023, 1, 1, tzinfo=UTC)


@pytest.fixture
def fake():
    server = FakeGitHub().start()
    server.add_repo("org/repo")
    yield server
    server.stop()


@pytest.fixture
def db(fresh_db_url):
    with connect(fresh_db_url, autocommit=True) as conn:
        yield conn


def worker_for(fake, db_url, **kwargs):
    return BackfillWorker(db_url, GitHubClient(fake.url, TokenPool([TOKEN])), **kwargs)


def at(i):
    """The naive UTC author date of history commit i (one per hour from START)."""
    return (START + timedelta(hours=i)).replace(tzinfo=None)


def enqueue(conn, until, repository=URL):
    return upsert_backfill_jobs(conn, [(repository, "org:main", until)])[repository]


def job(conn):
    (row,) = conn.execute("SELECT * FROM commit_backfill_job").fetchall()
    return row


def shas(conn):
    rows = conn.execute("SELECT sha FROM commit WHERE repository = %s", (URL,)).fetchall()
    return [r["sha"] for r in rows]


def track(conn, sha, when):
    """A default-branch commit the database already knows."""
    conn.execute(
        "INSERT INTO commit (id, sha, repository, message, author_name, timestamp, branch,"
        " fork_point_sha) VALUES (%s, %s, %s, '', '', %s, 'org:main', %s)",
        (f"tracked-{sha[:8]}", sha, URL, when, sha),
    )


def test_a_job_walks_the_branch_from_the_newest_tracked_commit_and_drops_both_bounds(
    fake, db, fresh_db_url
):
    history = fake.add_history("org/repo", 250)
    track(db, history[10], at(10))
    track(db, history[5], at(5))
    enqueue(db, at(249))
    result = worker_for(fake, fresh_db_url).run_once(db)
    assert result["status"] == "done"
    assert sorted(shas(db)) == sorted([history[5], *history[10:249]])
    row = job(db)
    assert (row["status"], row["inserted_commits"], row["lease_until"]) == ("done", 238, None)
    pages = fake.calls("/repos/org/repo/commits")
    assert [p.query["page"] for p in pages] == ["1", "2", "3"]
    assert pages[0].query == {
        "per_page": "100",
        "sha": "main",
        "since": "2023-01-01T10:00:00Z",
        "until": "2023-01-11T09:00:00Z",
        "page": "1",
    }
    commit = db.execute("SELECT * FROM commit WHERE sha = %s", (history[100],)).fetchone()
    assert commit["parent"] == history[99]
    assert (commit["branch"], commit["fork_point_sha"]) == ("org:main", history[100])
    assert (commit["timestamp"], commit["message"]) == (at(100), "Commit number 100")


def test_without_a_tracked_commit_the_walk_starts_in_1970(fake, db, fresh_db_url):
    history = fake.add_history("org/repo", 20)
    enqueue(db, at(19))
    worker_for(fake, fresh_db_url).run_once(db)
    assert fake.calls("/commits")[0].query["since"] == "1970-01-01T00:00:00Z"
    assert sorted(shas(db)) == sorted(history[1:19])


def test_commits_that_exist_are_left_alone_and_not_counted(fake, db, fresh_db_url):
    history = fake.add_history("org/repo", 10)
    db.execute(
        "INSERT INTO commit (id, sha, repository, message, author_name)"
        " VALUES ('unknown-5', %s, %s, '', '')",
        (history[5], URL),
    )
    enqueue(db, at(9))
    worker_for(fake, fresh_db_url).run_once(db)
    assert job(db)["inserted_commits"] == 7  # history[1..8] minus the unknown row
    assert len(shas(db)) == len(set(shas(db))) == 8
    unknown = db.execute("SELECT * FROM commit WHERE id = 'unknown-5'").fetchone()
    assert unknown["timestamp"] is None  # only repair-commits changes unknown rows


def test_a_job_whose_until_was_raised_while_it_ran_is_reopened(fake, db, fresh_db_url):
    fake.add_history("org/repo", 30)
    enqueue(db, at(20))
    fake.slow(0.5, "/commits?")
    runner = threading.Thread(target=worker_for(fake, fresh_db_url).run_once, args=(db,))
    runner.start()
    while not fake.calls("/commits"):
        time.sleep(0.01)
    with connect(fresh_db_url, autocommit=True) as other:
        enqueue(other, at(29))
    runner.join()
    row = job(db)
    assert (row["status"], row["until_ts"], row["attempt_count"]) == ("pending", at(29), 0)
    worker_for(fake, fresh_db_url).run_once(db)
    assert job(db)["status"] == "done"


def test_a_failed_attempt_is_retried_after_five_minutes_and_fails_for_good_after_three(
    fake, db, fresh_db_url
):
    fake.add_history("org/repo", 5)
    fake.fail("/commits?", 404, times=3)
    enqueue(db, at(4))
    worker = worker_for(fake, fresh_db_url)
    for attempt in (1, 2, 3):
        result = worker.run_once(db)
        row = job(db)
        assert row["attempt_count"] == attempt and "404" in row["last_error"]
        if attempt < 3:
            assert result["status"] == row["status"] == "pending"
            now = db.execute("SELECT now() AT TIME ZONE 'UTC' AS t").fetchone()["t"]
            assert timedelta(minutes=4) < row["lease_until"] - now <= timedelta(minutes=5)
            assert worker.run_once(db) is None  # not before its retry time
            db.execute(
                "UPDATE commit_backfill_job SET lease_until = lease_until - '5 min'::interval"
            )
    assert job(db)["status"] == "failed" and job(db)["lease_until"] is None
    assert worker.run_once(db) is None


def test_a_new_trigger_after_a_failed_job_opens_a_new_one(fake, db, fresh_db_url):
    enqueue(db, at(1))
    db.execute("UPDATE commit_backfill_job SET status = 'failed'")
    enqueue(db, at(2))
    statuses = db.execute("SELECT status FROM commit_backfill_job ORDER BY status").fetchall()
    assert [r["status"] for r in statuses] == ["failed", "pending"]


def test_a_job_held_by_a_live_worker_is_not_claimed_by_another(fake, db, fresh_db_url):
    from conbench.queries.backfill import claim_backfill_job

    enqueue(db, at(3))
    with connect(fresh_db_url, autocommit=True) as first:
        claimed = claim_backfill_job(first, 600)
        assert claimed["locked"]
        assert claim_backfill_job(db, 600) is None
    # the first session ended (a killed process): claimable as soon as the backend is gone
    again = None
    deadline = time.monotonic() + 5
    while again is None and time.monotonic() < deadline:
        again = claim_backfill_job(db, 600)
    assert again["id"] == claimed["id"] and again["locked"] and again["attempt_count"] == 2


def test_an_expired_lease_of_a_stuck_worker_hands_the_job_back(fake, db, fresh_db_url):
    from conbench.queries.backfill import claim_backfill_job

    fake.add_history("org/repo", 5)
    enqueue(db, at(4))
    with connect(fresh_db_url, autocommit=True) as stuck:
        assert claim_backfill_job(stuck, 600)["locked"]
        db.execute("UPDATE commit_backfill_job SET lease_until = now() - '1 s'::interval")
        assert worker_for(fake, fresh_db_url).run_once(db) is None  # its lock is still held
        assert job(db)["status"] == "pending"
    worker = worker_for(fake, fresh_db_url)
    wait_for(lambda: worker.run_once(db), 5, "the stuck session to end")
    assert job(db)["status"] == "done"


def test_stopping_hands_the_running_job_back_without_counting_the_attempt(fake, db, fresh_db_url):
    fake.add_history("org/repo", 5)
    fake.slow(2.0, "/commits?")
    enqueue(db, at(4))
    worker = worker_for(fake, fresh_db_url, poll_seconds=0.05)
    worker.start()
    while not fake.calls("/commits"):
        time.sleep(0.01)
    assert job(db)["status"] == "running"
    started = time.monotonic()
    worker.stop(timeout=0.2)
    assert time.monotonic() - started < 1
    row = job(db)
    assert (row["status"], row["lease_until"], row["attempt_count"]) == ("pending", None, 0)
    worker.stop(timeout=5)  # let the thread finish its call before the database goes


def test_a_worker_that_stops_being_alive_hands_back_between_pages(fake, db, fresh_db_url):
    fake.add_history("org/repo", 150)
    enqueue(db, at(149))
    alive = threading.Event()
    alive.set()
    fake.slow(0.3, "/commits?")
    worker = worker_for(fake, fresh_db_url, poll_seconds=0.05, alive=alive.is_set)
    worker.start()
    while not fake.calls("/commits"):
        time.sleep(0.01)
    alive.clear()  # gunicorn's worker.alive after SIGTERM
    worker.stop(timeout=5)
    assert len(fake.calls("/commits")) == 1
    assert (job(db)["status"], job(db)["lease_until"]) == ("pending", None)
    assert shas(db) == []


def test_the_worker_thread_picks_up_new_jobs(fake, db, fresh_db_url):
    fake.add_history("org/repo", 12)
    worker = worker_for(fake, fresh_db_url, poll_seconds=0.05)
    worker.start()
    try:
        enqueue(db, at(11))
        deadline = time.monotonic() + 10
        while job(db)["status"] != "done" and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        worker.stop()
    assert job(db)["inserted_commits"] == 10


def test_servers_without_github_credentials_run_no_backfill_worker(caplog):
    settings = Settings.from_env({"CONBENCH_DB_URL": "postgres://h/db"})
    assert server_hooks(settings) == ([], [])
    assert "no GitHub credentials" in caplog.text
    online = Settings.from_env({"CONBENCH_DB_URL": "postgres://h/db", "GITHUB_API_TOKEN": TOKEN})
    post_fork, worker_exit = server_hooks(online)
    assert len(post_fork) == len(worker_exit) == 1


# --- a real server --------------------------------------------------------------------------------


def serve(fresh_db_url, fake, tmp_path, name):
    env = procs.base_env(
        CONBENCH_DB_URL=fresh_db_url,
        CONBENCH_API_TOKEN=WRITE_TOKEN,
        GITHUB_API_TOKEN=TOKEN,
        CONBENCH_GITHUB_API_URL=fake.url,
    )
    return procs.start(["serve", "--workers", "2"], env, tmp_path / f"{name}.log")


def post_result(server, sha):
    body = payloads.legacy_result(github=payloads.github(repository=URL, commit=sha))
    resp = requests.post(
        server.base_url + "/api/benchmark-results/",
        json=body,
        headers={"Authorization": f"Bearer {WRITE_TOKEN}"},
        timeout=10,
    )
    assert resp.status_code == 201, resp.text


def wait_for(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.slow
def test_a_backfill_interrupted_by_killing_the_server_completes_after_a_restart(
    fake, db, fresh_db_url, tmp_path
):
    history = fake.add_history("org/repo", 450)
    fake.slow(0.4, "/commits?")
    server = serve(fresh_db_url, fake, tmp_path, "first")
    try:
        post_result(server, history[-1])  # enriched on the default branch: enqueues the job
        wait_for(lambda: len(fake.calls("/commits?")) >= 2, 15, "the backfill to fetch pages")
        assert job(db)["status"] == "running"
    finally:
        os.killpg(server.proc.pid, signal.SIGKILL)  # master and workers, no shutdown hooks
        server.stop()
    assert job(db)["status"] == "running"  # as the killed worker left it
    server = serve(fresh_db_url, fake, tmp_path, "second")
    try:
        wait_for(lambda: job(db)["status"] == "done", 30, "the backfill to complete")
    finally:
        server.stop()
    row = job(db)
    assert row["attempt_count"] == 2 and row["inserted_commits"] == 448
    stored = shas(db)
    assert len(stored) == len(set(stored)) == 449  # no duplicates
    assert set(stored) == set(history[1:])  # the oldest bound is dropped (legacy parity)


@pytest.mark.slow
def test_sigterm_during_a_backfill_hands_the_job_back(fake, db, fresh_db_url, tmp_path):
    history = fake.add_history("org/repo", 300)
    fake.slow(1.5, "/commits?")
    server = serve(fresh_db_url, fake, tmp_path, "serve")
    try:
        post_result(server, history[-1])
        wait_for(lambda: fake.calls("/commits?"), 15, "the backfill to start")
    finally:
        assert server.stop(signal.SIGTERM) == 0
    row = job(db)
    assert (row["status"], row["lease_until"], row["attempt_count"]) == ("pending", None, 0)
