#!/usr/bin/env bash
# Renders every Kubernetes manifest with fake values into a temporary directory and asserts the
# deploy contract (docs/deployment.md): replicas 2; RollingUpdate 25%/25%; every probe on
# /api/ping; a ConfigMap of exactly CONBENCH_ADDR and CONBENCH_INTENDED_BASE_URL; no password-era
# keys; the Secret keys of the profiles no_oidc, no_github, github_app, google_oidc, native_oidc
# (and session_only); refusals of oidc_no_session, partial_oidc, short_session, missing_base_url
# and the other refusal rules; the Service applied before the ingress branch; no secret value in
# any output or command line. Needs only bash, coreutils, grep and python3: kubectl, docker and
# aws are fakes first on PATH that record their calls. Prints TAP-style lines; exit 0 when all pass.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
runtime="$root/scripts/deploy_runtime.sh"
k8s="$root/deploy/k8s"
tmp="$(mktemp -d)"
trap 'rm -rf -- "$tmp"' EXIT

passed=0
failed=0
pass() {
  passed=$((passed + 1))
  printf 'ok %d - %s\n' "$((passed + failed))" "$1"
}
fail() {
  failed=$((failed + 1))
  printf 'not ok %d - %s\n' "$((passed + failed))" "$1"
}
# check DESCRIPTION COMMAND...: one assertion.
check() {
  local description="$1"
  shift
  if "$@" >"$tmp/check.out" 2>&1; then
    pass "$description"
  else
    fail "$description"
    sed 's/^/#   /' "$tmp/check.out"
  fi
}
# refuses DESCRIPTION REASON COMMAND...: the command must fail, print nothing on stdout and say
# why on stderr (REASON is an extended regex).
refuses() {
  local description="$1" reason="$2"
  shift 2
  if "$@" >"$tmp/refusal.out" 2>"$tmp/refusal.err"; then
    fail "$description (it succeeded)"
  elif ! grep -Eq -- "$reason" "$tmp/refusal.err"; then
    fail "$description (stderr does not match /$reason/)"
    sed 's/^/#   /' "$tmp/refusal.err"
  elif [ -s "$tmp/refusal.out" ]; then
    fail "$description (it printed on stdout)"
  else
    pass "$description"
  fi
}

# renders DESCRIPTION OUTPUT COMMAND...: the command must succeed; its stdout goes to OUTPUT.
renders() {
  local description="$1" output="$2"
  shift 2
  if "$@" >"$output" 2>"$tmp/render.err"; then
    pass "$description"
  else
    fail "$description"
    sed 's/^/#   /' "$tmp/render.err"
  fi
}

# --- helpers ----------------------------------------------------------------------------------
cat >"$tmp/inspect.py" <<'PY'
"""Assertions over rendered manifests, stdlib only (JSON manifests, or YAML read line by line)."""
import base64
import json
import os
import re
import sys
from urllib.parse import quote


def fail(message):
    print(message)
    sys.exit(1)


def load_json(path):
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def data_of(path):
    obj = load_json(path)
    data = obj.get("data", {})
    if obj.get("kind") == "Secret":
        return {key: base64.b64decode(value).decode() for key, value in data.items()}
    return data


def objects(path):
    """(kind, name) of each document: JSON, or YAML documents split on '---'."""
    text = open(path, encoding="utf-8").read()
    try:
        obj = json.loads(text)
        return [(obj["kind"], obj["metadata"]["name"])]
    except ValueError:
        pass
    found = []
    for doc in re.split(r"^---\s*$", text, flags=re.M):
        kind = re.search(r"^kind:\s*(\S+)", doc, re.M)
        name = re.search(r"^metadata:\s*\n(?:[ ].*\n)*?  name:\s*(\S+)", doc, re.M)
        if kind and name:
            found.append((kind.group(1), name.group(1)))
    return found


def block(path, key, nth=0):
    """Stripped lines nested under the nth line `<indent>key:` of a YAML file."""
    lines = open(path, encoding="utf-8").read().splitlines()
    starts = [i for i, line in enumerate(lines) if re.fullmatch(r"\s*(- )?" + re.escape(key) + r":\s*", line)]
    if len(starts) <= nth:
        fail(f"{key}: not found (occurrence {nth})")
    start = starts[nth]
    indent = len(lines[start]) - len(lines[start].lstrip(" -"))
    body = []
    for line in lines[start + 1 :]:
        if line.strip() and len(line) - len(line.lstrip()) <= indent:
            break
        if line.strip() and not line.strip().startswith("#"):
            body.append(line.strip().removeprefix("- "))
    return body


def main(command, *args):
    if command == "kinds":
        for kind, name in objects(args[0]):
            print(f"{kind}/{name}")
    elif command == "keys":
        path, expected = args[0], set(filter(None, args[1].split(",")))
        got = set(data_of(path))
        if got != expected:
            fail(f"keys {sorted(got)} != expected {sorted(expected)}")
    elif command == "value":
        path, key, expected = args
        got = data_of(path).get(key)
        if got != expected:
            fail(f"{key}: unexpected value")
    elif command == "block":
        path, key, nth, *expected = args
        body = block(path, key, int(nth))
        missing = [line for line in expected if line not in body]
        if missing:
            fail(f"{key} lacks {missing}; has {body}")
    elif command == "probe-paths":
        paths = re.findall(r"^\s*path:\s*(\S+)\s*$", open(args[0]).read(), re.M)
        if len(paths) != 3 or set(paths) != {"/api/ping"}:
            fail(f"probe paths {paths}")
    elif command == "no-secrets":
        # Every secret as given, URL-encoded and base64-encoded, plus the common marker.
        values = [v for v in os.environ["CHECK_SECRET_VALUES"].split("\n") if v]
        needles = {"S3CR3T"}
        for value in values:
            needles |= {value, quote(value, safe=""), base64.b64encode(value.encode()).decode()}
        for path in args:
            text = open(path, encoding="utf-8", errors="replace").read()
            leaked = sorted(n for n in needles if n in text)
            if leaked:
                fail(f"{os.path.basename(path)} shows a secret value")
    elif command == "order":
        # The call log lists `applied Kind/name` lines; args are the objects in the expected order.
        applied = [line.split()[1] for line in open(args[0]) if line.startswith("applied ")]
        if applied != list(args[1:]):
            fail(f"applied {applied}")
    elif command == "sequence":
        # Each needle occurs in the file, after the previous one.
        text, position = open(args[0]).read(), 0
        for needle in args[1:]:
            found = text.find(needle, position)
            if found < 0:
                fail(f"{needle!r} missing after offset {position}:\n{text}")
            position = found + len(needle)
    elif command == "match":
        if not re.search(args[1], open(args[0]).read(), re.M):
            fail(f"no match for {args[1]!r}")
    else:
        fail(f"unknown command {command}")


main(*sys.argv[1:])
PY
inspect() {
  python3 -S "$tmp/inspect.py" "$@"
}

# --- fakes: kubectl, docker and aws record their calls in $FAKE_LOG ---------------------------
mkdir -p "$tmp/bin" "$tmp/applied"
cat >"$tmp/bin/kubectl" <<'SH'
#!/usr/bin/env bash
set -euo pipefail
printf 'kubectl %s\n' "$*" >>"$FAKE_LOG"
args=()
while [ "$#" -gt 0 ]; do
  case "$1" in
    --namespace | -n) shift 2 ;;
    --namespace=*) shift ;;
    *) args+=("$1") && shift ;;
  esac
done
set -- "${args[@]}"
case "${1:-} ${2:-}" in
  "apply -f")
    out="$FAKE_DIR/$(printf '%03d' "$(find "$FAKE_DIR" -type f | wc -l)")"
    if [ "$3" = - ]; then cat >"$out"; else cp "$3" "$out"; fi
    python3 -S "$FAKE_INSPECT" kinds "$out" | sed 's/^/applied /' >>"$FAKE_LOG"
    ;;
  "get crd") [ "${FAKE_CRD:-0}" = 1 ] ;;
  "get job/conbench-migration")
    case "$*" in
      *status.failed*) printf '%s/%s' "${FAKE_JOB_SUCCEEDED:-}" "${FAKE_JOB_FAILED:-}" ;;
      *) printf '%s' "${FAKE_JOB_SUCCEEDED:-}" ;;
    esac
    ;;
  "logs job/conbench-migration") echo "fake migration log: applied 0 migrations" ;;
esac
SH
cat >"$tmp/bin/docker" <<'SH'
#!/usr/bin/env bash
set -euo pipefail
printf 'docker %s\n' "$*" >>"$FAKE_LOG"
if [ "${1:-}" = login ]; then
  password="$(cat)"
  [ -n "$password" ] && echo "docker login: password received on stdin" >>"$FAKE_LOG"
fi
SH
cat >"$tmp/bin/aws" <<'SH'
#!/usr/bin/env bash
set -euo pipefail
printf 'aws %s\n' "$*" >>"$FAKE_LOG"
if [ "${1:-} ${2:-}" = "ecr get-login-password" ]; then echo "fake-ecr-password-S3CR3T"; fi
SH
chmod +x "$tmp/bin/kubectl" "$tmp/bin/docker" "$tmp/bin/aws"
# The real interpreter behind any wrapper (pyenv shims cost ~0.1 s per start): same python3, faster.
ln -s "$(python3 -c 'import sys; print(sys.executable)')" "$tmp/bin/python3"
export PATH="$tmp/bin:$PATH" FAKE_LOG="$tmp/calls.log" FAKE_DIR="$tmp/applied"
export FAKE_INSPECT="$tmp/inspect.py"
hash -r
for tool in kubectl docker aws; do
  if [ "$(command -v "$tool")" != "$tmp/bin/$tool" ]; then
    echo "the fake $tool is not first on PATH; refusing to touch a real one" >&2
    exit 1
  fi
done
reset_fakes() {
  : >"$FAKE_LOG"
  rm -f "$FAKE_DIR"/*
}

# --- fake inputs ------------------------------------------------------------------------------
# Every secret value carries the marker S3CR3T so a leak of any of them is easy to spot.
key_file="$tmp/github-app-private-key.pem"
printf '%s\n' '-----BEGIN FAKE KEY----- S3CR3T-app-key -----END FAKE KEY-----' >"$key_file"
db_url='postgres://conbench-user:pa%3Ass%2Fw%40rd%25S3CR3T@postgres.example:5432/conbench?sslmode=disable'
export CHECK_SECRET_VALUES="pa:ss/w@rd%S3CR3T
$db_url
api-token-S3CR3T-0001
ghp_S3CR3T_github_token
native-client-S3CR3T
google-client-S3CR3T
session-S3CR3T-0123456789abcdefghijklmnop
-----BEGIN FAKE KEY----- S3CR3T-app-key -----END FAKE KEY-----"

export CONBENCH_DEPLOY_VERSION="0123456789abcdef0123456789abcdef01234567"
export CONBENCH_SERVER_IMAGE_NAME="conbench-server"
export DOCKER_REGISTRY="123456789012.dkr.ecr.us-east-2.amazonaws.com"
image="$DOCKER_REGISTRY/conbench-server:$CONBENCH_DEPLOY_VERSION"
export CERTIFICATE_ARN="arn:aws:acm:us-east-2:123456789012:certificate/fake"
export NAMESPACE="conbench-test" EKS_CLUSTER="fake-cluster"
export CONBENCH_MIGRATION_POLL_SECONDS=0 CONBENCH_MIGRATION_TIMEOUT_SECONDS=5
# Password-era variables an old CI may still export: none of them may reach a manifest.
legacy_keys="SECRET_KEY REGISTRATION_KEY APPLICATION_NAME BENCHMARKS_DATA_PUBLIC DISTRIBUTION_COMMITS
SVS_TYPE CREATE_ALL_TABLES DB_HOST DB_PORT DB_NAME DB_USERNAME DB_PASSWORD GOOGLE_CLIENT_ID
GOOGLE_CLIENT_SECRET FLASK_APP"
export SECRET_KEY="flask-S3CR3T" REGISTRATION_KEY="register-S3CR3T" APPLICATION_NAME="Conbench"
export BENCHMARKS_DATA_PUBLIC=true DISTRIBUTION_COMMITS=1000 SVS_TYPE=best CREATE_ALL_TABLES=true
unset CONBENCH_DEPLOY_INGRESS_CLUSTERS CONBENCH_ALERT_CHANNEL CONBENCH_ROLLBACK_TO_REVISION

# Sets the inputs of one configuration profile (call in a subshell).
use_profile() {
  export CONBENCH_ADDR=":8080" CONBENCH_INTENDED_BASE_URL="https://conbench.example.com"
  export DB_USERNAME="conbench-user" DB_PASSWORD="pa:ss/w@rd%S3CR3T" DB_HOST="postgres.example"
  export DB_PORT="5432" DB_NAME="conbench"
  export CONBENCH_API_TOKEN="api-token-S3CR3T-0001" GITHUB_API_TOKEN="ghp_S3CR3T_github_token"
  unset CONBENCH_OIDC_ISSUER_URL CONBENCH_OIDC_CLIENT_ID CONBENCH_OIDC_CLIENT_SECRET
  unset GOOGLE_CLIENT_ID GOOGLE_CLIENT_SECRET CONBENCH_SESSION_SECRET
  unset CONBENCH_COMMIT_GITHUB_APP_ID CONBENCH_COMMIT_GITHUB_APP_INSTALLATION_ID
  unset CONBENCH_COMMIT_GITHUB_APP_PRIVATE_KEY_FILE
  local session="session-S3CR3T-0123456789abcdefghijklmnop"
  case "$1" in
    no_oidc) ;;
    no_github) unset GITHUB_API_TOKEN ;;
    github_app | github_app_with_token | partial_github_app | unreadable_key)
      [ "$1" = github_app_with_token ] || unset GITHUB_API_TOKEN
      export CONBENCH_COMMIT_GITHUB_APP_ID=12345 CONBENCH_COMMIT_GITHUB_APP_INSTALLATION_ID=42
      export CONBENCH_COMMIT_GITHUB_APP_PRIVATE_KEY_FILE="$key_file"
      [ "$1" != partial_github_app ] || unset CONBENCH_COMMIT_GITHUB_APP_INSTALLATION_ID
      [ "$1" != unreadable_key ] || CONBENCH_COMMIT_GITHUB_APP_PRIVATE_KEY_FILE="$tmp/missing.pem"
      ;;
    google_oidc)
      export GOOGLE_CLIENT_ID="google-client-id" GOOGLE_CLIENT_SECRET="google-client-S3CR3T"
      export CONBENCH_SESSION_SECRET="$session"
      ;;
    native_oidc | oidc_no_session | short_session)
      export CONBENCH_OIDC_ISSUER_URL="https://issuer.example" CONBENCH_OIDC_CLIENT_ID="native-client-id"
      export CONBENCH_OIDC_CLIENT_SECRET="native-client-S3CR3T"
      [ "$1" = oidc_no_session ] || export CONBENCH_SESSION_SECRET="$session"
      [ "$1" != short_session ] || export CONBENCH_SESSION_SECRET="short-S3CR3T"
      ;;
    partial_oidc) export CONBENCH_OIDC_CLIENT_ID="native-client-id" ;;
    session_only) export CONBENCH_SESSION_SECRET="$session" ;;
    missing_base_url) unset CONBENCH_INTENDED_BASE_URL ;;
    ftp_base_url) export CONBENCH_INTENDED_BASE_URL="ftp://conbench.example.com" ;;
    missing_DB_*) unset "${1#missing_}" ;;
    *)
      echo "unknown profile $1" >&2
      return 1
      ;;
  esac
}

# in_profile PROFILE [NAME=VALUE...] COMMAND...: run COMMAND in a subshell with the profile's inputs.
in_profile() {
  local profile="$1"
  shift
  (
    use_profile "$profile" || exit 1
    while [[ "${1:-}" =~ ^[A-Z_]+= ]]; do
      export "${1?}"
      shift
    done
    "$@"
  )
}

export CONBENCH_DEPLOY_NO_DISPATCH=1
# shellcheck source=deploy_runtime.sh
source "$runtime"

# --- sourcing -----------------------------------------------------------------------------------
refuses "sourcing without CONBENCH_DEPLOY_VERSION refuses" CONBENCH_DEPLOY_VERSION \
  env -u CONBENCH_DEPLOY_VERSION bash -c 'source "$1"' _ "$runtime"
refuses "running the script without CONBENCH_DEPLOY_VERSION refuses" CONBENCH_DEPLOY_VERSION \
  env -u CONBENCH_DEPLOY_VERSION bash "$runtime" deploy
refuses "sourcing with the mutable tag 'latest' refuses" "not 'latest'" \
  env CONBENCH_DEPLOY_VERSION=latest bash -c 'source "$1"' _ "$runtime"
check "the image is <registry>/<image>:<version>" test "$(conbench_image_spec)" = "$image"
refuses "an empty DOCKER_REGISTRY refuses" "DOCKER_REGISTRY is required" \
  in_profile no_oidc DOCKER_REGISTRY= render_deployment_manifest

# --- Deployment ---------------------------------------------------------------------------------
renders "the Deployment renders" "$tmp/deployment.yml" \
  in_profile no_oidc render_deployment_manifest
deployment="$tmp/deployment.yml"
check "Deployment renders as Deployment/conbench-deployment" \
  test "$(inspect kinds "$deployment")" = "Deployment/conbench-deployment"
check "Deployment runs the versioned image, pulled Always" \
  inspect block "$deployment" containers 0 "name: conbench" "image: \"$image\"" "imagePullPolicy: Always"
check "Deployment has replicas 2" grep -Eqx '  replicas: 2' "$deployment"
check "Deployment rolls with RollingUpdate maxSurge 25% / maxUnavailable 25%" \
  inspect block "$deployment" strategy 0 "type: RollingUpdate" "maxSurge: 25%" "maxUnavailable: 25%"
check "Deployment has progressDeadlineSeconds 900, minReadySeconds 15, grace 60 s" \
  inspect block "$deployment" spec 0 "progressDeadlineSeconds: 900" "minReadySeconds: 15" \
  "terminationGracePeriodSeconds: 60"
check "startupProbe: GET /api/ping on http, 2 s x 30, timeout 5 s" \
  inspect block "$deployment" startupProbe 0 "path: /api/ping" "port: http" "periodSeconds: 2" \
  "failureThreshold: 30" "timeoutSeconds: 5"
check "livenessProbe: GET /api/ping on http, 30 s x 3, timeout 5 s" \
  inspect block "$deployment" livenessProbe 0 "path: /api/ping" "port: http" "periodSeconds: 30" \
  "failureThreshold: 3" "timeoutSeconds: 5"
check "readinessProbe: GET /api/ping on http, 10 s x 3, timeout 5 s" \
  inspect block "$deployment" readinessProbe 0 "path: /api/ping" "port: http" "periodSeconds: 10" \
  "failureThreshold: 3" "timeoutSeconds: 5"
check "every probe path in the Deployment is /api/ping" inspect probe-paths "$deployment"
check "Deployment exposes port http 8080" \
  inspect block "$deployment" ports 0 "name: http" "containerPort: 8080"
check "Deployment gets env from ConfigMap conbench-config and Secret conbench-secret" \
  inspect block "$deployment" envFrom 0 "configMapRef:" "name: conbench-config" "secretRef:" \
  "name: conbench-secret"
check "Deployment sets ENV_NODE_NAME and ENV_POD_NAME from the downward API" \
  inspect block "$deployment" env 0 "name: ENV_NODE_NAME" "fieldPath: spec.nodeName" \
  "name: ENV_POD_NAME" "fieldPath: metadata.name"
check "Deployment requests memory 2500Mi and cpu 0.5" \
  inspect block "$deployment" requests 0 "memory: 2500Mi" 'cpu: "0.5"'
check "Deployment mounts the optional GitHub App key Secret" \
  inspect block "$deployment" volumes 0 "secretName: conbench-github-app-key" "optional: true"
check "Deployment mounts it at /var/run/secrets/conbench-github-app" \
  grep -Fq "mountPath: /var/run/secrets/conbench-github-app" "$deployment"
check "Deployment pods run as uid 65532" inspect block "$deployment" securityContext 0 \
  "runAsNonRoot: true" "runAsUser: 65532"

# --- migration Job, alerts CronJob ----------------------------------------------------------------
renders "the migration Job renders" "$tmp/migration.yml" \
  in_profile no_oidc render_migration_manifest
migration="$tmp/migration.yml"
check "migration renders as Job/conbench-migration" \
  test "$(inspect kinds "$migration")" = "Job/conbench-migration"
check "migration Job: server image, conbench migrate, backoffLimit 0, restartPolicy Never" \
  inspect block "$migration" spec 0 "backoffLimit: 0" "restartPolicy: Never" "image: \"$image\"" \
  'command: ["conbench", "migrate"]'
check "migration Job requests 128Mi / 50m" \
  inspect block "$migration" requests 0 "memory: 128Mi" "cpu: 50m"
renders "the alerts CronJob renders" "$tmp/alerts.yml" \
  in_profile no_oidc CONBENCH_ALERT_CHANNEL=slack render_alerts_cronjob_manifest
alerts="$tmp/alerts.yml"
check "alerts CronJob: every 10 minutes, concurrencyPolicy Allow, server image" \
  inspect block "$alerts" spec 0 'schedule: "*/10 * * * *"' "concurrencyPolicy: Allow" \
  "image: \"$image\""
check "alerts CronJob evaluates, then delivers to the chosen channel" \
  inspect sequence "$alerts" "conbench admin alerts evaluate --format json" \
  "conbench admin alerts deliver --channel slack --format json"
refuses "alerts CronJob refuses an unknown channel" CONBENCH_ALERT_CHANNEL \
  in_profile no_oidc CONBENCH_ALERT_CHANNEL=pager render_alerts_cronjob_manifest
check "Job and CronJob pods are not labelled app: conbench (the Service must not select them)" \
  bash -c '! grep -Eq "^\s*app: conbench\s*$" "$1" "$2"' _ "$migration" "$alerts"

# --- Service, ServiceMonitor, Ingress -------------------------------------------------------------
service="$k8s/conbench-service.yml"
check "Service conbench-service: NodePort, conbench-service-port 80 -> http, ALB target-type ip" \
  inspect block "$service" spec 0 "type: NodePort" "app: conbench" "name: conbench-service-port" \
  "port: 80" "targetPort: http"
check "Service carries the ALB target-type ip annotation and the app label" \
  inspect block "$service" metadata 0 "alb.ingress.kubernetes.io/target-type: ip" "app: conbench"
monitor="$k8s/conbench-service-monitor.yml"
check "ServiceMonitor scrapes /metrics on conbench-service-port every 30 s, selecting app: conbench" \
  inspect block "$monitor" spec 0 "app: conbench" "port: conbench-service-port" "path: /metrics" \
  "interval: 30s"
renders "the Ingress renders" "$tmp/ingress.yml" \
  in_profile no_oidc render_ingress_manifest
ingress="$tmp/ingress.yml"
check "Ingress is for the base URL's DNS name with the certificate ARN" \
  inspect block "$ingress" metadata 0 "alb.ingress.kubernetes.io/certificate-arn: \"$CERTIFICATE_ARN\""
check "Ingress routes host conbench.example.com" grep -Fq 'host: "conbench.example.com"' "$ingress"
check "Ingress health check is /api/ping" \
  grep -Eq '^\s*alb.ingress.kubernetes.io/healthcheck-path: /api/ping$' "$ingress"
check "Ingress sends /metrics, its first path, to the action conbench-metrics-deny" \
  inspect sequence "$ingress" "- path: /metrics" "name: conbench-metrics-deny" "name: use-annotation" \
  "- path: /" "name: conbench-service" "name: conbench-service-port"
check "the conbench-metrics-deny action is a fixed 403 response" \
  inspect sequence "$ingress" "actions.conbench-metrics-deny:" '"type": "fixed-response"' \
  '"statusCode": "403"'
refuses "Ingress refuses an empty CERTIFICATE_ARN" "CERTIFICATE_ARN" \
  in_profile no_oidc CERTIFICATE_ARN= render_ingress_manifest
refuses "Ingress refuses a missing base URL" "CONBENCH_INTENDED_BASE_URL" \
  in_profile missing_base_url render_ingress_manifest

# --- template renderer ----------------------------------------------------------------------------
printf 'a: "{{ONE}}"\nb: "{{TWO}}"\n' >"$tmp/two.templ.yml"
refuses "a placeholder left unresolved refuses" "unresolved placeholders [{][{]TWO[}][}]" \
  render_template "$tmp/two.templ.yml" ONE=x
refuses "an empty placeholder value refuses" "[{][{]TWO[}][}] would render empty" \
  render_template "$tmp/two.templ.yml" ONE=x TWO=
refuses "a value that would break the YAML quoting refuses" "contains a quote" \
  render_template "$tmp/two.templ.yml" ONE=x 'TWO=a"b'
check "a fully resolved template renders" render_template "$tmp/two.templ.yml" ONE=x TWO=y
check "no rendered template keeps a {{placeholder}}" \
  bash -c '! grep -F "{{" "$@"' _ "$deployment" "$migration" "$alerts" "$ingress"

# --- ConfigMap ------------------------------------------------------------------------------------
renders "the ConfigMap renders" "$tmp/config.json" \
  in_profile no_oidc render_config_manifest
check "ConfigMap has exactly CONBENCH_ADDR and CONBENCH_INTENDED_BASE_URL" \
  inspect keys "$tmp/config.json" "CONBENCH_ADDR,CONBENCH_INTENDED_BASE_URL"
check "ConfigMap CONBENCH_ADDR is :8080" inspect value "$tmp/config.json" CONBENCH_ADDR ":8080"
check "ConfigMap base URL is the intended one" \
  inspect value "$tmp/config.json" CONBENCH_INTENDED_BASE_URL "https://conbench.example.com"
refuses "ConfigMap refuses a missing base URL" CONBENCH_INTENDED_BASE_URL \
  in_profile missing_base_url render_config_manifest
refuses "ConfigMap refuses a listen address the manifests do not expose" "CONBENCH_ADDR must be :8080" \
  in_profile no_oidc CONBENCH_ADDR=127.0.0.1:9000 render_config_manifest

# --- Secret profiles ------------------------------------------------------------------------------
# render_profile NAME: run render_secret_manifest under the profile; stdout/stderr to files.
render_profile() {
  in_profile "$1" render_secret_manifest >"$tmp/secret-$1.json" 2>"$tmp/secret-$1.err"
}
base_keys="CONBENCH_DB_URL,CONBENCH_API_TOKEN"
oidc_keys="CONBENCH_OIDC_ISSUER_URL,CONBENCH_OIDC_CLIENT_ID,CONBENCH_OIDC_CLIENT_SECRET,CONBENCH_SESSION_SECRET"
app_keys="CONBENCH_COMMIT_GITHUB_APP_ID,CONBENCH_COMMIT_GITHUB_APP_INSTALLATION_ID"
app_keys="$app_keys,CONBENCH_COMMIT_GITHUB_APP_PRIVATE_KEY_FILE"
declare -A expected_keys=(
  [no_oidc]="$base_keys,GITHUB_API_TOKEN"
  [no_github]="$base_keys"
  [github_app]="$base_keys,$app_keys"
  [google_oidc]="$base_keys,GITHUB_API_TOKEN,$oidc_keys"
  [native_oidc]="$base_keys,GITHUB_API_TOKEN,$oidc_keys"
  [session_only]="$base_keys,GITHUB_API_TOKEN,CONBENCH_SESSION_SECRET"
)
for profile in no_oidc no_github github_app google_oidc native_oidc session_only; do
  secret="$tmp/secret-$profile.json"
  if render_profile "$profile"; then
    pass "profile $profile renders a Secret"
    check "profile $profile: Secret keys are exactly ${expected_keys[$profile]}" \
      inspect keys "$secret" "${expected_keys[$profile]}"
    check "profile $profile: CONBENCH_DB_URL is built and URL-encoded from DB_*" \
      inspect value "$secret" CONBENCH_DB_URL "$db_url"
  else
    fail "profile $profile renders a Secret"
    sed 's/^/#   /' "$tmp/secret-$profile.err"
  fi
done
check "no_oidc: tokens are passed through" bash -c \
  'python3 -S "$1" value "$2" CONBENCH_API_TOKEN api-token-S3CR3T-0001 &&
   python3 -S "$1" value "$2" GITHUB_API_TOKEN ghp_S3CR3T_github_token' _ "$tmp/inspect.py" \
  "$tmp/secret-no_oidc.json"
check "github_app: the key file points at the mounted Secret" \
  inspect value "$tmp/secret-github_app.json" CONBENCH_COMMIT_GITHUB_APP_PRIVATE_KEY_FILE \
  /var/run/secrets/conbench-github-app/private-key.pem
renders "the GitHub App key Secret renders" "$tmp/github-app-key.json" \
  in_profile github_app render_github_app_key_manifest
check "github_app: Secret conbench-github-app-key carries the private key file" \
  inspect value "$tmp/github-app-key.json" private-key.pem "$(cat "$key_file")"$'\n'
check "google_oidc: issuer defaults to https://accounts.google.com, client from GOOGLE_*" bash -c \
  'python3 -S "$1" value "$2" CONBENCH_OIDC_ISSUER_URL https://accounts.google.com &&
   python3 -S "$1" value "$2" CONBENCH_OIDC_CLIENT_ID google-client-id &&
   python3 -S "$1" value "$2" CONBENCH_OIDC_CLIENT_SECRET google-client-S3CR3T' _ \
  "$tmp/inspect.py" "$tmp/secret-google_oidc.json"
check "native_oidc: the CONBENCH_OIDC_* values are passed through" bash -c \
  'python3 -S "$1" value "$2" CONBENCH_OIDC_ISSUER_URL https://issuer.example &&
   python3 -S "$1" value "$2" CONBENCH_OIDC_CLIENT_ID native-client-id' _ \
  "$tmp/inspect.py" "$tmp/secret-native_oidc.json"
for legacy in $legacy_keys; do
  check "no manifest carries the password-era key $legacy" bash -c \
    '! grep -Eqw -- "$1" "${@:2}"' _ "$legacy" "$tmp/config.json" "$deployment" "$migration" \
    "$alerts" "$tmp"/secret-{no_oidc,no_github,github_app,google_oidc,native_oidc,session_only}.json
done

# name:expected words in the refusal message
refusing_profiles="oidc_no_session:CONBENCH_SESSION_SECRET
partial_oidc:CONBENCH_OIDC_ISSUER_URL
short_session:at.least.32
missing_base_url:CONBENCH_INTENDED_BASE_URL
ftp_base_url:CONBENCH_INTENDED_BASE_URL
github_app_with_token:GITHUB_API_TOKEN
partial_github_app:CONBENCH_COMMIT_GITHUB_APP_INSTALLATION_ID
unreadable_key:readable
missing_DB_USERNAME:DB_USERNAME
missing_DB_PASSWORD:DB_PASSWORD
missing_DB_HOST:DB_HOST
missing_DB_PORT:DB_PORT
missing_DB_NAME:DB_NAME"
while IFS=: read -r profile reason; do
  if render_profile "$profile"; then
    fail "profile $profile refuses"
  else
    check "profile $profile refuses, naming $reason, and renders nothing" bash -c \
      'grep -Eq "^deploy refused: .*$1" "$2" && ! test -s "$3"' _ "$reason" \
      "$tmp/secret-$profile.err" "$tmp/secret-$profile.json"
  fi
done <<<"$refusing_profiles"
check "no refusal message shows a secret value" \
  inspect no-secrets "$tmp"/secret-*.err

# --- deploy functions against the fakes -----------------------------------------------------------
traced() {
  set -x
  "$@"
}
reset_fakes
in_profile github_app traced deploy_secrets_and_config >"$tmp/secrets-run.out" 2>&1 &&
  secrets_rc=0 || secrets_rc=$?
check "deploy_secrets_and_config (traced with set -x) succeeds" test "$secrets_rc" = 0
check "the trace really was on" grep -Fq "+ _cb_require NAMESPACE" "$tmp/secrets-run.out"
check "deploy_secrets_and_config applies both Secrets, then the ConfigMap" \
  inspect order "$FAKE_LOG" Secret/conbench-secret Secret/conbench-github-app-key \
  ConfigMap/conbench-config
check "it targets the namespace and the EKS cluster" bash -c \
  'grep -Fq "kubectl --namespace conbench-test apply -f" "$1" &&
   grep -Fq "aws eks update-kubeconfig --name fake-cluster" "$1"' _ "$FAKE_LOG"
check "the applied Secret decodes to the rendered DB URL" \
  inspect value "$FAKE_DIR/000" CONBENCH_DB_URL "$db_url"
check "no secret value appears in the traced output or in any recorded command line" \
  inspect no-secrets "$tmp/secrets-run.out" "$FAKE_LOG"

for profile in partial_oidc short_session missing_base_url oidc_no_session; do
  reset_fakes
  refuses "deploy_secrets_and_config refuses profile $profile" "^deploy refused: " \
    in_profile "$profile" deploy_secrets_and_config
  check "... and nothing reached kubectl or aws" test ! -s "$FAKE_LOG"
done

reset_fakes
in_profile no_oidc FAKE_JOB_SUCCEEDED=1 run_migrations >"$tmp/migrate.out" 2>&1 && migrate_rc=0 || migrate_rc=$?
check "run_migrations succeeds when the Job reports succeeded=1" test "$migrate_rc" = 0
check "run_migrations deletes the old Job, applies the new one, waits, dumps its logs" \
  inspect sequence "$FAKE_LOG" "delete job/conbench-migration" "applied Job/conbench-migration" \
  "get job/conbench-migration -o jsonpath={.status.succeeded}/{.status.failed}" \
  "logs job/conbench-migration" "get job/conbench-migration -o jsonpath={.status.succeeded}"
check "run_migrations shows the migration logs" grep -Fq "fake migration log" "$tmp/migrate.out"
reset_fakes
in_profile no_oidc FAKE_JOB_SUCCEEDED= FAKE_JOB_FAILED=1 run_migrations >"$tmp/migrate-failed.out" 2>&1 &&
  migrate_rc=0 || migrate_rc=$?
check "run_migrations fails when the Job failed, after dumping its logs" bash -c \
  'test "$1" != 0 && grep -Fq "fake migration log" "$2"' _ "$migrate_rc" "$tmp/migrate-failed.out"

reset_fakes
in_profile no_oidc FAKE_CRD=1 CONBENCH_DEPLOY_INGRESS_CLUSTERS="other-cluster, fake-cluster" \
  CONBENCH_ALERT_CHANNEL=webhook deploy >"$tmp/deploy.out" 2>&1 && deploy_rc=0 || deploy_rc=$?
check "deploy on an ingress cluster succeeds" test "$deploy_rc" = 0
check "deploy applies Deployment, Service, ServiceMonitor, then the Ingress branch, then the CronJob" \
  inspect order "$FAKE_LOG" Deployment/conbench-deployment Service/conbench-service \
  ServiceMonitor/conbench-service-monitor Ingress/conbench-ingress CronJob/conbench-alerts
check "Service is applied before the ingress branch" bash -c \
  'test "$(grep -n "applied Service/" "$1" | cut -d: -f1)" -lt "$(grep -n "applied Ingress/" "$1" | cut -d: -f1)"' \
  _ "$FAKE_LOG"
check "deploy ends with kubectl rollout status" bash -c \
  'tail -n1 "$1" | grep -Fq "rollout status deployment/conbench-deployment"' _ "$FAKE_LOG"
reset_fakes
in_profile no_oidc FAKE_CRD=0 CONBENCH_DEPLOY_INGRESS_CLUSTERS=other-cluster deploy >"$tmp/deploy-plain.out" 2>&1 && deploy_rc=0 || deploy_rc=$?
check "deploy off the ingress clusters, without the CRD: Deployment and Service only" bash -c \
  'test "$1" = 0 && python3 -S "$2" order "$3" Deployment/conbench-deployment Service/conbench-service' \
  _ "$deploy_rc" "$tmp/inspect.py" "$FAKE_LOG"
reset_fakes
refuses "deploy refuses an unrenderable Deployment (no registry)" "DOCKER_REGISTRY is required" \
  in_profile no_oidc DOCKER_REGISTRY= deploy
check "... and nothing reached kubectl" test ! -s "$FAKE_LOG"

reset_fakes
rollback >"$tmp/rollback.out" 2>&1 && rollback_rc=0 || rollback_rc=$?
check "rollback succeeds" test "$rollback_rc" = 0
check "rollback runs rollout undo, then rollout status" inspect sequence "$FAKE_LOG" \
  "rollout undo deployment/conbench-deployment"$'\n' "rollout status deployment/conbench-deployment"
reset_fakes
in_profile no_oidc CONBENCH_ROLLBACK_TO_REVISION=7 rollback >"$tmp/rollback.out" 2>&1 || true
check "rollback can target a revision" \
  grep -Fq "rollout undo deployment/conbench-deployment --to-revision=7" "$FAKE_LOG"
reset_fakes
refuses "running the script with an unknown command refuses" "unknown command 'nope'" \
  env -u CONBENCH_DEPLOY_NO_DISPATCH bash "$runtime" nope
refuses "... even when sourced with arguments" "unknown command 'nope'" \
  env -u CONBENCH_DEPLOY_NO_DISPATCH bash -c 'source "$1" nope' _ "$runtime"
check "... and runs a known one" bash -c \
  'test "$(env -u CONBENCH_DEPLOY_NO_DISPATCH bash "$1" conbench_image_spec)" = "$2"' _ "$runtime" "$image"

reset_fakes
build_and_push >"$tmp/build.out" 2>&1 && build_rc=0 || build_rc=$?
check "build_and_push builds Dockerfile.server, logs in to ECR via stdin, pushes the version" bash -c \
  'test "$1" = 0 &&
   grep -Fq "docker build --file $3/Dockerfile.server --build-arg CONBENCH_BUILD_REVISION=" "$2" &&
   grep -Fq "aws ecr get-login-password --region us-east-2" "$2" &&
   grep -Fq "docker login: password received on stdin" "$2" &&
   grep -Fxq "docker push $4" "$2"' _ "$build_rc" "$FAKE_LOG" "$root" "$image"
check "the registry password never appears on a command line" inspect no-secrets "$FAKE_LOG"

# --- images ---------------------------------------------------------------------------------------
check "Dockerfile.server: non-root 65532, port 8080, conbench serve" bash -c \
  'grep -Fxq "USER 65532:65532" "$1" && grep -Fxq "EXPOSE 8080" "$1" &&
   grep -Fxq "ENTRYPOINT [\"conbench\"]" "$1" && grep -Fxq "CMD [\"serve\"]" "$1"' \
  _ "$root/Dockerfile.server"
check "Dockerfile.schema: postgresql-client-15 and conbench migrate" bash -c \
  'grep -Fq "postgresql-client-15" "$1" && grep -Fxq "ENTRYPOINT [\"conbench\", \"migrate\"]" "$1"' \
  _ "$root/Dockerfile.schema"

printf '# %d passed, %d failed\n' "$passed" "$failed"
[ "$failed" = 0 ]
