"""One password rule: the user pool's policy (Terraform's `password_policy`) is the one /register checks, with
the same defaults in the identity module, the stack module, the app's settings and the unit tests' pool."""

import re

from gateway.settings import PasswordPolicy
from tests.support.aws import PASSWORD_POLICY
from tests.unit.conftest import REPO

MODULES = REPO / "terraform" / "modules"
FIELDS = ("minimum_length", "require_lowercase", "require_uppercase", "require_numbers", "require_symbols")


def _password_policy_defaults(variables_tf: str) -> dict[str, object]:
    text = (MODULES / variables_tf).read_text()
    block = text[text.index('variable "password_policy"') :]
    block = block[: block.index("\n}\n")]
    return {
        name: int(value) if value.isdigit() else value == "true"
        for name, value in re.findall(r"(\w+)\s*=\s*optional\(\w+, (\w+)\)", block)
    }


def test_the_modules_defaults_are_the_apps():
    app = PasswordPolicy().model_dump()
    for variables_tf in ("identity/variables.tf", "stack/variables.tf"):
        defaults = _password_policy_defaults(variables_tf)
        assert {name: defaults[name] for name in FIELDS} == app, variables_tf


def test_the_stack_gives_the_function_every_rule_of_the_pool():
    main = (MODULES / "stack" / "main.tf").read_text()
    assert "GATEWAY_PASSWORD_POLICY       = jsonencode(local.app_password_policy)" in main
    block = main[main.index("app_password_policy = {") :]
    block = block[: block.index("\n  }\n")]
    assert dict(re.findall(r"(\w+)\s*=\s*var\.password_policy\.(\w+)", block)) == {
        name: name for name in FIELDS
    }
    assert "password_policy     = var.password_policy" in main  # the pool gets the same object


def test_the_unit_tests_pool_has_the_default_policy():
    policy = PasswordPolicy()
    assert {
        "MinimumLength": policy.minimum_length,
        "RequireUppercase": policy.require_uppercase,
        "RequireLowercase": policy.require_lowercase,
        "RequireNumbers": policy.require_numbers,
        "RequireSymbols": policy.require_symbols,
    } == PASSWORD_POLICY
