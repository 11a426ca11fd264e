import pytest

from gateway.auth.groups import GroupInfo, effective_groups, permissions_for, preferred_role, winning_groups

ADMIN_ROLE = "arn:aws:iam::1:role/admin"
BOTS_ROLE = "arn:aws:iam::1:role/bots"
PUBLISH_ROLE = "arn:aws:iam::1:role/publish"


def group(name, precedence, role):
    return GroupInfo(name=name, precedence=precedence, role_arn=role)


@pytest.mark.parametrize(
    ("case", "groups", "expected"),
    [
        ("no groups", [], None),
        ("one group with a role", [group("a", 3, BOTS_ROLE)], BOTS_ROLE),
        ("one group without a role", [group("a", 0, None)], None),
        ("lowest precedence wins", [group("a", 2, BOTS_ROLE), group("b", 0, ADMIN_ROLE)], ADMIN_ROLE),
        ("zero is the top", [group("a", 0, ADMIN_ROLE), group("b", 1, PUBLISH_ROLE)], ADMIN_ROLE),
        ("no precedence loses to any", [group("a", None, ADMIN_ROLE), group("b", 99, BOTS_ROLE)], BOTS_ROLE),
        ("tie, same role", [group("a", 1, BOTS_ROLE), group("b", 1, BOTS_ROLE)], BOTS_ROLE),
        ("tie, different roles", [group("a", 1, BOTS_ROLE), group("b", 1, PUBLISH_ROLE)], None),
        (
            "tie at the top decides even with a clear runner-up",
            [group("a", 1, BOTS_ROLE), group("b", 1, PUBLISH_ROLE), group("c", 5, ADMIN_ROLE)],
            None,
        ),
        (
            "all without precedence, same role",
            [group("a", None, BOTS_ROLE), group("b", None, BOTS_ROLE)],
            BOTS_ROLE,
        ),
        (
            "all without precedence, different roles",
            [group("a", None, BOTS_ROLE), group("b", None, ADMIN_ROLE)],
            None,
        ),
        (
            "a top group without a role is skipped",
            [group("a", 0, None), group("b", 4, PUBLISH_ROLE)],
            PUBLISH_ROLE,
        ),
        ("external IdP group is a plain group", [group("us-east-1_X_Google", 7, BOTS_ROLE)], BOTS_ROLE),
    ],
)
def test_preferred_role_follows_cognito(case, groups, expected):
    assert preferred_role(groups) == expected, case


def test_winning_groups_returns_every_tied_group():
    groups = [group("a", 1, BOTS_ROLE), group("b", 1, PUBLISH_ROLE), group("c", 2, ADMIN_ROLE)]
    assert [g.name for g in winning_groups(groups)] == ["a", "b"]


def test_preferred_role_accepts_any_iterable():
    assert preferred_role(iter([group("a", 0, ADMIN_ROLE)])) == ADMIN_ROLE


def test_admin_implies_the_other_two():
    assert effective_groups(["Admin"]) == ["Admin", "CreatingBotAllowed", "PublishAllowed"]
    assert effective_groups(["PublishAllowed"]) == ["PublishAllowed"]
    assert effective_groups(["us-east-1_X_Google"]) == ["us-east-1_X_Google"]


def test_permissions_follow_effective_groups():
    assert "admin:write" in permissions_for(["Admin"])
    assert "bots:publish" in permissions_for(["Admin"])
    assert "bots:publish" not in permissions_for(["CreatingBotAllowed"])
    assert permissions_for([]) == ["api_keys:manage", "conversations:manage", "models:invoke"]


def test_a_group_unknown_to_the_app_adds_no_permission_and_no_error():
    assert permissions_for(["SomeCompanyGroup"]) == permissions_for([])
