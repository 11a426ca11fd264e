"""Pre sign-up trigger: refuse emails outside the organisation's domains (console and CLI included)."""

from typing import Any

from gateway.services.identity import email_domain_allowed
from gateway.settings import get_settings


class DomainNotAllowed(Exception):  # noqa: N818 (Cognito shows the class name and message to the caller)
    pass


def handler(event: dict[str, Any], _context: Any) -> dict[str, Any]:
    if event.get("triggerSource") == "PreSignUp_ExternalProvider":
        return event  # federated users are vouched for by their identity provider
    email = (event.get("request", {}).get("userAttributes") or {}).get("email", "")
    if not email_domain_allowed(email, get_settings().allowed_email_domains):
        raise DomainNotAllowed("domain_not_allowed: sign-up is limited to the organisation's email domains")
    return event
