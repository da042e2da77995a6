"""benchclients' ConbenchClient against a live server: submit, read back, paginate, runs, login.

The server runs with write auth on, as in production: the client logs in through the legacy
bridge (`POST /api/login/` with CONBENCH_EMAIL and an API token as CONBENCH_PASSWORD) and its
session cookie authorizes every write.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest
import requests
from benchclients import ConbenchClient
from benchclients.http import RetryingHTTPClientNonRetryableResponse

from tests import payloads, procs
from tests.clients.conftest import SESSION_SECRET, make_api_token, new_run_id

pytestmark = pytest.mark.slow

DEV_TOKEN = "cb_e2e_dev_token_value"
DEV_EMAIL = "dev@conbench.local"


@pytest.fixture(scope="module")
def live_server(
    live_db_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[procs.ServerProcess]:
    """`conbench serve` with write auth on, the login bridge enabled and a seeded user token."""
    env = procs.base_env(
        CONBENCH_DB_URL=live_db_url,
        CONBENCH_SESSION_SECRET=SESSION_SECRET,
        CONBENCH_SEED_DEV_TOKEN=DEV_TOKEN,
    )
    server = procs.start(["serve", "--workers", "2"], env, tmp_path_factory.mktemp("serve") / "log")
    yield server
    server.stop()


@pytest.fixture
def client(client_env, monkeypatch) -> ConbenchClient:
    """A client logged in with the seeded token as its password."""
    monkeypatch.setenv("CONBENCH_EMAIL", DEV_EMAIL)
    monkeypatch.setenv("CONBENCH_PASSWORD", DEV_TOKEN)
    return ConbenchClient()


def test_writes_without_a_login_are_refused_with_401(client_env):
    resp = requests.post(
        client_env.base_url + "/api/benchmarks/", json=_result(new_run_id()), timeout=10
    )
    assert resp.status_code == 401


def _result(run_id: str, **overrides) -> dict:
    return payloads.legacy_result(run_id=run_id, **overrides)


@pytest.mark.parametrize("path", ["/benchmark-results/", "/benchmarks/"])
def test_post_answers_201_with_the_entity_and_it_reads_back_by_id(client, path):
    run_id = new_run_id()
    created = client.post(path, _result(run_id))
    assert created["run_id"] == run_id
    assert created["links"]["self"].endswith(f"/api/benchmarks/{created['id']}/")
    fetched = client.get(f"/benchmark-results/{created['id']}/")
    assert fetched == created
    assert client.get(f"/benchmarks/{created['id']}/") == created


def test_get_all_follows_cursors_over_three_pages(client):
    run_id = new_run_id()
    posted = {client.post("/benchmark-results/", _result(run_id))["id"] for _ in range(25)}
    pages = _record_pages(client)
    listed = client.get_all("/benchmark-results/", params={"run_id": run_id, "page_size": 10})
    assert [len(p["data"]) for p in pages] == [10, 10, 5]
    assert [p["metadata"]["next_page_cursor"] is not None for p in pages] == [True, True, False]
    assert [r["id"] for r in listed] == sorted(posted, reverse=True)


def test_a_full_last_page_is_followed_by_an_empty_page(client):
    run_id = new_run_id()
    posted = {client.post("/benchmark-results/", _result(run_id))["id"] for _ in range(6)}
    pages = _record_pages(client)
    listed = client.get_all("/benchmark-results/", params={"run_id": run_id, "page_size": 3})
    assert [len(p["data"]) for p in pages] == [3, 3, 0]
    assert pages[-1]["metadata"]["next_page_cursor"] is None
    assert {r["id"] for r in listed} == posted


def test_runs_of_a_commit_and_one_run(client):
    sha = secrets.token_hex(20)
    github = payloads.github(commit=sha)
    run_ids = sorted(new_run_id() for _ in range(2))
    for run_id in run_ids:
        client.post("/benchmarks/", _result(run_id, github=github, run_name=f"commit: {sha}"))
    runs = client.get_all("/runs/", params={"commit_hash": sha, "page_size": 1000})
    assert [r["id"] for r in runs] == run_ids
    assert {r["commit"]["sha"] for r in runs} == {sha}
    run = client.get(f"/runs/{run_ids[0]}/")
    assert run["id"] == run_ids[0]
    assert run["reason"] == "commit"
    assert run["tags"] == {"arch": "x86_64", "name": f"commit: {sha}"}
    assert run["hardware"]["name"] == "ci-runner-1"
    assert set(run["candidate_baseline_runs"]) == {"parent", "fork_point", "latest_default"}


def test_unknown_run_is_a_non_retryable_404(client):
    with pytest.raises(RetryingHTTPClientNonRetryableResponse) as failed:
        client.get(f"/runs/{new_run_id()}/")
    assert failed.value.error_response.status_code == 404


def test_invalid_result_is_a_non_retryable_400(client):
    with pytest.raises(RetryingHTTPClientNonRetryableResponse) as failed:
        client.post("/benchmark-results/", _result(new_run_id(), batch_id=""))
    assert failed.value.error_response.status_code == 400
    assert failed.value.error_response.json()["description"] == {
        "batch_id": ["Field may not be null."]
    }


def test_put_answers_200_which_the_client_rejects_as_it_did_upstream(client):
    """ConbenchClient.put expects 201; upstream and we answer 200 (01 §8), so it raises."""
    created = client.post("/benchmark-results/", _result(new_run_id()))
    with pytest.raises(RetryingHTTPClientNonRetryableResponse) as failed:
        client.put(f"/benchmark-results/{created['id']}/", {"change_annotations": {"x": "1"}})
    assert failed.value.error_response.status_code == 200
    assert client.get(f"/benchmark-results/{created['id']}/")["change_annotations"] == {"x": "1"}


def test_login_with_an_api_token_as_password_sets_a_session_cookie(
    client_env, server_db, monkeypatch
):
    email = f"ci-{secrets.token_hex(4)}@example.com"
    monkeypatch.setenv("CONBENCH_EMAIL", email.upper())
    monkeypatch.setenv("CONBENCH_PASSWORD", make_api_token(server_db, email))
    client = ConbenchClient()
    [cookie] = [c for c in client.session.cookies if c.name == "conbench_session"]
    assert cookie.path == "/"
    assert not cookie.secure
    assert cookie.has_nonstandard_attr("HttpOnly")
    created = client.post("/benchmarks/", _result(new_run_id()))
    assert client.get(f"/benchmarks/{created['id']}/")["id"] == created["id"]


def test_login_with_a_wrong_password_is_a_non_retryable_400(client_env, server_db, monkeypatch):
    email = f"ci-{secrets.token_hex(4)}@example.com"
    make_api_token(server_db, email)
    monkeypatch.setenv("CONBENCH_EMAIL", email)
    monkeypatch.setenv("CONBENCH_PASSWORD", "not-the-token")
    with pytest.raises(RetryingHTTPClientNonRetryableResponse) as failed:
        ConbenchClient()
    assert failed.value.error_response.status_code == 400
    assert failed.value.error_response.json() == {
        "code": 400,
        "name": "Bad Request",
        "description": {"_errors": ["Invalid email or password."]},
    }


def _record_pages(client: ConbenchClient) -> list[dict]:
    """The JSON body of every response the client receives from now on."""
    pages: list[dict] = []

    def keep(response: requests.Response, *args, **kwargs) -> None:
        pages.append(response.json())

    client.session.hooks["response"].append(keep)
    return pages
