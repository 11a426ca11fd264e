"""Post confirmation trigger: new users join the configured groups, however they were created."""

from typing import Any

from gateway.aws import client
from gateway.settings import get_settings


def handler(event: dict[str, Any], _context: Any) -> dict[str, Any]:
    if event.get("triggerSource") != "PostConfirmation_ConfirmSignUp":
        return event  # e.g. a confirmed password reset: nothing to join
    idp = client("cognito-idp")
    for group in get_settings().auto_join_groups:
        # Idempotent: the API's /register/confirm may have added the user already.
        idp.admin_add_user_to_group(
            UserPoolId=event["userPoolId"], Username=event["userName"], GroupName=group
        )
    return event
