"""Group rules: implied groups, permissions, and Cognito's preferred-role precedence."""

from collections.abc import Iterable
from dataclasses import dataclass

from gateway.settings import GROUP_ADMIN, GROUP_CREATING_BOT_ALLOWED, GROUP_PUBLISH_ALLOWED

IMPLIED_GROUPS: dict[str, tuple[str, ...]] = {
    GROUP_ADMIN: (GROUP_CREATING_BOT_ALLOWED, GROUP_PUBLISH_ALLOWED),
}

BASE_PERMISSIONS = ("models:invoke", "conversations:manage", "api_keys:manage")
GROUP_PERMISSIONS: dict[str, tuple[str, ...]] = {
    GROUP_CREATING_BOT_ALLOWED: ("bots:create", "bots:share"),
    GROUP_PUBLISH_ALLOWED: ("bots:publish",),
    GROUP_ADMIN: ("admin:read", "admin:write"),
}


@dataclass(frozen=True)
class GroupInfo:
    name: str
    precedence: int | None
    role_arn: str | None


def effective_groups(groups: Iterable[str]) -> list[str]:
    """The groups a member holds, plus those they imply (Admin implies the other two)."""
    result = set(groups)
    for group in list(result):
        result.update(IMPLIED_GROUPS.get(group, ()))
    return sorted(result)


def permissions_for(groups: Iterable[str]) -> list[str]:
    permissions = set(BASE_PERMISSIONS)
    for group in effective_groups(groups):
        permissions.update(GROUP_PERMISSIONS.get(group, ()))
    return sorted(permissions)


def winning_groups(groups: Iterable[GroupInfo]) -> list[GroupInfo]:
    """The groups that share the best precedence (0 is the top; no precedence loses to any)."""
    candidates = list(groups)
    ranked = [group for group in candidates if group.precedence is not None]
    if not ranked:
        return candidates
    best = min(group.precedence for group in ranked if group.precedence is not None)
    return [group for group in ranked if group.precedence == best]


def preferred_role(groups: Iterable[GroupInfo]) -> str | None:
    """`cognito:preferred_role` as Cognito defines it.

    Among the groups that carry a role, the lowest precedence wins; a group without precedence loses to
    any group with one; a tie between groups with the same role gives that role, a tie between
    different roles gives none.
    """
    with_roles = [group for group in groups if group.role_arn]
    winners = winning_groups(with_roles)
    roles = {group.role_arn for group in winners}
    return roles.pop() if len(roles) == 1 else None
