"""User management for admins, compatible with Amplify's AdminQueries routes (more in the admin API)."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.encoders import jsonable_encoder
from pydantic import BaseModel, ConfigDict, Field

from gateway import deps
from gateway.api.numbers import MAX_BUDGET_USD, MAX_COUNT_LIMIT
from gateway.auth.dependencies import AdminUser
from gateway.clock import iso, utcnow
from gateway.errors import BadRequestError
from gateway.services.audit import Audit
from gateway.services.limits import LimitService
from gateway.services.user_admin import UserAdminService
from gateway.settings import Limits

router = APIRouter(prefix="/admin", tags=["admin"])
UserAdmin = Annotated[UserAdminService, Depends(deps.user_admin_service)]
LimitsService = Annotated[LimitService, Depends(deps.limit_service)]


class UsernameRequest(BaseModel):
    # Optional in the schema so that a missing one is a 400 naming it, as AdminQueries answers.
    username: str | None = None


class UserGroupRequest(UsernameRequest):
    groupname: str | None = None


class MessageResponse(BaseModel):
    message: str


class UserStateResponse(BaseModel):
    message: str
    user_id: str
    enabled: bool
    api_keys_revoked: int = 0


def _required(value: str | None, name: str) -> str:
    if not value or not value.strip():
        raise BadRequestError(f"The parameter {name} is required.", code="missing_parameter")
    return value.strip()


def _limit(value: str | None) -> int:
    if value is None:
        return 25
    if not value.isdigit() or not 1 <= int(value) <= 60:
        raise BadRequestError(
            "The parameter limit must be a whole number from 1 to 60.", code="invalid_parameter"
        )
    return int(value)


@router.post("/addUserToGroup", name="admin.groups.add_user")
def add_user_to_group(
    body: UserGroupRequest, _admin: AdminUser, users: UserAdmin, audit: Audit
) -> MessageResponse:
    username, group = _required(body.username, "username"), _required(body.groupname, "groupname")
    audit.resource = f"group/{group}/user/{username}"
    users.add_to_group(username, group)
    return MessageResponse(message=f"Success adding {username} to {group}")


@router.post("/removeUserFromGroup", name="admin.groups.remove_user")
def remove_user_from_group(
    body: UserGroupRequest, _admin: AdminUser, users: UserAdmin, audit: Audit
) -> MessageResponse:
    username, group = _required(body.username, "username"), _required(body.groupname, "groupname")
    audit.resource = f"group/{group}/user/{username}"
    users.remove_from_group(username, group)
    return MessageResponse(message=f"Removed {username} from {group}")


@router.post("/confirmUserSignUp", name="admin.users.confirm")
def confirm_user_sign_up(
    body: UsernameRequest, _admin: AdminUser, users: UserAdmin, audit: Audit
) -> MessageResponse:
    username = _required(body.username, "username")
    audit.resource = f"user/{username}"
    users.confirm_sign_up(username)
    return MessageResponse(message=f"Confirmed {username} registration")


@router.post("/signUserOut", name="admin.users.sign_out")
def sign_user_out(
    body: UsernameRequest, _admin: AdminUser, users: UserAdmin, audit: Audit
) -> MessageResponse:
    username = _required(body.username, "username")
    audit.resource = f"user/{username}"
    users.sign_out(username)
    return MessageResponse(message=f"Signed out {username} from all devices")


@router.get("/getUser", name="admin.users.get")
def get_user(
    _admin: AdminUser, users: UserAdmin, audit: Audit, username: str | None = None
) -> dict[str, Any]:
    username = _required(username, "username")
    audit.resource = f"user/{username}"
    return jsonable_encoder(users.get_user(username))


@router.get("/listUsers", name="admin.users.list")
def list_users(
    _admin: AdminUser, users: UserAdmin, limit: str | None = None, token: str | None = None
) -> dict[str, Any]:
    return jsonable_encoder(users.list_page("listUsers", _limit(limit), token))


@router.get("/listGroups", name="admin.groups.list")
def list_groups(
    _admin: AdminUser, users: UserAdmin, limit: str | None = None, token: str | None = None
) -> dict[str, Any]:
    return jsonable_encoder(users.list_page("listGroups", _limit(limit), token))


@router.get("/listUsersInGroup", name="admin.groups.list_users")
def list_users_in_group(
    _admin: AdminUser,
    users: UserAdmin,
    audit: Audit,
    groupname: str | None = None,
    limit: str | None = None,
    token: str | None = None,
) -> dict[str, Any]:
    group = _required(groupname, "groupname")
    audit.resource = f"group/{group}"
    return jsonable_encoder(users.list_page("listUsersInGroup", _limit(limit), token, GroupName=group))


@router.get("/listGroupsForUser", name="admin.users.list_groups")
def list_groups_for_user(
    _admin: AdminUser,
    users: UserAdmin,
    audit: Audit,
    username: str | None = None,
    limit: str | None = None,
    token: str | None = None,
) -> dict[str, Any]:
    username = _required(username, "username")
    audit.resource = f"user/{username}"
    return jsonable_encoder(users.list_page("listGroupsForUser", _limit(limit), token, Username=username))


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


class LimitsOverride(BaseModel):
    """Per-user limits; a field left out or null follows the user's group policy."""

    model_config = ConfigDict(allow_inf_nan=False)

    requests_per_minute: int | None = Field(default=None, ge=1, le=MAX_COUNT_LIMIT)
    requests_per_day: int | None = Field(default=None, ge=1, le=MAX_COUNT_LIMIT)
    tokens_per_day: int | None = Field(default=None, ge=1, le=MAX_COUNT_LIMIT)
    tokens_per_month: int | None = Field(default=None, ge=1, le=MAX_COUNT_LIMIT)
    budget_usd_per_month: float | None = Field(default=None, ge=0, le=MAX_BUDGET_USD)
    budget_soft_threshold: float | None = Field(default=None, gt=0, le=1)


class UserLimitsResponse(BaseModel):
    user_id: str
    groups: list[str]
    group_limits: Limits
    override: LimitsOverride
    effective: Limits


def _limits_of(user_id: str, users: UserAdminService, limits: LimitService) -> UserLimitsResponse:
    groups = users.group_names(user_id)
    return UserLimitsResponse(
        user_id=user_id,
        groups=list(groups),
        group_limits=limits.group_limits(groups),
        override=LimitsOverride(**limits.override_of(user_id)),
        effective=limits.limits_for(user_id, groups),
    )


@router.get("/users/{user_id}/limits", name="admin.users.limits.get")
def get_user_limits(
    user_id: str, _admin: AdminUser, users: UserAdmin, limits: LimitsService, audit: Audit
) -> UserLimitsResponse:
    audit.resource = f"user/{user_id}/limits"
    return _limits_of(user_id, users, limits)


@router.put("/users/{user_id}/limits", name="admin.users.limits.put")
def put_user_limits(
    user_id: str,
    body: LimitsOverride,
    admin: AdminUser,
    users: UserAdmin,
    limits: LimitsService,
    audit: Audit,
) -> UserLimitsResponse:
    audit.resource = f"user/{user_id}/limits"
    users.group_names(user_id)  # 404 for an unknown user before anything is stored
    limits.set_override(user_id, body.model_dump(), iso(utcnow()), admin.user_id)
    return _limits_of(user_id, users, limits)
