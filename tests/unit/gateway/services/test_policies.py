import pytest

from gateway.services.policies import model_allowed, policy_for
from gateway.settings import GroupPolicy

DEFAULT = GroupPolicy()
POLICIES = {
    "Admin": GroupPolicy(precedence=1, allowed_models=["*"]),
    "PublishAllowed": GroupPolicy(precedence=2, allowed_models=["anthropic.*"]),
    "CreatingBotAllowed": GroupPolicy(precedence=3, allowed_models=["amazon.nova-*"]),
    "Contractors": GroupPolicy(precedence=2, allowed_models=["meta.*"]),
    "Unranked": GroupPolicy(precedence=None, allowed_models=["mistral.*"]),
}


@pytest.mark.parametrize(
    ("groups", "expected"),
    [
        ([], ["*"]),  # no group with a policy: the default
        (["SomethingElse"], ["*"]),
        (["CreatingBotAllowed"], ["amazon.nova-*"]),
        (["CreatingBotAllowed", "PublishAllowed"], ["anthropic.*"]),  # lower precedence wins
        (["Admin"], ["*"]),  # Admin implies the others, and wins
        (["PublishAllowed", "Contractors"], ["anthropic.*", "meta.*"]),  # a tie merges
        (["Unranked", "CreatingBotAllowed"], ["amazon.nova-*"]),  # no precedence loses to any
        (["Unranked"], ["mistral.*"]),
    ],
)
def test_the_group_that_wins_by_precedence_decides(groups, expected):
    assert policy_for(groups, POLICIES, DEFAULT).allowed_models == expected


def test_model_patterns():
    policy = GroupPolicy(allowed_models=["anthropic.claude-3-*", "amazon.nova-lite-v1:0"])
    assert model_allowed(policy, "anthropic.claude-3-haiku-20240307-v1:0")
    assert model_allowed(policy, "amazon.nova-lite-v1:0")
    assert not model_allowed(policy, "amazon.nova-pro-v1:0")
    assert not model_allowed(policy, "anthropic.claude-v2:1")
