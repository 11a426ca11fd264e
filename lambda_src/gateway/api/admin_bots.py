"""Admins govern bots: hide one from everyone but its owner, or mark it essential (first in the store)."""

from typing import Annotated, Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict

from gateway import deps
from gateway.api.bots import BotId, BotResponse
from gateway.auth.dependencies import AdminUser
from gateway.errors import BadRequestError
from gateway.services.audit import Audit
from gateway.services.bots import BotService

router = APIRouter(prefix="/admin/bots", tags=["admin"])
Bots = Annotated[BotService, Depends(deps.bot_service)]


class GovernBotRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    visibility: Literal["visible", "hidden"] | None = None
    essential: bool | None = None


@router.patch("/{bot_id}", name="admin.bots.update")
def govern_bot(
    bot_id: BotId, body: GovernBotRequest, admin: AdminUser, bots: Bots, audit: Audit
) -> BotResponse:
    audit.resource = f"bot/{bot_id}"
    if body.visibility is None and body.essential is None:
        raise BadRequestError("Send visibility, essential or both.", code="missing_parameter")
    return BotResponse.of(bots.govern(bot_id, body.visibility, body.essential), admin)
