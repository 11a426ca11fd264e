"""Evaluates recorded AWS calls (tests/support/aws_calls.py) against IAM policies with moto's evaluator.

moto.iam.access_control.IAMPolicyStatement matches actions and resources and evaluates `StringEquals`
conditions on the context values it is given; it skips a condition whose key is missing from the context, and
ignores every other operator (e.g. `ForAllValues:StringEquals` on aws:TagKeys). So:
- every aws:RequestTag/* and aws:ResourceTag/* key a policy tests is given a value: the real tag when the call
  carries or targets it, else a placeholder no policy names (in AWS a missing key fails StringEquals);
- an Allow statement whose condition fails makes moto answer DENIED for that statement; this reads it as "this
  statement does not allow", which is what AWS does (there are no Deny statements: checked);
- aws:TagKeys is checked separately, on the recorded request tags (tag_keys_allowed).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from moto.iam.access_control import IAMPolicyStatement, PermissionResult

TAG_KEY_PREFIXES = ("aws:RequestTag/", "aws:ResourceTag/")
NOT_TAGGED = "<not tagged>"
# API Gateway resources that carry tags, and the children that inherit them for access control (a usage
# plan's keys inherit the plan's tags; its /usage does not): see "API Gateway resources that can be tagged".
TAGGED_PATH = re.compile(r"^/(apikeys/[^/]+|usageplans/[^/]+)(/keys(/[^/]+)?)?$")


def statements(policies: list[dict[str, Any]]) -> list[dict[str, Any]]:
    found = []
    for policy in policies:
        body = policy["Statement"]
        found.extend(body if isinstance(body, list) else [body])
    for statement in found:
        if statement.get("Effect") != "Allow":
            raise ValueError(f"only Allow statements are evaluated here: {statement}")
    return found


def _listed(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def granted_actions(policies: list[dict[str, Any]]) -> set[str]:
    return {action for statement in statements(policies) for action in _listed(statement.get("Action", []))}


def tag_condition_keys(policies: list[dict[str, Any]]) -> set[str]:
    return {
        key
        for statement in statements(policies)
        for condition in statement.get("Condition", {}).values()
        for key in condition
        if key.startswith(TAG_KEY_PREFIXES)
    }


def allowed(policies: list[dict[str, Any]], action: str, resource: str, context: dict[str, str]) -> bool:
    """Whether some statement allows `action` on `resource` with these condition values."""
    values = dict.fromkeys(tag_condition_keys(policies), NOT_TAGGED) | context
    return any(
        IAMPolicyStatement(statement).is_action_permitted(action, resource, None, values)
        == PermissionResult.PERMITTED
        for statement in statements(policies)
    )


def allowed_tag_keys(policies: list[dict[str, Any]], action: str) -> set[str] | None:
    """The tag keys the policy lets `action` send (ForAllValues:StringEquals on aws:TagKeys); None: any."""
    limits = [
        set(_listed(statement["Condition"]["ForAllValues:StringEquals"]["aws:TagKeys"]))
        for statement in statements(policies)
        if action in _listed(statement.get("Action", []))
        and "aws:TagKeys" in statement.get("Condition", {}).get("ForAllValues:StringEquals", {})
    ]
    return set.union(*limits) if limits else None


@dataclass
class Calls:
    """Recorded calls of one source (unit or e2e), with what they created, so a later call on a created key or
    plan knows its tags."""

    records: list[dict[str, Any]]
    created_tags: dict[str, dict[str, str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for record in self.records:
            if record.get("created"):
                self.created_tags[record["created"].split("::", 1)[1]] = record.get("request_tags") or {}

    def context(self, record: dict[str, Any], need: dict[str, str]) -> dict[str, str]:
        """The tag condition values AWS would see for this need."""
        values = {}
        path = need["resource"].split("::", 1)[1] if need["action"].startswith("apigateway:") else ""
        if record.get("request_tags") is not None:  # a creation: all its needs see the request's tags
            values.update({f"aws:RequestTag/{k}": v for k, v in record["request_tags"].items()})
        tagged = TAGGED_PATH.match(path)
        if tagged:
            tags = self.created_tags.get("/" + tagged.group(1), {})
            values.update({f"aws:ResourceTag/{k}": v for k, v in tags.items()})
        return values


@dataclass(frozen=True)
class LocalNames:
    """The local stack's names for what the unit tests' moto stack calls by other names."""

    account: str
    tables: dict[str, str]  # unit table name -> local table name
    user_pool_id: str
    identity_pool_id: str
    usage_plan_id: str  # the default plan
    rest_api_id: str
    knowledge_base_ids: list[str]  # the knowledge bases the function may retrieve from
    guardrail_ids: list[str]  # the guardrails the function may apply


def localize(unit: Calls, unit_account: str, names: LocalNames) -> Calls:
    """The unit run's calls as the local stack would see them: same operation, same kind of resource.

    The unit tests' stack (tests/support/aws.py) has one user pool, one identity pool, one API with its
    default usage plan, and the app's tables under other names, in moto's account; the plans and keys the app
    creates keep their ids. The default plan is the one plan the app never created. The app retrieves only
    from the knowledge bases and applies only the guardrails its settings allow: a unit test's allowed one
    stands for the local stack's first (none allowed locally: left as it is, so it is refused)."""
    created_plans = {path for path in unit.created_tags if path.startswith("/usageplans/")}

    def resource(arn: str) -> str:
        arn = arn.replace(f":{unit_account}:", f":{names.account}:")
        arn = re.sub(r"userpool/[\w-]+$", f"userpool/{names.user_pool_id}", arn)
        arn = re.sub(r"identitypool/[\w:-]+$", f"identitypool/{names.identity_pool_id}", arn)
        table = re.search(r":table/([^/]+)", arn)
        if table and table.group(1) in names.tables:
            arn = arn.replace(f":table/{table.group(1)}", f":table/{names.tables[table.group(1)]}")
        if names.knowledge_base_ids:
            arn = re.sub(r"knowledge-base/[\w-]+$", f"knowledge-base/{names.knowledge_base_ids[0]}", arn)
        if names.guardrail_ids:
            arn = re.sub(r"guardrail/[\w-]+$", f"guardrail/{names.guardrail_ids[0]}", arn)
        plan = re.search(r"::(/usageplans/[^/]+)", arn)
        if plan and plan.group(1) not in created_plans:
            arn = arn.replace(plan.group(1), f"/usageplans/{names.usage_plan_id}")
        return arn

    records = []
    for record in unit.records:
        local = dict(record)
        local["needs"] = [{**need, "resource": resource(need["resource"])} for need in record["needs"]]
        if record.get("request_tags", {}).get("gateway-api"):
            local["request_tags"] = {**record["request_tags"], "gateway-api": names.rest_api_id}
        records.append(local)
    localized = Calls(records)
    localized.created_tags = {
        path: ({**tags, "gateway-api": names.rest_api_id} if "gateway-api" in tags else tags)
        for path, tags in unit.created_tags.items()
    }
    return localized
