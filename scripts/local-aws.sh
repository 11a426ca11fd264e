#!/usr/bin/env bash
# The local AWS target: LocalStack's community runtime on this machine, no Docker needed, with the project's
# plugin (scripts/localstack_plugin: subprocess Lambda executor, moto-backed Cognito and DynamoDB, REST API
# Cognito authorizer and usage plans).
#
#   scripts/local-aws.sh up        create the environments (once), start the emulator, wait until it is ready
#   scripts/local-aws.sh down      stop the emulator and its Lambda workers
#   scripts/local-aws.sh status    print whether it runs; exit 0 if it does, 3 if not
#   scripts/local-aws.sh logs [-f] print (or follow) the emulator's log
#
# Environment:
#   LOCAL_AWS_PORT           port of the endpoint (4566)
#   LOCAL_AWS_HOST           address it listens on (127.0.0.1)
#   LOCAL_AWS_DIR            state, log, pid and instance-id (<repo>/.local/aws)
#   LOCAL_AWS_VENV_DIR       the emulator's and the Lambda runtime's virtual environments (<repo>/.local/aws),
#                            shared by every LOCAL_AWS_DIR (e.g. `make local` and the e2e tests)
#   LOCAL_AWS_DOCKER=1       run localstack-compose.yml with Docker instead (same port, same commands)
#   LOCAL_AWS_START_TIMEOUT  seconds to wait for readiness (90)
#   LOCAL_AWS_DEBUG=1        LocalStack debug logging
#   PYTHON313, PYTHON312     interpreters to use (else found by scripts/find-python.sh)
#
# $LOCAL_AWS_DIR/instance-id changes at every start of the emulator: the resources live in its memory, so a
# caller holding Terraform state can tell a restarted (empty) emulator from the one it deployed to.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
plugin_dir="$repo/scripts/localstack_plugin"
port=${LOCAL_AWS_PORT:-4566}
host=${LOCAL_AWS_HOST:-127.0.0.1}
dir=${LOCAL_AWS_DIR:-$repo/.local/aws}
endpoint="http://$host:$port"
venv_dir=${LOCAL_AWS_VENV_DIR:-$repo/.local/aws}
emulator_venv="$venv_dir/emulator"
runtime_venv="$venv_dir/lambda-runtime"
state_dir="$dir/state"
log_file="$dir/localstack.log"
pid_file="$dir/localstack.pid"
compose=(docker compose -f "$repo/localstack-compose.yml" -p "local-aws-$port")
start_timeout=${LOCAL_AWS_START_TIMEOUT:-90}

die() { echo "local-aws: $*" >&2; exit 1; }
say() { echo "local-aws: $*"; }

port_in_use() { (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; }
healthy() { curl -fsS --max-time 2 "$endpoint/_localstack/health" >/dev/null 2>&1; }
our_pid() {  # the pid of our running emulator, if any
  local pid
  pid=$(cat "$pid_file" 2>/dev/null) || return 1
  [ -n "$pid" ] && ps -o args= -p "$pid" 2>/dev/null | grep -q 'localstack.runtime.main' && echo "$pid"
}
sha256() { if command -v sha256sum >/dev/null; then sha256sum; else shasum -a 256; fi | cut -d' ' -f1; }
new_instance_id() {
  mkdir -p "$dir"
  od -An -N16 -tx1 /dev/urandom | tr -d ' \n' > "$dir/instance-id"
}

# A virtual environment made once per content of its requirement files (their hash is the stamp).
ensure_venv() {  # ensure_venv <venv dir> <python X.Y> <requirements file> [constraints file]
  local venv=$1 version=$2 requirements=$3 constraints=${4:-} python stamp
  local -a hashed=("$requirements") pip_constraints=()
  [ -n "$constraints" ] && hashed+=("$constraints") && pip_constraints=(-c "$constraints")
  [ "$requirements" = "$plugin_dir/requirements.txt" ] && hashed+=("$plugin_dir/pyproject.toml")
  stamp=$(cat "${hashed[@]}" | sha256)-$version
  [ "$(cat "$venv/.stamp" 2>/dev/null)" = "$stamp" ] && return 0
  # Two stacks starting at once (e.g. parallel e2e runs) share the venvs: one builds, the other waits for it.
  mkdir -p "$(dirname "$venv")"
  exec 8>"$venv.lock"
  flock 8
  if [ "$(cat "$venv/.stamp" 2>/dev/null)" = "$stamp" ]; then
    flock -u 8
    return 0
  fi
  python=$("$repo/scripts/find-python.sh" "$version") || exit 1
  say "creating $venv (CPython $version; about a minute the first time)"
  rm -rf "$venv"
  "$python" -m venv "$venv"
  (cd "$(dirname "$requirements")" &&
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
      ${pip_constraints[@]+"${pip_constraints[@]}"} -r "$requirements") ||
    die "installing $requirements into $venv failed (see pip's message above)"
  echo "$stamp" > "$venv/.stamp"
  flock -u 8
}

wait_ready() {  # wait_ready <pid or empty for docker>
  local pid=$1 deadline=$((SECONDS + start_timeout))
  while [ $SECONDS -lt $deadline ]; do
    if [ -n "$pid" ]; then
      kill -0 "$pid" 2>/dev/null || { tail -n 40 "$log_file" >&2; die "the emulator exited during start (log: $log_file)"; }
      grep -q '^Ready\.' "$log_file" 2>/dev/null && healthy && return 0
    else
      healthy && return 0
    fi
    sleep 0.2
  done
  [ -n "$pid" ] && tail -n 40 "$log_file" >&2
  die "not ready after ${start_timeout}s (log: ${pid:+$log_file}${pid:-${compose[*]} logs})"
}

# The plugin's code as of now; the emulator records it at start, so `up` can tell a stale emulator.
plugin_digest() {
  find "$plugin_dir" -type f \( -name '*.py' -o -name '*.json' -o -name '*.toml' -o -name '*.txt' \) \
    -not -path '*/__pycache__/*' -not -path '*.egg-info/*' | LC_ALL=C sort | xargs cat | sha256
}

up_host() {
  local pid
  if pid=$(our_pid); then
    if healthy && [ "$(cat "$dir/plugin.sha256" 2>/dev/null)" != "$(plugin_digest)" ]; then
      say "the plugin changed since this emulator started: restarting it (its resources start empty)"
      down_host
    elif healthy; then
      say "already running at $endpoint (pid $pid)"; return 0
    else
      say "pid $pid is starting; waiting"; wait_ready "$pid"; say "ready at $endpoint"; return 0
    fi
  fi
  if port_in_use; then
    die "port $port on $host is in use by something else: free it or pick another, e.g. LOCAL_AWS_PORT=$((port + 1)) $0 up"
  fi
  ensure_venv "$emulator_venv" 3.13 "$plugin_dir/requirements.txt" "$plugin_dir/constraints.txt"
  ensure_venv "$runtime_venv" 3.12 "$plugin_dir/lambda-runtime-requirements.txt"

  mkdir -p "$state_dir/tmp"
  [ -f "$log_file" ] && mv -f "$log_file" "$log_file.1"
  local runtime_python="$runtime_venv/bin/python" started=$SECONDS
  local -a launcher=()
  command -v setsid >/dev/null && launcher=(setsid)  # own process group: `down` stops it and its children
  env GATEWAY_LISTEN="$host:$port" \
    LOCALSTACK_HOST="$host:$port" \
    DNS_ADDRESS=0 \
    SKIP_SSL_CERT_DOWNLOAD=1 \
    DISABLE_EVENTS=1 \
    FILESYSTEM_ROOT="$state_dir" \
    TMPDIR="$state_dir/tmp" \
    DEBUG="${LOCAL_AWS_DEBUG:-0}" \
    LAMBDA_RUNTIME_EXECUTOR=subprocess \
    LAMBDA_SUBPROCESS_PYTHON="{\"python3.8\": \"$runtime_python\", \"python3.12\": \"$runtime_python\"}" \
    PROVIDER_OVERRIDE_COGNITO_IDP=moto \
    PROVIDER_OVERRIDE_COGNITO_IDENTITY=moto \
    PROVIDER_OVERRIDE_DYNAMODB=moto \
    PROVIDER_OVERRIDE_DYNAMODBSTREAMS=moto \
    PROVIDER_OVERRIDE_BEDROCK=gateway \
    PROVIDER_OVERRIDE_BEDROCK_RUNTIME=gateway \
    LOCAL_BEDROCK_OPENAI_URL="${LOCAL_BEDROCK_OPENAI_URL:-}" \
    LOCAL_BEDROCK_OPENAI_MODEL="${LOCAL_BEDROCK_OPENAI_MODEL:-}" \
    LOCAL_BEDROCK_GUARDRAIL_BLOCKED_WORDS="${LOCAL_BEDROCK_GUARDRAIL_BLOCKED_WORDS-forbidden}" \
    ${launcher[@]+"${launcher[@]}"} "$emulator_venv/bin/python" -m localstack.runtime.main \
    >"$log_file" 2>&1 </dev/null &
  pid=$!
  echo "$pid" > "$pid_file"
  plugin_digest > "$dir/plugin.sha256"
  new_instance_id
  wait_ready "$pid"
  say "ready at $endpoint in $((SECONDS - started))s (pid $pid, log $log_file)"
}

down_host() {
  local pid
  if ! pid=$(our_pid); then rm -f "$pid_file"; say "not running"; return 0; fi
  # its own process group when started with setsid; else just the process
  local target=$pid
  [ "$(ps -o pgid= -p "$pid" | tr -d ' ')" = "$pid" ] && target=-$pid
  kill -TERM -- "$target" 2>/dev/null || true
  for _ in $(seq 1 200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done  # it takes a few seconds
  if kill -0 "$pid" 2>/dev/null; then
    say "pid $pid did not stop within 20s of SIGTERM: killing it"
    kill -KILL -- "$target" 2>/dev/null || true
  fi
  # Lambda workers run in sessions of their own and exit within a second of losing LocalStack; any left
  # over are this emulator's (their log files are under its state dir).
  sleep 1.2
  local workers
  workers=$(pgrep -f "$state_dir/tmp/lambda-workers/" || true)
  [ -n "$workers" ] && kill -KILL $workers 2>/dev/null || true
  rm -f "$pid_file"
  say "stopped (pid $pid)"
}

status_host() {
  local pid
  if pid=$(our_pid) && healthy; then
    say "running at $endpoint (pid $pid, instance $(cat "$dir/instance-id" 2>/dev/null))"
    return 0
  fi
  if [ -n "${pid:-}" ]; then say "pid $pid is not answering at $endpoint (starting, or stuck: see $0 logs)"
  else say "not running"; fi
  return 3
}

up_docker() {
  command -v docker >/dev/null || die "LOCAL_AWS_DOCKER=1 needs docker"
  if healthy && "${compose[@]}" ps --status running -q 2>/dev/null | grep -q .; then
    say "already running at $endpoint (docker)"; return 0
  fi
  port_in_use && die "port $port on $host is in use by something else: free it or pick another, e.g. LOCAL_AWS_PORT=$((port + 1)) $0 up"
  LOCAL_AWS_PORT=$port LOCAL_AWS_HOST=$host "${compose[@]}" up -d
  new_instance_id
  wait_ready ""
  say "ready at $endpoint (docker)"
}

cmd=${1:-}
[ $# -gt 0 ] && shift
if [ "${LOCAL_AWS_DOCKER:-0}" = "1" ]; then
  export LOCAL_AWS_PORT=$port LOCAL_AWS_HOST=$host
  case $cmd in
    up) up_docker ;;
    down) "${compose[@]}" down; say "stopped (docker)" ;;
    status) if healthy; then say "running at $endpoint (docker)"; else say "not running"; exit 3; fi ;;
    logs) "${compose[@]}" logs "$@" ;;
    *) sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
  esac
else
  case $cmd in
    up) up_host ;;
    down) down_host ;;
    status) status_host ;;
    logs) if [ "${1:-}" = "-f" ]; then exec tail -n 100 -F "$log_file"; else cat "$log_file"; fi ;;
    *) sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
  esac
fi
