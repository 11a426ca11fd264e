from dataclasses import dataclass

import pytest

from gateway.repositories.bots import BotItem, SharedUser
from gateway.services.bots import can_view


@dataclass(frozen=True)
class Member:
    user_id: str
    groups: tuple[str, ...] = ()


def _bot(scope: str, visibility: str = "visible") -> BotItem:
    return BotItem(
        bot_id="b",
        owner_id="owner",
        title="t",
        description="",
        instruction="",
        model_id="m",
        inference_parameters={},
        shared_scope=scope,
        allowed_users=(SharedUser(user_id="friend", email=None),),
        allowed_groups=("PublishAllowed",),
        documents=(),
        knowledge_version="v",
        knowledge_base_id=None,
        visibility=visibility,
        essential=False,
        use_count=0,
        created_at="",
        updated_at="",
    )


@pytest.mark.parametrize(
    ("scope", "visibility", "member", "sees"),
    [
        ("private", "visible", Member("owner"), True),
        ("private", "visible", Member("friend"), False),
        ("private", "visible", Member("root", ("Admin",)), True),
        ("partial", "visible", Member("friend"), True),
        ("partial", "visible", Member("someone", ("PublishAllowed",)), True),
        ("partial", "visible", Member("someone", ("CreatingBotAllowed",)), False),
        ("partial", "hidden", Member("friend"), False),
        ("partial", "hidden", Member("owner"), True),
        ("all", "visible", Member("anyone"), True),
        ("all", "hidden", Member("anyone"), False),
        ("all", "hidden", Member("root", ("Admin",)), True),
    ],
)
def test_who_sees_a_bot(scope, visibility, member, sees):
    assert can_view(_bot(scope, visibility), member) is sees
