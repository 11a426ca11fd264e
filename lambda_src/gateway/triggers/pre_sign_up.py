"""Pre sign-up trigger: self sign-up (the API's /register, or SignUp called directly) follows the same rule as
the API: `allowed_email_domains` [] closes it, ["*"] opens it to any domain, otherwise exact domains.
Users an administrator creates (console, CLI, AdminCreateUser) are the administrator's decision."""

from typing import Any

from gateway.services.identity import email_domain_allowed
from gateway.settings import get_settings


class DomainNotAllowed(Exception):  # noqa: N818 (Cognito shows the class name and message to the caller)
    pass


def handler(event: dict[str, Any], _context: Any) -> dict[str, Any]:
    if event.get("triggerSource") != "PreSignUp_SignUp":
        # PreSignUp_AdminCreateUser: an administrator adds the user; PreSignUp_ExternalProvider: federated
        # users are vouched for by their identity provider.
        return event
    email = (event.get("request", {}).get("userAttributes") or {}).get("email", "")
    allowed = get_settings().allowed_email_domains
    if not allowed:
        raise DomainNotAllowed("sign_up_closed: sign-up is closed, an administrator adds users")
    if not email_domain_allowed(email, allowed):
        raise DomainNotAllowed("domain_not_allowed: sign-up is limited to the organisation's email domains")
    return event
