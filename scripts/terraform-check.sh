#!/usr/bin/env bash
# Static checks of the Terraform code, offline:
#   1. terraform fmt -check -recursive
#   2. init -backend=false + validate of every root, against the provider it runs with:
#      - hashicorp/aws 5.x, from the filesystem mirror TF_AWS5_MIRROR (default /opt/tf-plugins) where it exists:
#        every module as written (with its *_override.tf files) and the 5.x roots (envs/dev, envs/prod);
#      - hashicorp/aws 3.39.0 (scripts/terraform.sh's offline mirror): the roots pinning it (envs/local) and every
#        module, as the local root uses them: without *_override.tf (the files that hold 5.x-only arguments;
#        scripts/local.sh applies such a copy).
#   3. without a 5.x mirror, the 5.x roots are validated against 3.39.0 instead (a copy with the constraint
#      rewritten and without *_override.tf): syntax and module wiring, not the 5.x schema.
#
#   scripts/terraform-check.sh [TERRAFORM_DIR]     (default: <repo>/terraform)
#
# Validation runs on copies of the tree in a temp dir, so no .terraform/ or lock file lands in the sources.
# Exits non-zero when any check fails (all checks run; the failures are listed at the end).
set -euo pipefail
shopt -s nullglob

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TF="${REPO_ROOT}/scripts/terraform.sh"
TF_DIR="$(cd "${1:-${REPO_ROOT}/terraform}" && pwd)"
LOCAL_PROVIDER_VERSION="3.39.0"
AWS5_MIRROR="${TF_AWS5_MIRROR-/opt/tf-plugins}"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/terraform-check.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

failures=()

step() { printf '==> %s\n' "$*"; }
fail() {
  printf 'FAILED: %s\n' "$*" >&2
  failures+=("$*")
}

# init + validate one root, quietly; $1 = directory, $2 = provider set (3.39 or 5). Output kept for failures.
validate_root() {
  local dir="$1" set="$2"
  TF_AWS_PROVIDER="$set" "$TF" -chdir="$dir" init -backend=false -no-color >"${dir}/.check.log" 2>&1 &&
    TF_AWS_PROVIDER="$set" "$TF" -chdir="$dir" validate -no-color >>"${dir}/.check.log" 2>&1
}

have_aws5=0
if [ -n "$AWS5_MIRROR" ] && compgen -G "${AWS5_MIRROR}/registry.terraform.io/hashicorp/aws/5.*" >/dev/null; then
  have_aws5=1
  export TF_AWS5_MIRROR="$AWS5_MIRROR"
fi

# Make sure the toolchain is installed before anything runs in parallel (its messages go to stderr).
"$TF" version >/dev/null

step "terraform fmt -check -recursive ${TF_DIR}"
if ! "$TF" fmt -check -recursive -diff -no-color "$TF_DIR"; then
  fail "fmt (run: scripts/terraform.sh fmt -recursive ${TF_DIR})"
fi

# Two copies: as written (provider 5.x) and as the 3.39 toolchain sees it (no *_override.tf).
cp -R "$TF_DIR" "$WORK/aws5"
find "$WORK/aws5" \( -name .terraform -o -name '.terraform.lock.hcl' -o -name '*.tfstate*' \) -prune \
  -exec rm -rf {} +
cp -R "$WORK/aws5" "$WORK/aws3"
find "$WORK/aws3" -name '*_override.tf' -delete

labels=()
dirs=()
sets=()
add_root() { labels+=("$1") && dirs+=("$2") && sets+=("$3"); }

for module in "$WORK"/aws3/modules/*/; do
  [ -f "${module}versions.tf" ] || continue
  name="modules/$(basename "$module")"
  add_root "$name (against aws ${LOCAL_PROVIDER_VERSION}, without *_override.tf)" "${module%/}" 3.39
  if [ "$have_aws5" = 1 ]; then
    add_root "$name (against aws 5.x)" "$WORK/aws5/${name}" 5
  fi
done
for env in "$WORK"/aws3/envs/*/; do
  name="$(basename "$env")"
  if grep -Eq "version *= *\"=? *${LOCAL_PROVIDER_VERSION//./\\.}\"" "${env}versions.tf" 2>/dev/null; then
    add_root "envs/${name} (against aws ${LOCAL_PROVIDER_VERSION})" "${env%/}" 3.39
  elif [ "$have_aws5" = 1 ]; then
    add_root "envs/${name} (against aws 5.x)" "$WORK/aws5/envs/${name}" 5
  else
    # No 5.x provider here: a copy at the same depth (so ../../modules still resolves) with the constraint
    # rewritten to the mirrored 3.39.0 (-backend=false leaves the s3 backend alone).
    copy="$WORK/aws3/envs/.check-${name}"
    cp -R "$env" "$copy"
    sed -i -E '/source *= *"hashicorp\/aws"/,/}/ s/^( *version *= *)".*"/\1"'"${LOCAL_PROVIDER_VERSION}"'"/' \
      "${copy}/versions.tf"
    grep -q "\"${LOCAL_PROVIDER_VERSION}\"" "${copy}/versions.tf" || fail "envs/${name}: no hashicorp/aws constraint to rewrite"
    add_root "envs/${name} (against aws ${LOCAL_PROVIDER_VERSION}, no 5.x mirror at '${AWS5_MIRROR}')" "$copy" 3.39
  fi
done

step "init -backend=false + validate: ${#dirs[@]} roots"
# The first root of each provider set fills the plugin cache; the others only link to it and run in parallel.
pids=()
seen_sets=" "
for i in "${!dirs[@]}"; do
  if [[ "$seen_sets" != *" ${sets[$i]} "* ]]; then
    seen_sets+="${sets[$i]} "
    validate_root "${dirs[$i]}" "${sets[$i]}" && pids+=("") || pids+=("failed")
  else
    validate_root "${dirs[$i]}" "${sets[$i]}" &
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

if [ "${#failures[@]}" -gt 0 ]; then
  printf '\nterraform-check: %d failure(s):\n' "${#failures[@]}" >&2
  printf '  - %s\n' "${failures[@]}" >&2
  exit 1
fi
printf '\nterraform-check: all checks passed\n'
