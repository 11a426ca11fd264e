#!/usr/bin/env bash
# The local stack: the local AWS target plus terraform/envs/local applied to it.
#   scripts/local.sh up      start the emulator (if needed), apply Terraform, print how to call the API
#   scripts/local.sh down    stop the emulator (its resources are in memory: they go with it)
#   scripts/local.sh outputs print the Terraform outputs as JSON
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
  tf apply -input=false -auto-approve -compact-warnings "${tf_vars[@]}"
  tf output -json > "$state_dir/outputs.json"
  print_usage
}

print_usage() {
  local url
  url=$(tf output -raw api_url)
  cat <<MSG

Local stack is up (AWS endpoint $endpoint, outputs in $state_dir/outputs.json).
API: $url
Console: $url/  (open it in a browser; sign-up codes are in $endpoint/_gateway/mailbox/<email>)

  curl -s $url/health
  # sign up, read the code from the local mailbox (nothing is emailed), confirm (answers your API key),
  # log in, call a protected route with the token and your API key:
  curl -s -X POST $url/register -H 'content-type: application/json' \\
       -d '{"email":"ada@example.com","password":"Correct-horse-9","fullname":"Ada Lovelace"}'
  curl -s $endpoint/_gateway/mailbox/ada@example.com
  curl -s -X POST $url/register/confirm -H 'content-type: application/json' \\
       -d '{"email":"ada@example.com","code":"<code>"}'
  curl -s -X POST $url/login -H 'content-type: application/json' \\
       -d '{"email":"ada@example.com","password":"Correct-horse-9"}'
  curl -s $url/me -H "authorization: Bearer \$ID_TOKEN" -H "x-api-key: \$API_KEY"

Stop it with: make local-down
MSG
}

case "${1:-}" in
  up) up ;;
  down) "$repo/scripts/local-aws.sh" down ;;
  outputs) render && tf output -json ;;
  plan) render && tf plan -input=false -detailed-exitcode -compact-warnings "${tf_vars[@]}" ;;
  *) echo "usage: $0 up|down|outputs|plan" >&2; exit 2 ;;
esac
