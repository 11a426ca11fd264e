#!/usr/bin/env bash
# The local stack: the local AWS target plus terraform/envs/local applied to it.
#   scripts/local.sh up      start the emulator (if needed), apply Terraform (its full output goes to a log
#                            file; a one-line summary is printed), print how to call the API
#   scripts/local.sh down    stop the emulator (its resources are in memory: they go with it)
#   scripts/local.sh outputs print the Terraform outputs as JSON
#   scripts/local.sh output NAME  print one output of the last `up` (e.g. api_url), for $(...) in a shell
#   scripts/local.sh plan    terraform plan against the running stack; exit 0 = no changes, 2 = changes
# Terraform runs in a rendered copy of terraform/ under $LOCAL_AWS_DIR/terraform/src (see render below).
# Config: LOCAL_AWS_PORT (4566), LOCAL_AWS_HOST (127.0.0.1), LOCAL_AWS_DIR (.local/aws), LAMBDA_ZIP
# (dist/lambda.zip), LOCAL_AWS_DOCKER=1 to run localstack-compose.yml instead of the host emulator.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
export LOCAL_AWS_PORT=${LOCAL_AWS_PORT:-4566}
export LOCAL_AWS_HOST=${LOCAL_AWS_HOST:-127.0.0.1}
export LOCAL_AWS_DIR=${LOCAL_AWS_DIR:-$repo/.local/aws}
endpoint="http://$LOCAL_AWS_HOST:$LOCAL_AWS_PORT"
zip=${LAMBDA_ZIP:-$repo/dist/lambda.zip}
state_dir="$LOCAL_AWS_DIR/terraform"
apply_log="$state_dir/apply.log"
# Terraform's working files live with the emulator's state, so the repo stays clean and two local
# stacks (e.g. `make local` and the e2e tests) never share state.
export TF_DATA_DIR="$state_dir/.terraform"
# Provider 3.39 runs a copy of the modules without their *_override.tf files, which hold arguments only newer
# providers know (e.g. deletion protection; see terraform/README.md). Rendered afresh before every command.
src_dir="$state_dir/src"
render() {
  rm -rf "$src_dir.part"
  mkdir -p "$src_dir.part/envs"
  cp -R "$repo/terraform/modules" "$src_dir.part/modules"
  cp -R "$repo/terraform/envs/local" "$src_dir.part/envs/local"
  find "$src_dir.part" \( -name .terraform -o -name '*.tfstate*' \) -prune -exec rm -rf {} +
  find "$src_dir.part" -name '*_override.tf' -delete
  rm -rf "$src_dir"
  mv "$src_dir.part" "$src_dir"
}
tf() { "$repo/scripts/terraform.sh" -chdir="$src_dir/envs/local" "$@"; }
tf_vars=(-var "local_aws_endpoint=$endpoint" -var "lambda_zip_path=$zip")
# In Docker, functions run in containers of their own and reach LocalStack by its container DNS name.
[ "${LOCAL_AWS_DOCKER:-0}" = 1 ] && tf_vars+=(-var "function_aws_endpoint=http://localhost.localstack.cloud:4566")

up() {
  [ -f "$zip" ] || { echo "error: $zip is missing: run 'make package' first" >&2; exit 1; }
  "$repo/scripts/local-aws.sh" up
  mkdir -p "$state_dir"
  # The emulator keeps resources in memory: state from an earlier emulator describes nothing.
  render
  instance=$(cat "$LOCAL_AWS_DIR/instance-id")
  if [ "$(cat "$state_dir/instance-id" 2>/dev/null || true)" != "$instance" ]; then
    rm -f "$state_dir/terraform.tfstate" "$state_dir/terraform.tfstate.backup"
    echo "$instance" > "$state_dir/instance-id"
  fi
  tf init -input=false -reconfigure -backend-config="path=$state_dir/terraform.tfstate" >/dev/null
  # Terraform's plan and apply run to thousands of lines: they go to a log, and the summary line is shown.
  echo "local: applying terraform/envs/local (full output: $apply_log)"
  if ! tf apply -input=false -auto-approve -compact-warnings -no-color "${tf_vars[@]}" >"$apply_log" 2>&1; then
    tail -n 30 "$apply_log" >&2
    echo "local: terraform apply failed: the last lines are above, everything is in $apply_log" >&2
    exit 1
  fi
  echo "local: $(grep -E '^Apply complete!' "$apply_log" || echo 'applied')"
  tf output -json > "$state_dir/outputs.json"
  print_usage
}

# Lines to paste into a shell: the same commands as README.md's "Sign up and call" (which the e2e tests run),
# with an address of your own.
print_usage() {
  local url
  url=$(output api_url)
  cat <<MSG

Local stack is up at $endpoint (Terraform outputs: $state_dir/outputs.json).
Console: $url/  (open it in a browser)

Call the API from a shell (README.md, "Sign up and call", goes on from here):
  export API=$url
  export LOCAL_AWS=$endpoint
  curl -sS --fail-with-body -X POST "\$API/register" -H 'content-type: application/json' \\
       -d '{"email":"you@example.com","password":"Correct-horse-9","fullname":"You"}'; echo
  # nothing is emailed locally: the code is in the local mailbox
  CODE=\$(curl -sS --fail-with-body "\$LOCAL_AWS/_gateway/mailbox/you@example.com" \\
         | python3 -c 'import json,sys; print(json.load(sys.stdin)["messages"][-1]["code"])')
  CONFIRMED=\$(curl -sS --fail-with-body -X POST "\$API/register/confirm" -H 'content-type: application/json' \\
              -d '{"email":"you@example.com","code":"'"\$CODE"'"}')
  API_KEY=\$(echo "\$CONFIRMED" | python3 -c 'import json,sys; print(json.load(sys.stdin)["api_key"])')
  ID_TOKEN=\$(curl -sS --fail-with-body -X POST "\$API/login" -H 'content-type: application/json' \\
             -d '{"email":"you@example.com","password":"Correct-horse-9"}' \\
             | python3 -c 'import json,sys; print(json.load(sys.stdin)["id_token"])')
  export API_KEY ID_TOKEN
  curl -sS --fail-with-body "\$API/me" -H "authorization: Bearer \$ID_TOKEN"; echo

The function's log: make logs     Stop everything: make local-down
MSG
}

output() {  # output NAME: one value of the outputs the last `up` wrote
  local file="$state_dir/outputs.json"
  [ -f "$file" ] || { echo "local: no local stack in $LOCAL_AWS_DIR: run 'make local' first" >&2; exit 1; }
  python3 - "$file" "$1" <<'PY'
import json
import sys

outputs = json.load(open(sys.argv[1]))
if sys.argv[2] not in outputs:
    sys.exit(f"local: no output {sys.argv[2]!r}: one of {', '.join(sorted(outputs))} (run 'make local' again?)")
value = outputs[sys.argv[2]]["value"]
print(value if isinstance(value, str) else json.dumps(value))
PY
}

case "${1:-}" in
  up) up ;;
  down) "$repo/scripts/local-aws.sh" down ;;
  outputs) render && tf output -json ;;
  output) [ $# -eq 2 ] || { echo "usage: $0 output NAME" >&2; exit 2; }; output "$2" ;;
  plan) render && tf plan -input=false -detailed-exitcode -compact-warnings "${tf_vars[@]}" ;;
  *) echo "usage: $0 up|down|outputs|output NAME|plan" >&2; exit 2 ;;
esac
