"""Which group policy applies to a user: the group that wins by precedence, as for the preferred role.

Only groups that have a policy take part. A tie at the best precedence merges the tied policies into the most
generous one (the union of their models; per limit, none if any has none, else the largest), so belonging to
one more group never takes rights away. A user in no group with a policy gets the default policy. The tied
policies' guardrail: none if any names none (as for limits), else the first tied group's by name.
"""

from collections.abc import Iterable
from fnmatch import fnmatchcase

from gateway.auth.groups import GroupInfo, effective_groups, winning_groups
from gateway.settings import GroupPolicy, Limits


def policy_for(groups: Iterable[str], policies: dict[str, GroupPolicy], default: GroupPolicy) -> GroupPolicy:
    candidates = [
        GroupInfo(name=name, precedence=policies[name].precedence, role_arn=None)
        for name in effective_groups(groups)
        if name in policies
    ]
    if not candidates:
        return default
    winners = [policies[group.name] for group in sorted(winning_groups(candidates), key=lambda g: g.name)]
    if len(winners) == 1:
        return winners[0]
    return GroupPolicy(
        precedence=winners[0].precedence,
        allowed_models=sorted({pattern for policy in winners for pattern in policy.allowed_models}),
        limits=merge_limits([policy.limits for policy in winners]),
        guardrail=None if any(policy.guardrail is None for policy in winners) else winners[0].guardrail,
    )


def merge_limits(tied: list[Limits]) -> Limits:
    """The most generous reading of tied policies: per limit, none if any has none, else the largest."""
    merged: dict[str, object] = {}
    for name in Limits.model_fields:
        values = [getattr(limits, name) for limits in tied]
        merged[name] = None if any(value is None for value in values) else max(values)
    return Limits(**merged)


def model_allowed(policy: GroupPolicy, base_model_id: str) -> bool:
    return any(fnmatchcase(base_model_id, pattern) for pattern in policy.allowed_models)
