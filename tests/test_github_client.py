"""The GitHub REST client against a fake GitHub: headers, retries, rotation, deadlines, App auth."""

import logging
import time
from datetime import timedelta

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from conbench.github import (
    QUOTA_EXHAUSTED,
    GitHubApp,
    GitHubClient,
    GitHubError,
    TokenPool,
    token_label,
)
from tests.fake_github import FakeGitHub

TOKENS = ("ghp_first0000000000000000000000000000", "ghp_second000000000000000000000000000")
REPO = "/repos/org/repo"


@pytest.fixture
def fake():
    server = FakeGitHub().start()
    server.add_repo("org/repo")
    yield server
    server.stop()


class Clock:
    """Real time plus the time the client slept (sleeps are skipped but counted)."""

    def __init__(self):
        self.offset = 0.0
        self.sleeps = []

    def now(self):
        return time.monotonic() + self.offset

    def sleep(self, seconds):
        self.sleeps.append(round(seconds, 2))
        self.offset += seconds


@pytest.fixture
def clock():
    return Clock()


def client_of(fake, clock, tokens=TOKENS[:1]):
    pool = TokenPool(tokens) if tokens else None
    return GitHubClient(fake.url, pool, sleep=clock.sleep, clock=clock.now)


def test_every_call_sends_the_api_headers_and_the_bearer_token(fake, clock):
    assert client_of(fake, clock).get(REPO)["default_branch"] == "main"
    (seen,) = fake.calls(REPO)
    assert seen.headers["Accept"] == "application/vnd.github+json"
    assert seen.headers["X-GitHub-Api-Version"] == "2022-11-28"
    assert seen.headers["User-Agent"] == "conbench"
    assert seen.token == TOKENS[0]


def test_without_credentials_no_authorization_header_is_sent(fake, clock):
    client_of(fake, clock, tokens=()).get(REPO)
    assert "Authorization" not in fake.calls(REPO)[0].headers


def test_a_5xx_is_retried_with_growing_backoff_until_it_succeeds(fake, clock):
    fake.fail(REPO, 502, times=2)
    assert client_of(fake, clock).get(REPO)["full_name"] == "org/repo"
    assert len(fake.calls(REPO)) == 3
    assert clock.sleeps == [0.67, 1.33]


def test_backoff_stops_before_a_sleep_would_cross_the_deadline(fake, clock):
    fake.fail(REPO, 503, times=100)
    with pytest.raises(GitHubError) as caught:
        client_of(fake, clock).get(REPO)
    assert caught.value.status == 503
    # 0.67 + 1.33 + 2.67 + 5.33 + 5.5 = 15.5 s slept; one more 5.5 s would pass 20 s
    assert clock.sleeps == [0.67, 1.33, 2.67, 5.33, 5.5]
    assert len(fake.calls(REPO)) == 6


def test_a_network_error_is_retried(fake, clock):
    dead = GitHubClient("http://127.0.0.1:9", None, sleep=clock.sleep, clock=clock.now)
    with pytest.raises(GitHubError) as caught:
        dead.get(REPO)
    assert caught.value.kind == "network"
    assert len(clock.sleeps) == 5


@pytest.mark.parametrize("status", [403, 429])
def test_a_rate_limited_token_rotates_to_the_next_token_of_the_pool(fake, clock, status):
    fake.rate_limit(TOKENS[0], status)
    client = client_of(fake, clock, TOKENS)
    assert client.get(REPO)["full_name"] == "org/repo"
    assert [s.token for s in fake.calls(REPO)] == [TOKENS[0], TOKENS[1]]
    assert clock.sleeps == []


def test_quota_is_exhausted_when_every_token_of_the_pool_is_rate_limited(fake, clock):
    for token in TOKENS:
        fake.rate_limit(token)
    with pytest.raises(GitHubError) as caught:
        client_of(fake, clock, TOKENS).get(REPO)
    assert caught.value.message == QUOTA_EXHAUSTED
    assert caught.value.kind == "quota" and caught.value.auth_or_quota
    assert len(fake.calls(REPO)) == 3  # rotations <= pool size


def test_a_403_without_exhausted_quota_waits_two_seconds_and_retries(fake, clock):
    fake.fail(REPO, 403, headers={"x-ratelimit-remaining": "12"})
    assert client_of(fake, clock).get(REPO)["full_name"] == "org/repo"
    assert clock.sleeps == [2.0]


def test_a_401_with_a_token_fails_at_once_as_an_auth_failure(fake, clock):
    fake.tokens = {"ghp_someone_else_0000000000000"}
    with pytest.raises(GitHubError) as caught:
        client_of(fake, clock).get(REPO)
    assert caught.value.kind == "auth" and caught.value.status == 401
    assert len(fake.calls(REPO)) == 1


@pytest.mark.parametrize("status", [404, 422])
def test_other_client_errors_fail_at_once(fake, clock, status):
    fake.fail(REPO, status)
    with pytest.raises(GitHubError) as caught:
        client_of(fake, clock).get(REPO)
    assert caught.value.status == status and not caught.value.auth_or_quota
    assert len(fake.calls(REPO)) == 1


def test_an_answer_that_is_not_json_fails_as_malformed(fake, clock):
    fake.fail(REPO, 200, body=b"<html>unicorn</html>")
    with pytest.raises(GitHubError) as caught:
        client_of(fake, clock).get(REPO)
    assert caught.value.kind == "malformed"
    assert len(fake.calls(REPO)) == 1


def test_a_slow_answer_is_abandoned_when_the_deadline_passes(fake):
    fake.slow(3.0, REPO)
    client = GitHubClient(fake.url, TokenPool(TOKENS[:1]))
    started = time.monotonic()
    with pytest.raises(GitHubError) as caught:
        client.get(REPO, deadline=time.monotonic() + 0.3)
    elapsed = time.monotonic() - started
    assert caught.value.kind == "timeout"
    assert 0.3 <= elapsed < 0.4


def test_the_pool_hands_out_tokens_round_robin():
    pool = TokenPool(("a" * 10, "b" * 10, "c" * 10))
    assert [pool.take()[0] for _ in range(5)] == ["a", "b", "c", "a", "b"]


def test_token_labels_show_at_most_six_or_fourteen_characters():
    assert token_label("ghp_abcdefghijklmnop") == "ghp_ab..."
    assert token_label("github_pat_11ABCDEFG_rest_is_secret") == "github_pat_11A..."


def test_errors_and_logs_never_show_a_token(fake, clock, caplog):
    caplog.set_level(logging.DEBUG, logger="conbench.github")
    fake.rate_limit(TOKENS[0])
    fake.rate_limit(TOKENS[1])
    with pytest.raises(GitHubError) as caught:
        client_of(fake, clock, TOKENS).get(REPO)
    for token in TOKENS:
        assert token not in str(caught.value)
        assert token not in caplog.text
    assert "ghp_fi..." in caplog.text


# --- GitHub App ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def app_key():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


def test_a_github_app_exchanges_its_jwt_once_and_reuses_the_installation_token(fake, app_key):
    private, public = app_key
    fake.app = (42, public)
    fake.tokens = set()
    client = GitHubClient(fake.url, GitHubApp("1234", 42, private))
    client.get(REPO)
    client.get(REPO)
    assert len(fake.calls("/app/installations/42/access_tokens")) == 1
    assert {s.token for s in fake.calls(REPO)} == {fake.app_tokens[0]}


def test_a_github_app_refreshes_its_token_once_on_401_and_retries(fake, app_key):
    private, public = app_key
    fake.app = (42, public)
    fake.tokens = set()
    client = GitHubClient(fake.url, GitHubApp("1234", 42, private))
    client.get(REPO)
    fake.tokens = set()  # GitHub revoked the installation token
    assert client.get(REPO)["full_name"] == "org/repo"
    assert len(fake.app_tokens) == 2
    assert [s.token for s in fake.calls(REPO)][-2:] == fake.app_tokens


def test_a_github_app_token_close_to_expiry_is_renewed(fake, app_key):
    private, public = app_key
    fake.app = (42, public)
    fake.app_token_lifetime = timedelta(seconds=30)
    client = GitHubClient(fake.url, GitHubApp("1234", 42, private))
    client.get(REPO)
    client.get(REPO)
    assert len(fake.app_tokens) == 2  # each token had under 60 s left


def test_a_github_app_with_a_wrong_key_fails_as_auth(fake, app_key):
    fake.app = (42, app_key[1])
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = other.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    with pytest.raises(GitHubError) as caught:
        GitHubClient(fake.url, GitHubApp("1234", 42, pem)).get(REPO)
    assert caught.value.kind == "auth"
    assert fake.calls(REPO) == []
