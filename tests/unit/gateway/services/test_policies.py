import pytest

from gateway.services.policies import model_allowed, policy_for
from gateway.settings import GroupPolicy, Guardrail, Limits

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


STRICT, LENIENT = Guardrail(id="strict1", version="1"), Guardrail(id="lenient2", version="DRAFT")


def test_a_tie_keeps_its_precedence_and_the_most_generous_limits():
    tied = {
        "Beta": GroupPolicy(precedence=2, limits=Limits(requests_per_day=10, tokens_per_day=500)),
        "Alpha": GroupPolicy(precedence=2, limits=Limits(requests_per_day=20, tokens_per_day=100)),
    }
    merged = policy_for(["Alpha", "Beta"], tied, DEFAULT)
    assert merged.precedence == 2
    assert (merged.limits.requests_per_day, merged.limits.tokens_per_day) == (20, 500)


@pytest.mark.parametrize(
    ("alpha", "beta", "expected"),
    [
        (STRICT, LENIENT, STRICT),  # every tied group names one: the first tied group's by name
        (LENIENT, STRICT, LENIENT),
        (STRICT, None, None),  # one names none: none, as for limits
        (None, None, None),
    ],
)
def test_a_tie_applies_the_first_groups_guardrail_only_when_every_tied_group_names_one(alpha, beta, expected):
    tied = {
        "Beta": GroupPolicy(precedence=1, guardrail=beta),
        "Alpha": GroupPolicy(precedence=1, guardrail=alpha),
    }
    assert policy_for(["Beta", "Alpha"], tied, DEFAULT).guardrail == expected
