"""User management for admins, compatible with Amplify's AdminQueries routes (more in the admin API)."""

from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from gateway import deps
from gateway.auth.dependencies import AdminUser
from gateway.errors import BadRequestError
from gateway.services.audit import Audit
from gateway.services.user_admin import UserAdminService

router = APIRouter(prefix="/admin", tags=["admin"])
UserAdmin = Annotated[UserAdminService, Depends(deps.user_admin_service)]


class UsernameRequest(BaseModel):
    # Optional in the schema so that a missing one is a 400 naming it, as AdminQueries answers.
    username: str | None = None


class UserStateResponse(BaseModel):
    message: str
    user_id: str
    enabled: bool
    api_keys_revoked: int = 0


def _required(value: str | None, name: str) -> str:
    if not value or not value.strip():
        raise BadRequestError(f"The parameter {name} is required.", code="missing_parameter")
    return value.strip()


@router.post("/disableUser", name="admin.users.disable")
def disable_user(
    body: UsernameRequest, _admin: AdminUser, users: UserAdmin, audit: Audit
) -> UserStateResponse:
    username = _required(body.username, "username")
    audit.resource = f"user/{username}"
    user, revoked = users.disable(username)
    return UserStateResponse(
        message=f"Disabled {user.email or user.user_id}",
        user_id=user.user_id,
        enabled=False,
        api_keys_revoked=revoked,
    )


@router.post("/enableUser", name="admin.users.enable")
def enable_user(
    body: UsernameRequest, _admin: AdminUser, users: UserAdmin, audit: Audit
) -> UserStateResponse:
    username = _required(body.username, "username")
    audit.resource = f"user/{username}"
    user = users.enable(username)
    return UserStateResponse(
        message=f"Enabled {user.email or user.user_id}", user_id=user.user_id, enabled=True
    )
