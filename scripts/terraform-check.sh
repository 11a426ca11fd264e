#!/usr/bin/env bash
# Static checks of the Terraform code, offline:
#   1. terraform fmt -check -recursive
#   2. init -backend=false + validate of every module and of envs/local (hashicorp/aws 3.39.0 from the mirror)
#   3. envs/dev and envs/prod pin hashicorp/aws 5.x, which cannot be installed offline: a copy of each, with the
#      constraint rewritten to 3.39.0, is validated instead. That proves the syntax and the module wiring against
#      the 3.39 schema, not the 5.x schema (the modules are written to what both accept).
#   4. where a hashicorp/aws 5.x filesystem mirror exists on the machine (TF_AWS5_MIRROR, default /opt/tf-plugins,
#      which this project's CI image has), those 5.x roots are also validated as written, against 5.x.
#
#   scripts/terraform-check.sh [TERRAFORM_DIR]     (default: <repo>/terraform)
#
# Validation runs on a copy of the tree in a temp dir, so no .terraform/ or lock file lands in the sources.
# Exits non-zero when any check fails (all checks run; the failures are listed at the end).
set -euo pipefail
shopt -s nullglob

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TF="${REPO_ROOT}/scripts/terraform.sh"
TF_DIR="$(cd "${1:-${REPO_ROOT}/terraform}" && pwd)"
LOCAL_PROVIDER_VERSION="3.39.0"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/terraform-check.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

failures=()

step() { printf '==> %s\n' "$*"; }
fail() {
  printf 'FAILED: %s\n' "$*" >&2
  failures+=("$*")
}

# init + validate one root, quietly; $1 = directory. Prints Terraform's output on failure.
validate_root() {
  local dir="$1"
  "$TF" -chdir="$dir" init -backend=false -no-color >"${dir}/.check.log" 2>&1 &&
    "$TF" -chdir="$dir" validate -no-color >>"${dir}/.check.log" 2>&1
}

# Make sure the toolchain is installed before anything runs in parallel (its messages go to stderr).
"$TF" version >/dev/null

step "terraform fmt -check -recursive ${TF_DIR}"
if ! "$TF" fmt -check -recursive -diff -no-color "$TF_DIR"; then
  fail "fmt (run: scripts/terraform.sh fmt -recursive ${TF_DIR})"
fi

cp -R "$TF_DIR" "$WORK/terraform"
find "$WORK/terraform" \( -name .terraform -o -name '.terraform.lock.hcl' -o -name '*.tfstate*' \) -prune \
  -exec rm -rf {} +

labels=()
dirs=()
provider5_roots=()
for module in "$WORK"/terraform/modules/*/; do
  [ -f "${module}versions.tf" ] || continue
  labels+=("modules/$(basename "$module")")
  dirs+=("${module%/}")
done
for env in "$WORK"/terraform/envs/*/; do
  name="$(basename "$env")"
  if grep -Eq "version *= *\"=? *${LOCAL_PROVIDER_VERSION//./\\.}\"" "${env}versions.tf" 2>/dev/null; then
    labels+=("envs/${name}")
    dirs+=("${env%/}")
    continue
  fi
  # A provider 5.x root: validate a copy at the same depth (so ../../modules still resolves), with the AWS
  # provider constraint rewritten to the mirrored 3.39.0 (-backend=false leaves the s3 backend alone).
  provider5_roots+=("$name")
  copy="$WORK/terraform/envs/.check-${name}"
  cp -R "$env" "$copy"
  sed -i -E '/source *= *"hashicorp\/aws"/,/}/ s/^( *version *= *)".*"/\1"'"${LOCAL_PROVIDER_VERSION}"'"/' \
    "${copy}/versions.tf"
  grep -q "\"${LOCAL_PROVIDER_VERSION}\"" "${copy}/versions.tf" || fail "envs/${name}: no hashicorp/aws constraint to rewrite"
  labels+=("envs/${name} (against aws ${LOCAL_PROVIDER_VERSION})")
  dirs+=("$copy")
done

step "init -backend=false + validate: ${#dirs[@]} roots"
# The first root fills the plugin cache; the others only link to it and may then run in parallel.
pids=()
for i in "${!dirs[@]}"; do
  if [ "$i" -eq 0 ]; then
    validate_root "${dirs[0]}" && pids+=("") || pids+=("failed")
  else
    validate_root "${dirs[$i]}" &
    pids+=("$!")
  fi
done
for i in "${!dirs[@]}"; do
  status=0
  case "${pids[$i]}" in
    "") ;;
    failed) status=1 ;;
    *) wait "${pids[$i]}" || status=$? ;;
  esac
  if [ "$status" -eq 0 ]; then
    printf '    ok      %s\n' "${labels[$i]}"
  else
    printf '    FAILED  %s\n' "${labels[$i]}"
    sed 's/^/        /' "${dirs[$i]}/.check.log" >&2
    fail "validate ${labels[$i]}"
  fi
done

aws5_mirror="${TF_AWS5_MIRROR:-/opt/tf-plugins}"
if [ "${#provider5_roots[@]}" -eq 0 ]; then
  :
elif compgen -G "${aws5_mirror}/registry.terraform.io/hashicorp/aws/5.*" >/dev/null; then
  step "validate ${provider5_roots[*]} as written, against hashicorp/aws 5.x from ${aws5_mirror}"
  eval "$("$TF" --print-env)"  # the same terraform binary, with a CLI config of our own below
  cat >"$WORK/aws5.tfrc" <<RC
provider_installation {
  filesystem_mirror {
    path    = "${aws5_mirror}"
    include = ["registry.terraform.io/hashicorp/aws"]
  }
}
disable_checkpoint = true
RC
  for name in "${provider5_roots[@]}"; do
    copy="$WORK/terraform/envs/.aws5-${name}"
    cp -R "$WORK/terraform/envs/${name}" "$copy"
    if TF_CLI_CONFIG_FILE="$WORK/aws5.tfrc" TF_PLUGIN_CACHE_DIR="" terraform -chdir="$copy" init -backend=false \
      -no-color >"${copy}/.check.log" 2>&1 &&
      TF_CLI_CONFIG_FILE="$WORK/aws5.tfrc" terraform -chdir="$copy" validate -no-color >>"${copy}/.check.log" 2>&1; then
      printf '    ok      envs/%s (against aws 5.x)\n' "$name"
    else
      printf '    FAILED  envs/%s (against aws 5.x)\n' "$name"
      sed 's/^/        /' "${copy}/.check.log" >&2
      fail "validate envs/${name} against aws 5.x"
    fi
  done
else
  step "no hashicorp/aws 5.x mirror at ${aws5_mirror}: ${provider5_roots[*]} checked against 3.39 only"
fi

if [ "${#failures[@]}" -gt 0 ]; then
  printf '\nterraform-check: %d failure(s):\n' "${#failures[@]}" >&2
  printf '  - %s\n' "${failures[@]}" >&2
  exit 1
fi
printf '\nterraform-check: all checks passed\n'
