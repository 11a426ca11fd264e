"""The moto stack of the unit tests (tests/support/aws.py) is made as Terraform makes the real one."""

import re

from tests.support.aws import GROUP_POLICIES, GROUPS
from tests.unit.conftest import REPO

IDENTITY_VARIABLES = REPO / "terraform" / "modules" / "identity" / "variables.tf"
STACK_MAIN = REPO / "terraform" / "modules" / "stack" / "main.tf"


def _default_group_precedences() -> dict[str, int]:
    text = IDENTITY_VARIABLES.read_text()
    groups_variable = text[text.index('variable "groups"') :]
    default = groups_variable[groups_variable.index("default = {") : groups_variable.index("validation {")]
    return {
        name: int(precedence)
        for name, precedence in re.findall(r"(\w+) = \{[^{}]*?precedence\s*=\s*(\d+)", default, re.S)
    }


def test_the_groups_have_terraforms_default_precedences():
    precedences = _default_group_precedences()
    assert precedences == {"Admin": 1, "PublishAllowed": 2, "CreatingBotAllowed": 3}
    assert {name: precedence for name, (precedence, _) in GROUPS.items()} == precedences


def test_the_group_policies_are_those_the_stack_module_derives_by_default():
    main = STACK_MAIN.read_text()
    derived = main[main.index("app_group_policies = {") :]
    derived = derived[: derived.index("\n  }\n")]
    # Without group_policies: every model, no limits, no guardrail, the identity module's precedence.
    assert 'try(var.group_policies[name].allowed_models, ["*"])' in derived
    assert "try(var.group_policies[name].limits, {})" in derived
    assert "try(var.group_policies[name].guardrail, null)" in derived
    assert "for name, precedence in module.identity.group_precedences" in derived
    assert {
        name: {"precedence": precedence, "allowed_models": ["*"], "limits": {}, "guardrail": None}
        for name, precedence in _default_group_precedences().items()
    } == GROUP_POLICIES
