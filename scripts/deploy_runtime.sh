#!/usr/bin/env bash
# Deploy renderer for Conbench on Kubernetes (docs/deployment.md). Source it from CI, then call:
#
#   export CONBENCH_DEPLOY_VERSION="$GIT_SHA"   # required: an immutable commit SHA or release
#   source scripts/deploy_runtime.sh
#   build_and_push && deploy_secrets_and_config && run_migrations && deploy
#
# or run one step: `scripts/deploy_runtime.sh deploy` (sourcing with arguments dispatches too,
# unless CONBENCH_DEPLOY_NO_DISPATCH is set). Every refusal exits non-zero before anything is
# applied. Secret inputs are read by python3 from the environment, never expanded by the shell,
# and xtrace is off while they render: nothing here prints a secret value.
#
# Inputs: CONBENCH_DEPLOY_VERSION, DOCKER_REGISTRY, CONBENCH_SERVER_IMAGE_NAME, CONBENCH_ADDR,
# CONBENCH_INTENDED_BASE_URL, DB_USERNAME, DB_PASSWORD, DB_HOST, DB_PORT, DB_NAME,
# CONBENCH_API_TOKEN, GITHUB_API_TOKEN, CONBENCH_OIDC_ISSUER_URL, CONBENCH_OIDC_CLIENT_ID,
# CONBENCH_OIDC_CLIENT_SECRET (or legacy GOOGLE_CLIENT_ID/GOOGLE_CLIENT_SECRET),
# CONBENCH_SESSION_SECRET, CONBENCH_COMMIT_GITHUB_APP_ID, CONBENCH_COMMIT_GITHUB_APP_INSTALLATION_ID,
# CONBENCH_COMMIT_GITHUB_APP_PRIVATE_KEY_FILE, EKS_CLUSTER, NAMESPACE, CERTIFICATE_ARN,
# CONBENCH_DEPLOY_INGRESS_CLUSTERS (EKS clusters that get the ALB Ingress), CONBENCH_ALERT_CHANNEL
# (enables the alerts CronJob), CONBENCH_MIGRATION_TIMEOUT_SECONDS, CONBENCH_MIGRATION_POLL_SECONDS,
# CONBENCH_ROLLBACK_TO_REVISION, CONBENCH_DEPLOY_NO_DISPATCH.

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
fi

_cb_refuse() {
  printf 'deploy refused: %s\n' "$*" >&2
}

if [ -z "${CONBENCH_DEPLOY_VERSION:-}" ]; then
  _cb_refuse "CONBENCH_DEPLOY_VERSION must be set to the immutable commit SHA or release being deployed"
  return 1 2>/dev/null || exit 1
fi
if ! [[ "$CONBENCH_DEPLOY_VERSION" =~ ^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$ ]] ||
  [ "$CONBENCH_DEPLOY_VERSION" = latest ]; then
  _cb_refuse "CONBENCH_DEPLOY_VERSION must be an image tag naming one immutable version (not 'latest')"
  return 1 2>/dev/null || exit 1
fi

export CONBENCH_DEPLOY_VERSION
export CONBENCH_SERVER_IMAGE_NAME="${CONBENCH_SERVER_IMAGE_NAME:-conbench-server}"
export CONBENCH_ADDR="${CONBENCH_ADDR:-:8080}"
CONBENCH_DEPLOY_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
_CB_K8S_DIR="$CONBENCH_DEPLOY_ROOT/deploy/k8s"
_CB_INPUTS=(
  CONBENCH_ADDR CONBENCH_INTENDED_BASE_URL
  DB_USERNAME DB_PASSWORD DB_HOST DB_PORT DB_NAME
  CONBENCH_API_TOKEN GITHUB_API_TOKEN CONBENCH_SESSION_SECRET
  CONBENCH_OIDC_ISSUER_URL CONBENCH_OIDC_CLIENT_ID CONBENCH_OIDC_CLIENT_SECRET
  GOOGLE_CLIENT_ID GOOGLE_CLIENT_SECRET
  CONBENCH_COMMIT_GITHUB_APP_ID CONBENCH_COMMIT_GITHUB_APP_INSTALLATION_ID
  CONBENCH_COMMIT_GITHUB_APP_PRIVATE_KEY_FILE
)
_CB_ALERT_CHANNELS="webhook slack github-check github-comment email"

# Validates the runtime inputs and prints one manifest (JSON, which kubectl reads as YAML).
# Modes: check (validate only), config, secret, github-app-key, dns-name.
_cb_python() {
  (
    export "${_CB_INPUTS[@]}"
    python3 - "$1" <<'PY'
import base64
import json
import os
import re
import sys
from urllib.parse import quote, urlsplit

KEY_MOUNT = "/var/run/secrets/conbench-github-app/private-key.pem"
GOOGLE_ISSUER = "https://accounts.google.com"
DB = ("DB_USERNAME", "DB_PASSWORD", "DB_HOST", "DB_PORT", "DB_NAME")
OIDC = ("CONBENCH_OIDC_ISSUER_URL", "CONBENCH_OIDC_CLIENT_ID", "CONBENCH_OIDC_CLIENT_SECRET")
GOOGLE = {"CONBENCH_OIDC_CLIENT_ID": "GOOGLE_CLIENT_ID", "CONBENCH_OIDC_CLIENT_SECRET": "GOOGLE_CLIENT_SECRET"}
APP_ID = "CONBENCH_COMMIT_GITHUB_APP_ID"
APP_INSTALLATION = "CONBENCH_COMMIT_GITHUB_APP_INSTALLATION_ID"
APP_KEY = "CONBENCH_COMMIT_GITHUB_APP_PRIVATE_KEY_FILE"


def env(name):
    return os.environ.get(name, "")


def host_of(url):
    try:
        parts = urlsplit(url)
        parts.port  # raises on a malformed port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https"):
        return None
    return parts.hostname or None


def config(problems):
    base = env("CONBENCH_INTENDED_BASE_URL").rstrip("/")
    if not base:
        problems.append("CONBENCH_INTENDED_BASE_URL is required (the public http(s) URL)")
    elif host_of(base) is None:
        problems.append("CONBENCH_INTENDED_BASE_URL must be an http:// or https:// URL with a host")
    addr = env("CONBENCH_ADDR") or ":8080"
    # The manifests expose, probe and route container port 8080 on every interface.
    if addr not in (":8080", "0.0.0.0:8080", "[::]:8080"):
        problems.append("CONBENCH_ADDR must be :8080 (the container port of the manifests)")
    return {"CONBENCH_ADDR": addr, "CONBENCH_INTENDED_BASE_URL": base}


def database_url(problems):
    missing = [name for name in DB if not env(name)]
    for name in missing:
        problems.append(f"{name} is required (the deploy builds CONBENCH_DB_URL from DB_*)")
    port, host = env("DB_PORT"), env("DB_HOST")
    bad = False
    if port and not (port.isdigit() and 0 < int(port) < 65536):
        problems.append("DB_PORT must be a port number")
        bad = True
    if host and re.search(r"[\s/@?#]", host):
        problems.append("DB_HOST must be a bare host name or address")
        bad = True
    if missing or bad:
        return None
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    user, password, name = (quote(env(key), safe="") for key in ("DB_USERNAME", "DB_PASSWORD", "DB_NAME"))
    return f"postgres://{user}:{password}@{host}:{port}/{name}?sslmode=disable"


def oidc(problems):
    native = [name for name in OIDC if env(name)]
    legacy = [name for name in GOOGLE.values() if env(name)]
    if native and legacy:
        problems.append("set CONBENCH_OIDC_* or GOOGLE_CLIENT_ID/GOOGLE_CLIENT_SECRET, not both")
        return {}
    if not native and not legacy:
        return {}
    if legacy:
        values = {"CONBENCH_OIDC_ISSUER_URL": GOOGLE_ISSUER}
        values.update({key: env(source) for key, source in GOOGLE.items()})
        names = dict(GOOGLE)
    else:
        values = {name: env(name) for name in OIDC}
        names = {}
    for key, value in values.items():
        if not value:
            problems.append(f"OIDC is partially configured: {names.get(key, key)} is required")
    issuer = values["CONBENCH_OIDC_ISSUER_URL"]
    if issuer and host_of(issuer) is None:
        problems.append("CONBENCH_OIDC_ISSUER_URL must be an http:// or https:// URL with a host")
    if not env("CONBENCH_SESSION_SECRET"):
        problems.append("OIDC is partially configured: CONBENCH_SESSION_SECRET is required")
    return values


def github_app(problems):
    values = {name: env(name) for name in (APP_ID, APP_INSTALLATION, APP_KEY)}
    if not any(values.values()):
        return None
    for name, value in values.items():
        if not value:
            problems.append(f"the GitHub App is partially configured: {name} is required")
    for name in (APP_ID, APP_INSTALLATION):
        if values[name] and not values[name].isdigit():
            problems.append(f"{name} must be a number")
    if env("GITHUB_API_TOKEN"):
        problems.append("the GitHub App (CONBENCH_COMMIT_GITHUB_APP_*) cannot be combined with GITHUB_API_TOKEN")
    key = values[APP_KEY]
    if key:
        if not (os.path.isfile(key) and os.access(key, os.R_OK)):
            problems.append(f"{APP_KEY} must name a readable file")
        elif os.path.getsize(key) == 0:
            problems.append(f"{APP_KEY} names an empty file")
    return values


def secret_data(problems):
    """Only keys with a value: an absent key is unambiguously unset for the server."""
    data = {}
    db_url = database_url(problems)
    if db_url:
        data["CONBENCH_DB_URL"] = db_url
    if env("CONBENCH_API_TOKEN"):
        data["CONBENCH_API_TOKEN"] = env("CONBENCH_API_TOKEN")
    data.update(oidc(problems))
    session = env("CONBENCH_SESSION_SECRET")
    if session:
        if len(session) < 32:
            problems.append("CONBENCH_SESSION_SECRET must be at least 32 characters")
        data["CONBENCH_SESSION_SECRET"] = session
    app = github_app(problems)
    if app:
        data[APP_ID] = app[APP_ID]
        data[APP_INSTALLATION] = app[APP_INSTALLATION]
        data[APP_KEY] = KEY_MOUNT
    elif env("GITHUB_API_TOKEN"):
        data["GITHUB_API_TOKEN"] = env("GITHUB_API_TOKEN")
    return data


def manifest(kind, name, data):
    body = {"apiVersion": "v1", "kind": kind, "metadata": {"name": name, "labels": {"app": "conbench"}}}
    if kind == "Secret":
        body["type"] = "Opaque"
        data = {key: base64.b64encode(value).decode() for key, value in data.items()}
    body["data"] = data
    return json.dumps(body, indent=2, sort_keys=True) + "\n"


def main(mode):
    problems = []
    config_data = config(problems)
    if mode == "config":
        output = manifest("ConfigMap", "conbench-config", config_data)
    elif mode == "dns-name":
        output = (host_of(config_data["CONBENCH_INTENDED_BASE_URL"]) or "") + "\n"
    else:
        data = secret_data(problems)
        if mode == "secret":
            output = manifest("Secret", "conbench-secret", {k: v.encode() for k, v in data.items()})
        elif mode == "github-app-key":
            if APP_KEY not in data:
                problems.append("the GitHub App key Secret needs CONBENCH_COMMIT_GITHUB_APP_*")
                output = ""
            else:
                with open(env(APP_KEY), "rb") as handle:
                    key = {"private-key.pem": handle.read()}
                output = manifest("Secret", "conbench-github-app-key", key)
        else:
            output = ""
    for problem in problems:
        print(f"deploy refused: {problem}", file=sys.stderr)
    if problems:
        return 1
    sys.stdout.write(output)
    return 0


sys.exit(main(sys.argv[1]))
PY
  )
}

# Runs _cb_python with xtrace off (restored afterwards), so a traced CI log never sees a secret.
_cb_python_quiet() {
  local trace=0 rc=0
  case $- in *x*)
    trace=1
    { set +x; } 2>/dev/null
    ;;
  esac
  _cb_python "$1" || rc=$?
  if [ "$trace" = 1 ]; then set -x; fi
  return "$rc"
}

# render_template TEMPLATE NAME=VALUE...: replace each {{NAME}}; refuse an empty value, a name
# absent from the template, or any placeholder left over. Templates never carry secrets.
render_template() {
  python3 - "$@" <<'PY'
import re
import sys
from pathlib import Path

path = Path(sys.argv[1])
text = path.read_text(encoding="utf-8")
problems = []
for pair in sys.argv[2:]:
    name, _, value = pair.partition("=")
    placeholder = "{{" + name + "}}"
    if placeholder not in text:
        problems.append(f"{placeholder} does not occur in the template")
    elif not value.strip():
        problems.append(f"{placeholder} would render empty")
    elif re.search(r'["\\\r\n]|\{\{|\}\}', value):
        problems.append(f"{placeholder} value contains a quote, backslash, newline or braces")
    else:
        text = text.replace(placeholder, value)
left = sorted(set(re.findall(r"\{\{[^{}]*\}\}", text)))
if left:
    problems.append("unresolved placeholders " + ", ".join(left))
elif "{{" in text:
    problems.append("unbalanced placeholder braces")
for problem in problems:
    print(f"deploy refused: {path.name}: {problem}", file=sys.stderr)
if problems:
    sys.exit(1)
sys.stdout.write(text)
PY
}

# The image every workload runs: <registry>/<image>:<CONBENCH_DEPLOY_VERSION>.
conbench_image_spec() {
  if [ -z "${DOCKER_REGISTRY:-}" ]; then
    _cb_refuse "DOCKER_REGISTRY is required"
    return 1
  fi
  printf '%s/%s:%s\n' "${DOCKER_REGISTRY%/}" "$CONBENCH_SERVER_IMAGE_NAME" "$CONBENCH_DEPLOY_VERSION"
}

validate_deploy_inputs() {
  _cb_python_quiet check
}

render_config_manifest() {
  _cb_python_quiet config
}

render_secret_manifest() {
  _cb_python_quiet secret
}

render_github_app_key_manifest() {
  _cb_python_quiet github-app-key
}

render_deployment_manifest() {
  local spec
  spec="$(conbench_image_spec)" || return 1
  render_template "$_CB_K8S_DIR/conbench-deployment.templ.yml" "CONBENCH_SERVER_IMAGE_SPEC=$spec"
}

render_migration_manifest() {
  local spec
  spec="$(conbench_image_spec)" || return 1
  render_template "$_CB_K8S_DIR/conbench-db-migration.templ.yml" "CONBENCH_SERVER_IMAGE_SPEC=$spec"
}

render_ingress_manifest() {
  local dns_name
  dns_name="$(_cb_python_quiet dns-name)" || return 1
  render_template "$_CB_K8S_DIR/conbench-cloud-ingress.templ.yml" \
    "CONBENCH_INTENDED_DNS_NAME=$dns_name" "CERTIFICATE_ARN=${CERTIFICATE_ARN:-}"
}

render_alerts_cronjob_manifest() {
  local spec channel="${CONBENCH_ALERT_CHANNEL:-}"
  case " $_CB_ALERT_CHANNELS " in
    *" $channel "*) ;;
    *)
      _cb_refuse "CONBENCH_ALERT_CHANNEL must be one of: $_CB_ALERT_CHANNELS"
      return 1
      ;;
  esac
  spec="$(conbench_image_spec)" || return 1
  render_template "$_CB_K8S_DIR/conbench-alerts-cronjob.templ.yml" \
    "CONBENCH_SERVER_IMAGE_SPEC=$spec" "CONBENCH_ALERT_CHANNEL=$channel"
}

_cb_require() {
  local name missing=0
  for name in "$@"; do
    if [ -z "${!name:-}" ]; then
      _cb_refuse "$name is required"
      missing=1
    fi
  done
  return "$missing"
}

_cb_private_dir() {
  (umask 077 && mktemp -d "${TMPDIR:-/tmp}/conbench-deploy.XXXXXXXX")
}

# Points kubectl at the EKS cluster when one is named; otherwise the current context is used.
_cb_connect() {
  if [ -n "${EKS_CLUSTER:-}" ]; then
    aws eks update-kubeconfig --name "$EKS_CLUSTER" >&2 || return 1
  fi
}

_cb_kubectl() {
  kubectl --namespace "$NAMESPACE" "$@"
}

_cb_github_app_configured() {
  [ -n "${CONBENCH_COMMIT_GITHUB_APP_ID:-}${CONBENCH_COMMIT_GITHUB_APP_INSTALLATION_ID:-}" ] ||
    [ -n "${CONBENCH_COMMIT_GITHUB_APP_PRIVATE_KEY_FILE:-}" ]
}

# Runs "$@" with a private scratch directory as its first argument, removed afterwards.
_cb_with_private_dir() {
  local dir rc=0
  dir="$(_cb_private_dir)" || return 1
  "$@" "$dir" || rc=$?
  rm -rf -- "$dir"
  return "$rc"
}

build_and_push() {
  local spec region
  spec="$(conbench_image_spec)" || return 1
  DOCKER_BUILDKIT=1 docker build \
    --file "$CONBENCH_DEPLOY_ROOT/Dockerfile.server" \
    --build-arg "CONBENCH_BUILD_REVISION=$CONBENCH_DEPLOY_VERSION" \
    --tag "$spec" "$CONBENCH_DEPLOY_ROOT" || return 1
  # Amazon ECR wants a fresh login; other registries are expected to be logged in already.
  if [[ "$DOCKER_REGISTRY" =~ ^[0-9]+\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com ]]; then
    region="${BASH_REMATCH[1]}"
    (
      set -o pipefail
      aws ecr get-login-password --region "$region" |
        docker login --username AWS --password-stdin "${DOCKER_REGISTRY%%/*}"
    ) || return 1
  fi
  docker push "$spec"
}

deploy_secrets_and_config() {
  _cb_require NAMESPACE || return 1
  _cb_with_private_dir _cb_deploy_secrets_and_config
}

_cb_deploy_secrets_and_config() {
  local dir="$1" with_app=0
  # Render everything first: a refusal must leave the cluster untouched.
  (umask 077 && render_secret_manifest >"$dir/secret.json") || return 1
  if _cb_github_app_configured; then
    with_app=1
    (umask 077 && render_github_app_key_manifest >"$dir/github-app-key.json") || return 1
  fi
  render_config_manifest >"$dir/config.json" || return 1
  _cb_connect || return 1
  _cb_kubectl apply -f "$dir/secret.json" || return 1
  if [ "$with_app" = 1 ]; then
    _cb_kubectl apply -f "$dir/github-app-key.json" || return 1
  fi
  _cb_kubectl apply -f "$dir/config.json" || return 1
}

run_migrations() {
  _cb_require NAMESPACE || return 1
  _cb_with_private_dir _cb_run_migrations
}

_cb_run_migrations() {
  local dir="$1" succeeded
  render_migration_manifest >"$dir/migration.yml" || return 1
  _cb_connect || return 1
  # A Job's pod template is immutable: replace the previous run's Job.
  _cb_kubectl delete job/conbench-migration --ignore-not-found=true --cascade=foreground || return 1
  _cb_kubectl apply -f "$dir/migration.yml" || return 1
  _cb_wait_for_migration || true
  echo "--- conbench-migration logs ---" >&2
  _cb_kubectl logs job/conbench-migration --all-containers=true >&2 ||
    echo "could not read the logs of job/conbench-migration" >&2
  succeeded="$(_cb_kubectl get job/conbench-migration -o 'jsonpath={.status.succeeded}')" || return 1
  if [ "$succeeded" != 1 ]; then
    echo "the migration Job did not succeed (succeeded=${succeeded:-0}); nothing was rolled out" >&2
    return 1
  fi
}

# Polls until the Job succeeded or failed; `kubectl wait --for=condition=complete` alone would sit
# out the whole timeout after a failure (backoffLimit 0 never completes).
_cb_wait_for_migration() {
  local timeout="${CONBENCH_MIGRATION_TIMEOUT_SECONDS:-86400}"
  local poll="${CONBENCH_MIGRATION_POLL_SECONDS:-10}"
  local start="$SECONDS" errors=0 status
  while :; do
    if status="$(_cb_kubectl get job/conbench-migration -o 'jsonpath={.status.succeeded}/{.status.failed}')"; then
      errors=0
      case "$status" in
        1/*) return 0 ;;
        */[1-9]*) return 1 ;;
      esac
    else
      errors=$((errors + 1))
      if [ "$errors" -ge 5 ]; then return 1; fi
    fi
    if [ $((SECONDS - start)) -ge "$timeout" ]; then
      echo "job/conbench-migration did not finish within ${timeout}s" >&2
      return 1
    fi
    sleep "$poll"
  done
}

# True when EKS_CLUSTER is one of the comma/space separated CONBENCH_DEPLOY_INGRESS_CLUSTERS.
_cb_ingress_wanted() {
  local cluster clusters
  IFS=', ' read -r -a clusters <<<"${CONBENCH_DEPLOY_INGRESS_CLUSTERS:-}"
  for cluster in ${clusters[@]+"${clusters[@]}"}; do
    if [ -n "$cluster" ] && [ "$cluster" = "${EKS_CLUSTER:-}" ]; then
      return 0
    fi
  done
  return 1
}

deploy() {
  _cb_require NAMESPACE || return 1
  _cb_with_private_dir _cb_deploy
}

_cb_deploy() {
  local dir="$1" ingress=0 alerts=0
  render_deployment_manifest >"$dir/deployment.yml" || return 1
  if _cb_ingress_wanted; then
    ingress=1
    render_ingress_manifest >"$dir/ingress.yml" || return 1
  fi
  if [ -n "${CONBENCH_ALERT_CHANNEL:-}" ]; then
    alerts=1
    render_alerts_cronjob_manifest >"$dir/alerts-cronjob.yml" || return 1
  fi
  _cb_connect || return 1
  _cb_kubectl apply -f "$dir/deployment.yml" || return 1
  _cb_kubectl apply -f "$_CB_K8S_DIR/conbench-service.yml" || return 1
  if kubectl get crd servicemonitors.monitoring.coreos.com >/dev/null 2>&1; then
    _cb_kubectl apply -f "$_CB_K8S_DIR/conbench-service-monitor.yml" || return 1
  else
    echo "skip ServiceMonitor: CRD servicemonitors.monitoring.coreos.com not found" >&2
  fi
  if [ "$ingress" = 1 ]; then
    _cb_kubectl apply -f "$dir/ingress.yml" || return 1
  else
    echo "skip Ingress: EKS_CLUSTER is not in CONBENCH_DEPLOY_INGRESS_CLUSTERS" >&2
  fi
  if [ "$alerts" = 1 ]; then
    _cb_kubectl apply -f "$dir/alerts-cronjob.yml" || return 1
  fi
  # Exits non-zero once progressDeadlineSeconds (900 s) passes without progress.
  _cb_kubectl rollout status deployment/conbench-deployment
}

# Reverts the Deployment to its previous (or CONBENCH_ROLLBACK_TO_REVISION) pod template. The
# schema stays migrated: migrations must stay compatible with the previous release.
rollback() {
  _cb_require NAMESPACE || return 1
  _cb_connect || return 1
  if [ -n "${CONBENCH_ROLLBACK_TO_REVISION:-}" ]; then
    _cb_kubectl rollout undo deployment/conbench-deployment \
      "--to-revision=$CONBENCH_ROLLBACK_TO_REVISION" || return 1
  else
    _cb_kubectl rollout undo deployment/conbench-deployment || return 1
  fi
  _cb_kubectl rollout status deployment/conbench-deployment
}

_CB_COMMANDS=(
  build_and_push deploy_secrets_and_config run_migrations deploy rollback
  validate_deploy_inputs conbench_image_spec render_config_manifest render_secret_manifest
  render_github_app_key_manifest render_deployment_manifest render_migration_manifest
  render_ingress_manifest render_alerts_cronjob_manifest
)

# Dispatch `scripts/deploy_runtime.sh <command>` (or `source ... <command>`) to one public function.
if [ -z "${CONBENCH_DEPLOY_NO_DISPATCH:-}" ] && [ "$#" -gt 0 ]; then
  if [[ " ${_CB_COMMANDS[*]} " == *" $1 "* ]]; then
    "$@"
  else
    _cb_refuse "unknown command '$1' (one of: ${_CB_COMMANDS[*]})"
    false
  fi
  _cb_status=$?
  return "$_cb_status" 2>/dev/null || exit "$_cb_status"
fi
