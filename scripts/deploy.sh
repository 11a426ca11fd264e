#!/usr/bin/env bash
# Plan and deploy an AWS environment, terraform/envs/dev or terraform/envs/prod (hashicorp/aws 5.x).
#
#   scripts/deploy.sh plan ENV      with envs/ENV/backend.hcl: init against the S3 state, then terraform plan (needs
#                                   AWS credentials). Without it: the offline preview below, saying so.
#   scripts/deploy.sh apply ENV     init + terraform apply (AUTO_APPROVE=1: no prompt), then the API URL and the
#                                   next steps. Needs backend.hcl and terraform.tfvars.
#   scripts/deploy.sh preview ENV [--json FILE] [--example-tfvars] [terraform plan args...]
#                                   offline plan of a temporary copy of the environment: a fresh local state and
#                                   placeholder credentials (preview_override.tf), any AWS call refused, the
#                                   environment's terraform.tfvars or else (or with --example-tfvars) its
#                                   terraform.tfvars.example. --json writes `terraform show -json` of the plan to
#                                   FILE. Exit 3: no 5.x provider could be installed.
#
# Environment: LAMBDA_ZIP (default dist/lambda.zip: `make package`), AUTO_APPROVE, TF_AWS5_MIRROR (where
# hashicorp/aws 5.x comes from; see scripts/terraform.sh).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tf() { TF_AWS_PROVIDER=5 "$repo/scripts/terraform.sh" "$@"; }
# Terraform's working directory is the environment's own .terraform/, whatever the caller's shell says.
unset TF_DATA_DIR TF_WORKSPACE

usage() {
  echo "usage: $0 plan|apply ENV  |  $0 preview ENV [--json FILE] [--example-tfvars] [plan args...]   (ENV = dev or prod)" >&2
  exit 2
}

[ $# -ge 2 ] || usage
command="$1"
env="$2"
shift 2
case "$env" in
  dev | prod) ;;
  *) echo "error: ENV must be dev or prod (got '${env}'); the local stack is 'make local'" >&2 && exit 2 ;;
esac
env_dir="$repo/terraform/envs/$env"
zip="${LAMBDA_ZIP:-$repo/dist/lambda.zip}"

require_file() {
  [ -f "$env_dir/$1" ] || {
    echo "error: terraform/envs/$env/$1 is missing: cp terraform/envs/$env/$1.example terraform/envs/$env/$1, then edit it" >&2
    exit 1
  }
}

init_backend() {
  require_file backend.hcl
  require_file terraform.tfvars
  tf -chdir="$env_dir" init -input=false -backend-config=backend.hcl
}

preview() {
  local json_out="" example_tfvars=0
  while [ $# -gt 0 ]; do
    case "$1" in
      --json) [ $# -ge 2 ] || usage && json_out="$2" && shift 2 ;;
      --example-tfvars) example_tfvars=1 && shift ;;
      *) break ;;
    esac
  done
  [ -f "$zip" ] || { echo "error: $zip is missing: run 'make package' first (or set LAMBDA_ZIP)" >&2 && exit 1; }

  local work root
  work="$(mktemp -d "${TMPDIR:-/tmp}/deploy-preview.XXXXXX")"
  # shellcheck disable=SC2064  # expand now: the trap must remove this very directory
  trap "rm -rf '${work}'" EXIT
  # The same layout as the repository, so that ../../modules resolves.
  mkdir -p "$work/terraform/envs"
  cp -R "$repo/terraform/modules" "$work/terraform/modules"
  cp -R "$env_dir" "$work/terraform/envs/$env"
  root="$work/terraform/envs/$env"
  find "$work/terraform" \( -name .terraform -o -name '.terraform.lock.hcl' -o -name '*.tfstate*' \
    -o -name backend.hcl \) -prune -exec rm -rf {} +
  if [ "$example_tfvars" = 1 ]; then
    cp "$root/terraform.tfvars.example" "$root/terraform.tfvars"
  elif [ ! -f "$root/terraform.tfvars" ]; then
    echo "deploy.sh: no terraform/envs/$env/terraform.tfvars: previewing with terraform.tfvars.example" >&2
    cp "$root/terraform.tfvars.example" "$root/terraform.tfvars"
  fi
  cat >"$root/preview_override.tf" <<'EOF'
# Written by scripts/deploy.sh preview: a fresh local state and placeholder credentials; nothing reaches AWS.
terraform {
  backend "local" {}
}

provider "aws" {
  access_key                  = "placeholder"
  secret_key                  = "placeholder"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  max_retries                 = 1
}
EOF

  if ! tf -chdir="$root" init -input=false -no-color >"$work/init.log" 2>&1; then
    cat "$work/init.log" >&2
    echo "deploy.sh: hashicorp/aws 5.x could not be installed (no mirror at TF_AWS5_MIRROR, registry unreachable?)" >&2
    exit 3
  fi
  # Offline for certain: no shared AWS config or profile, and every HTTP(S) request goes to a closed port.
  local -a offline=(env -u AWS_PROFILE -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY -u AWS_SESSION_TOKEN
    AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
    HTTPS_PROXY=http://127.0.0.1:9 https_proxy=http://127.0.0.1:9 HTTP_PROXY=http://127.0.0.1:9
    http_proxy=http://127.0.0.1:9 NO_PROXY= no_proxy=)
  "${offline[@]}" TF_AWS_PROVIDER=5 "$repo/scripts/terraform.sh" -chdir="$root" plan -input=false -lock=false \
    -var "lambda_zip_path=$zip" -out="$work/preview.tfplan" "$@"
  if [ -n "$json_out" ]; then
    "${offline[@]}" TF_AWS_PROVIDER=5 "$repo/scripts/terraform.sh" -chdir="$root" show -json -no-color "$work/preview.tfplan" >"$json_out"
  fi
}

next_steps() {
  local url
  url="$(tf -chdir="$env_dir" output -raw api_url)"
  cat <<MSG

Deployed terraform/envs/$env.
API: $url
Console: $url/

Next steps:
  1. Models: enable the Bedrock models your groups allow, once, in this account and region (README, "Deploying
     to AWS", Model access: a Marketplace subscription for third-party models, Anthropic's use-case form).
  2. First admin: a user who can log in at once; prints a password and an API key, once:
       make admin EMAIL=you@example.com ENV=$env
  3. Log in, then call the API with the token and the key:
       curl -s -X POST $url/login -H 'content-type: application/json' \\
            -d '{"email":"you@example.com","password":"<the password>"}'
       curl -s $url/me -H "authorization: Bearer \$ID_TOKEN" -H "x-api-key: \$API_KEY"
     More keys: POST $url/me/api-keys with the token only.
MSG
}

case "$command" in
  plan)
    [ $# -eq 0 ] || usage
    if [ -f "$env_dir/backend.hcl" ]; then
      init_backend
      tf -chdir="$env_dir" plan -input=false
    else
      echo "deploy.sh: no terraform/envs/$env/backend.hcl: an offline preview (fresh local state, placeholder credentials)." >&2
      echo "deploy.sh: it shows everything as to be created; with backend.hcl, make plan compares with the deployed state." >&2
      preview
    fi
    ;;
  apply)
    [ $# -eq 0 ] || usage
    init_backend
    approve=()
    [ "${AUTO_APPROVE:-0}" = 1 ] && approve=(-auto-approve)
    tf -chdir="$env_dir" apply -input=false "${approve[@]}"
    next_steps
    ;;
  preview) preview "$@" ;;
  *) usage ;;
esac
