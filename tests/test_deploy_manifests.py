"""The deploy renderer and its manifest check, run without kubectl, docker or network."""

import os
import shlex
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUNTIME = shlex.quote(str(ROOT / "scripts" / "deploy_runtime.sh"))

SECRETS = {
    "DB_PASSWORD": "db-pass:word/S3CR3T",
    "CONBENCH_API_TOKEN": "api-token-S3CR3T",
    "CONBENCH_OIDC_CLIENT_SECRET": "oidc-client-S3CR3T",
    "CONBENCH_SESSION_SECRET": "session-S3CR3T-0123456789abcdefghijkl",
}
INPUTS = {
    "CONBENCH_DEPLOY_VERSION": "0123456789abcdef",
    "CONBENCH_DEPLOY_NO_DISPATCH": "1",
    "DOCKER_REGISTRY": "registry.example",
    "CONBENCH_INTENDED_BASE_URL": "https://conbench.example.com",
    "DB_USERNAME": "conbench",
    "DB_HOST": "postgres.example",
    "DB_PORT": "5432",
    "DB_NAME": "conbench",
    "CONBENCH_OIDC_ISSUER_URL": "https://issuer.example",
    "CONBENCH_OIDC_CLIENT_ID": "client-id",
    **SECRETS,
}


def run_bash(script: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run a bash snippet in the checkout with only the given variables (plus PATH) set."""
    # This interpreter's directory first: `python3` then starts fast and is a real Python 3.
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}"
    return subprocess.run(
        ["bash", "-c", script],
        cwd=ROOT,
        env={"PATH": path, "LANG": "C.UTF-8", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_check_deploy_manifests_script_passes() -> None:
    result = run_bash("bash scripts/check_deploy_manifests.sh")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "not ok" not in result.stdout
    assert result.stdout.rstrip().endswith("0 failed")


def test_sourcing_without_deploy_version_fails() -> None:
    env = {key: value for key, value in INPUTS.items() if key != "CONBENCH_DEPLOY_VERSION"}
    result = run_bash(f"source {RUNTIME} && echo sourced", **env)
    assert result.returncode != 0
    assert "sourced" not in result.stdout
    assert "CONBENCH_DEPLOY_VERSION must be set" in result.stderr


def test_traced_render_never_prints_a_secret_value() -> None:
    result = run_bash(
        f"set -x; source {RUNTIME}; render_secret_manifest; render_config_manifest", **INPUTS
    )
    assert result.returncode == 0, result.stderr
    assert '"kind": "Secret"' in result.stdout
    assert "+ render_secret_manifest" in result.stderr
    for value in SECRETS.values():
        assert value not in result.stdout
        assert value not in result.stderr


def test_short_session_secret_is_refused_without_echoing_it() -> None:
    short = "short-S3CR3T"
    env = {**INPUTS, "CONBENCH_SESSION_SECRET": short}
    result = run_bash(f"source {RUNTIME} && render_secret_manifest", **env)
    assert result.returncode != 0
    assert result.stdout == ""
    assert "CONBENCH_SESSION_SECRET must be at least 32 characters" in result.stderr
    assert short not in result.stderr
