"""A full `terraform plan` of terraform/envs/dev and terraform/envs/prod against hashicorp/aws 5.x, offline.

scripts/deploy.sh preview (what `make plan` runs without a backend.hcl) plans a temporary copy of the
environment with its terraform.tfvars.example, a fresh local state and placeholder credentials, every HTTP(S)
request sent to a closed port: a call to AWS fails the plan. The plans are read as JSON (`terraform show
-json`). Skipped only where no 5.x provider can be installed (no mirror at TF_AWS5_MIRROR, default
/opt/tf-plugins, and no registry).
"""

import json
import os
import re
import subprocess
import zipfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
DEPLOY = REPO / "scripts" / "deploy.sh"
ENVS = ("dev", "prod")
NO_PROVIDER_EXIT = 3
TABLES = {"api_keys", "usage", "audit", "conversations", "bots"}


@dataclass(frozen=True)
class Plan:
    env: str
    returncode: int
    output: str
    document: dict

    def created(self, resource_type: str) -> list[dict]:
        """The planned values of every resource of this type the plan creates."""
        return [
            change["change"]["after"]
            for change in self.document.get("resource_changes", [])
            if change["mode"] == "managed"
            and change["type"] == resource_type
            and change["change"]["actions"] == ["create"]
        ]

    def created_by_key(self, address: str) -> dict[str, dict]:
        """The planned values of each instance of a resource block (`module.x.type.name`) by for_each key."""
        return {
            change.get("index"): change["change"]["after"]
            for change in self.document.get("resource_changes", [])
            if change["address"].rsplit("[", 1)[0] == address and change["change"]["actions"] == ["create"]
        }

    def counts(self) -> Counter:
        return Counter(
            change["type"]
            for change in self.document.get("resource_changes", [])
            if change["mode"] == "managed" and change["change"]["actions"] == ["create"]
        )


def aws5_mirror() -> Path | None:
    mirror = os.environ.get("TF_AWS5_MIRROR", "/opt/tf-plugins")
    if mirror and list(Path(mirror).glob("registry.terraform.io/hashicorp/aws/5.*")):
        return Path(mirror)
    return None


def preview(env: str, workdir: Path, lambda_zip: Path) -> subprocess.Popen:
    environment = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("TF_VAR_")
        and k not in {"TF_DATA_DIR", "TF_WORKSPACE", "TF_CLI_ARGS", "TF_CLI_ARGS_plan"}
    }
    environment["LAMBDA_ZIP"] = str(lambda_zip)
    environment["TMPDIR"] = str(workdir)
    return subprocess.Popen(
        [
            str(DEPLOY),
            "preview",
            env,
            "--json",
            str(workdir / f"{env}.json"),
            "--example-tfvars",
            "-no-color",
        ],
        cwd=REPO,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


@pytest.fixture(scope="module")
def plans(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Plan]:
    workdir = tmp_path_factory.mktemp("env-plans")
    lambda_zip = workdir / "lambda.zip"
    with zipfile.ZipFile(lambda_zip, "w") as archive:
        archive.writestr("gateway/main.py", "def handler(event, context):\n    return {}\n")

    results: dict[str, tuple[int, str]] = {}
    if aws5_mirror():
        # Both at once: installing from a filesystem mirror only links the provider.
        running = {env: preview(env, workdir, lambda_zip) for env in ENVS}
        for env, process in running.items():
            output, _ = process.communicate(timeout=600)
            results[env] = (process.returncode, output)
    else:
        # From the registry, one after the other: two inits would download into one plugin cache at once.
        for env in ENVS:
            process = preview(env, workdir, lambda_zip)
            output, _ = process.communicate(timeout=600)
            results[env] = (process.returncode, output)

    if any(code == NO_PROVIDER_EXIT for code, _ in results.values()):
        output = next(out for code, out in results.values() if code == NO_PROVIDER_EXIT)
        error = next(
            (line.strip(" │") for line in output.splitlines() if "Error" in line), output.strip()[-300:]
        )
        pytest.skip(f"no hashicorp/aws 5.x provider: no mirror at TF_AWS5_MIRROR and no registry ({error})")

    plans = {}
    for env, (code, output) in results.items():
        document_path = workdir / f"{env}.json"
        document = json.loads(document_path.read_text()) if code == 0 and document_path.is_file() else {}
        plans[env] = Plan(env, code, output, document)
    return plans


@pytest.mark.parametrize("env", ENVS)
def test_the_plan_succeeds_without_a_warning(plans: dict[str, Plan], env: str) -> None:
    plan = plans[env]

    assert plan.returncode == 0, plan.output[-6000:]
    assert re.search(r"Plan: \d+ to add, 0 to change, 0 to destroy\.", plan.output), plan.output[-2000:]
    assert not re.search(r"\bWarning\b", plan.output), plan.output[-6000:]
    assert "deprecat" not in plan.output.lower(), plan.output[-6000:]
    assert plan.document["format_version"]


@pytest.mark.parametrize("env", ENVS)
def test_the_whole_stack_is_planned(plans: dict[str, Plan], env: str) -> None:
    plan = plans[env]
    counts = plan.counts()

    assert counts["aws_cognito_user_pool"] == 1
    assert counts["aws_cognito_user_pool_client"] == 1
    assert {g["name"] for g in plan.created("aws_cognito_user_group")} == {
        "Admin",
        "PublishAllowed",
        "CreatingBotAllowed",
    }
    assert counts["aws_cognito_identity_pool"] == 1
    assert counts["aws_cognito_identity_pool_roles_attachment"] == 1
    assert counts["aws_api_gateway_rest_api"] == 1
    assert counts["aws_api_gateway_stage"] == 1
    assert counts["aws_api_gateway_authorizer"] == 1
    assert counts["aws_api_gateway_usage_plan"] == 1
    assert (
        counts["aws_api_gateway_method"] >= 2 * counts["aws_api_gateway_resource"] > 0
    )  # ANY + OPTIONS each
    assert {t["name"] for t in plan.created("aws_dynamodb_table")} == {
        f"bedrock-gw-{env}-{t}" for t in TABLES
    }
    functions = {f["function_name"]: f for f in plan.created("aws_lambda_function")}
    assert set(functions) == {
        f"bedrock-gw-{env}-{name}" for name in ("gateway", "pre-sign-up", "post-confirmation")
    }
    assert {f["runtime"] for f in functions.values()} == {"python3.12"}
    roles = {r["name"] for r in plan.created("aws_iam_role")}
    assert {f"bedrock-gw-{env}-gateway-exec", f"bedrock-gw-{env}-authenticated"} <= roles
    assert {p["name"] for p in plan.created("aws_iam_role_policy")} >= {
        f"bedrock-gw-{env}-gateway-permissions",
        f"bedrock-gw-{env}-gateway-api-keys",
    }
    assert counts["aws_cloudwatch_log_group"] == 4  # three functions and the stage's access log


def test_prod_is_protected_from_deletion_and_dev_is_not(plans: dict[str, Plan]) -> None:
    (prod_pool,) = plans["prod"].created("aws_cognito_user_pool")
    (dev_pool,) = plans["dev"].created("aws_cognito_user_pool")

    assert prod_pool["deletion_protection"] == "ACTIVE"
    assert {t["deletion_protection_enabled"] for t in plans["prod"].created("aws_dynamodb_table")} == {True}
    assert dev_pool["deletion_protection"] == "INACTIVE"
    assert {t["deletion_protection_enabled"] for t in plans["dev"].created("aws_dynamodb_table")} == {False}


def test_only_prod_sets_the_account_cloudwatch_role_by_default(plans: dict[str, Plan]) -> None:
    assert plans["prod"].counts()["aws_api_gateway_account"] == 1
    assert plans["dev"].counts()["aws_api_gateway_account"] == 0


@pytest.mark.parametrize("env", ENVS)
def test_without_an_ses_identity_cognito_sends_its_own_emails(plans: dict[str, Plan], env: str) -> None:
    (pool,) = plans[env].created("aws_cognito_user_pool")

    (email,) = pool["email_configuration"]
    assert email["email_sending_account"] == "COGNITO_DEFAULT"
    assert email["source_arn"] is None


def test_prod_example_runs_the_gateway_on_snapstart_behind_the_live_alias(plans: dict[str, Plan]) -> None:
    prod = plans["prod"]
    gateway = {f["function_name"]: f for f in prod.created("aws_lambda_function")}["bedrock-gw-prod-gateway"]

    assert gateway["publish"] is True
    assert gateway["snap_start"] == [{"apply_on": "PublishedVersions"}]
    (alias,) = prod.created("aws_lambda_alias")
    assert (alias["name"], alias["function_name"]) == ("live", "bedrock-gw-prod-gateway")
    # API Gateway and the reconciler's schedule are allowed to invoke the alias, not $LATEST.
    qualifiers = {p["principal"]: p["qualifier"] for p in prod.created("aws_lambda_permission")}
    assert qualifiers["apigateway.amazonaws.com"] == "live"
    assert qualifiers["events.amazonaws.com"] == "live"


def test_dev_runs_the_gateway_without_snapstart_by_default(plans: dict[str, Plan]) -> None:
    dev = plans["dev"]
    gateway = {f["function_name"]: f for f in dev.created("aws_lambda_function")}["bedrock-gw-dev-gateway"]

    assert gateway["publish"] is False
    assert gateway["snap_start"] == []
    assert dev.counts()["aws_lambda_alias"] == 0
    qualifiers = {p["principal"]: p.get("qualifier") for p in dev.created("aws_lambda_permission")}
    assert qualifiers["apigateway.amazonaws.com"] in (None, "")


@pytest.mark.parametrize("env", ENVS)
def test_the_console_routes_need_no_token_and_no_key(plans: dict[str, Plan], env: str) -> None:
    methods = {
        change["index"]: change["change"]["after"]
        for change in plans[env].document.get("resource_changes", [])
        if change["type"] == "aws_api_gateway_method" and change["name"] == "this"
    }
    for route in ("/", "/console", "/console/{proxy+}"):
        assert methods[route]["authorization"] == "NONE", route
        assert methods[route]["api_key_required"] is False, route
    # Everything else keeps its protection: the catch-all needs the Cognito token (model calls a key as well).
    assert methods["/{proxy+}"]["authorization"] == "COGNITO_USER_POOLS"


API = "module.stack.module.api"
TOKEN_ONLY_RESOURCES = {
    "/{proxy+}",
    "/bedrock",
    "/conversations",
    "/conversations/{conversation_id}",
    "/conversations/{conversation_id}/messages",
}


@pytest.mark.parametrize("env", ENVS)
def test_only_model_calls_need_an_api_key_so_the_usage_plan_meters_nothing_else(
    plans: dict[str, Plan], env: str
) -> None:
    methods = plans[env].created_by_key(f"{API}.aws_api_gateway_method.this")

    keyed = {key for key, method in methods.items() if method["api_key_required"]}
    assert keyed == {
        "POST /bedrock",
        "POST /conversations/{conversation_id}/messages",
        "/v1",
        "/v1/{proxy+}",
        "/published",
        "/published/{proxy+}",
    }
    token_only = {
        key
        for key, method in methods.items()
        if method["authorization"] == "COGNITO_USER_POOLS" and not method["api_key_required"]
    }
    assert token_only == TOKEN_ONLY_RESOURCES
    assert {methods[key]["http_method"] for key in token_only} == {"ANY"}
    assert {methods[key]["authorization"] for key in ("POST /bedrock", "/v1")} == {
        "COGNITO_USER_POOLS",
        "NONE",
    }
    assert methods["POST /conversations/{conversation_id}/messages"]["request_parameters"] == {
        "method.request.path.conversation_id": True
    }


@pytest.mark.parametrize("env", ENVS)
def test_token_only_methods_have_their_own_throttle_and_model_calls_keep_the_stages(
    plans: dict[str, Plan], env: str
) -> None:
    settings = plans[env].created_by_key(f"{API}.aws_api_gateway_method_settings.token_only")
    verbs = {"DELETE", "GET", "HEAD", "PATCH", "POST", "PUT"}

    expected = {
        f"{path.replace('/', '~1')}/{verb}"
        for path in TOKEN_ONLY_RESOURCES
        for verb in verbs
        if f"{verb} {path}" not in {"POST /bedrock", "POST /conversations/{conversation_id}/messages"}
    }
    assert set(settings) == expected
    assert "~1bedrock/POST" not in settings
    assert {
        (s["settings"][0]["throttling_rate_limit"], s["settings"][0]["throttling_burst_limit"])
        for s in settings.values()
    } == {(10, 20)}
    (stage_wide,) = plans[env].created_by_key(f"{API}.aws_api_gateway_method_settings.this").values()
    assert stage_wide["method_path"] == "*/*"
