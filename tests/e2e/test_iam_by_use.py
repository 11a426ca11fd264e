"""IAM proven by use: every AWS call the functions made in this session (recorded in the emulator's Lambda
worker) and in the unit run (.local/aws-calls/unit.jsonl, when present) is allowed by the policies Terraform
gave the function's role, and the roles grant nothing no call needs.

The policies are read back from the emulator's IAM, where the local stack's Terraform apply wrote them (the
same modules as dev/prod; a plan cannot show them, their ARNs being unknown until apply). Runs last (see
conftest.py). Evaluation: tests/support/iam_by_use.py (moto's IAM policy evaluator).
"""

import json
from urllib.parse import unquote

import pytest
from moto.core import DEFAULT_ACCOUNT_ID

from gateway.settings import Settings
from tests.e2e.conftest import AWS_CALLS
from tests.support import aws, aws_calls
from tests.support.iam_by_use import (
    Calls,
    LocalNames,
    allowed,
    allowed_tag_keys,
    granted_actions,
    localize,
)

# Granted although no recorded call needs them:
UNUSED_BUT_NEEDED = {
    # the Lambda service writes the function's logs with its role, not the function's code
    "logs:CreateLogStream",
    "logs:PutLogEvents",
}
# The functions' logical names in the unit recording -> the suffix of their local function names.
FUNCTIONS = ("gateway", "post-confirmation", "pre-sign-up")


def _document(raw):
    return raw if isinstance(raw, dict) else json.loads(unquote(raw))


def role_policies(stack, function_name: str) -> list[dict]:
    role = stack.aws("lambda").get_function_configuration(FunctionName=function_name)["Role"].split("/")[-1]
    iam = stack.aws("iam")
    policies = [
        _document(iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"])
        for name in iam.list_role_policies(RoleName=role)["PolicyNames"]
    ]
    for attached in iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"]:
        version = iam.get_policy(PolicyArn=attached["PolicyArn"])["Policy"]["DefaultVersionId"]
        document = iam.get_policy_version(PolicyArn=attached["PolicyArn"], VersionId=version)
        policies.append(_document(document["PolicyVersion"]["Document"]))
    return policies


@pytest.fixture(scope="module")
def local(stack):
    """The local stack's functions (logical name -> (function name, its role's policies)) and the local names
    of what the unit tests' moto stack names otherwise."""
    gateway = stack.outputs["function_name"]
    prefix = gateway.removesuffix("-gateway")
    functions = {name: f"{prefix}-{name}" for name in FUNCTIONS}
    configuration = stack.aws("lambda").get_function_configuration(FunctionName=gateway)
    account = configuration["FunctionArn"].split(":")[4]
    tables = stack.outputs["table_names"]
    environment = configuration["Environment"]["Variables"]
    names = LocalNames(
        account=account,
        # the unit stack's tables (tests/support/aws.py) and the settings' defaults, by logical kind
        tables={
            **{f"gateway-test-{key}": tables[key] for key in aws.TABLES},
            **{Settings.model_fields[f"table_{key}"].default: tables[key] for key in aws.TABLES},
        },
        user_pool_id=stack.outputs["user_pool_id"],
        identity_pool_id=stack.outputs["identity_pool_id"],
        usage_plan_id=stack.outputs["usage_plan_id"],
        rest_api_id=stack.outputs["rest_api_id"],
        knowledge_base_ids=json.loads(environment["GATEWAY_KNOWLEDGE_BASE_IDS"]),
        guardrail_ids=[guardrail["id"] for guardrail in json.loads(environment["GATEWAY_BOT_GUARDRAILS"])],
    )
    policies = {name: role_policies(stack, function) for name, function in functions.items()}
    return functions, policies, names


@pytest.fixture(scope="module")
def recorded(local) -> dict[str, Calls]:
    """The calls by source; the unit run's as the local stack would see them, named by function."""
    functions, _, names = local
    e2e = aws_calls.read(str(AWS_CALLS))
    if not e2e:
        pytest.fail(f"{AWS_CALLS} is empty: the Lambda worker recorded no call (is the recorder installed?)")
    by_function = {function: name for name, function in functions.items()}
    unknown = {record["function"] for record in e2e} - set(by_function)
    assert not unknown, f"calls from functions this test does not know: {unknown}"
    for record in e2e:
        record["function"] = by_function[record["function"]]
    calls = {"e2e": Calls(e2e)}
    unit = aws_calls.read(aws_calls.unit_recording())
    if unit:
        calls["unit"] = localize(Calls(unit), DEFAULT_ACCOUNT_ID, names)
    return calls


def test_every_recorded_call_is_allowed_by_the_functions_role(local, recorded):
    _, policies, _ = local
    refused, undescribed, checked = set(), [], 0
    for source, calls in recorded.items():
        for record in calls.records:
            if record.get("error"):
                undescribed.append(f"{source}: {record['service']} {record['operation']}: {record['error']}")
            for need in record["needs"]:
                checked += 1
                context = calls.context(record, need)
                if not allowed(policies[record["function"]], need["action"], need["resource"], context):
                    refused.add(
                        f"{record['function']} ({source}): {record['service']}.{record['operation']} needs "
                        f"{need['action']} on {need['resource']}" + (f" with {context}" if context else "")
                    )
    assert not undescribed, "\n".join(undescribed)
    assert checked, "no recorded call needs IAM: the recording cannot be complete"
    assert not refused, "not allowed:\n" + "\n".join(sorted(refused))


def test_the_roles_grant_nothing_the_recorded_calls_do_not_need(local, recorded):
    # Some grants are used only on paths the unit tests reach (e.g. the triggers, which the local Cognito does
    # not run): without the unit run's recording every such grant would look unused.
    if "unit" not in recorded:
        pytest.fail(f"no unit-run recording at {aws_calls.unit_recording()}: run the unit tests first")
    _, policies, _ = local
    needed: dict[str, set[str]] = {name: set() for name in FUNCTIONS}
    for calls in recorded.values():
        for record in calls.records:
            needed[record["function"]].update(need["action"] for need in record["needs"])
    unused = {
        name: sorted(granted_actions(policies[name]) - needed[name] - UNUSED_BUT_NEEDED) for name in FUNCTIONS
    }
    assert unused == {name: [] for name in FUNCTIONS}, f"granted but never needed: {unused}"


def test_every_api_gateway_creation_carries_this_apis_tag_and_only_allowed_tag_keys(local, recorded):
    # moto's evaluator ignores ForAllValues:StringEquals (aws:TagKeys): checked here on the recorded request.
    _, policies, names = local
    creations = [
        (source, record)
        for source, calls in recorded.items()
        for record in calls.records
        if record["operation"] in aws_calls.APIGATEWAY_CREATIONS
    ]
    assert creations, "no API key or usage plan was created: the recording cannot be complete"
    allowed_keys = allowed_tag_keys(policies["gateway"], "apigateway:POST")
    assert allowed_keys, "the policy lets the function create keys and plans with any tags"
    for source, record in creations:
        tags = record["request_tags"]
        assert tags.get("gateway-api") == names.rest_api_id, (source, record["operation"], tags)
        assert set(tags) <= allowed_keys, (source, record["operation"], tags)
