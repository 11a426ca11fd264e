"""Cognito's sign-up confirmation on top of moto (see mailbox.py for why), and the mailbox route.

SignUp and ConfirmSignUp go to moto around a code check; ResendConfirmationCode, which moto lacks, is
answered here. GET /_gateway/mailbox/<email> returns {"messages": [{"to", "subject", "code", "sent_at"}]},
oldest first.
"""

from __future__ import annotations

import json
from urllib.parse import unquote

from localstack.aws.api import CommonServiceException
from localstack.http import Request, Response
from localstack.services.moto import call_moto

from .mailbox import MAILBOX, ConfirmationError

MAILBOX_ROUTE = "/_gateway/mailbox/<path:email>"


def _pool_and_user(client_id: str, username: str):
    """moto's pool of the app client and its user by username or email alias (user None when unknown)."""
    from moto.cognitoidp.models import cognitoidp_backends

    for account_backends in cognitoidp_backends.values():
        for backend in dict.values(account_backends):  # plain dict view: do not create backends
            for pool in backend.user_pools.values():
                if client_id in pool.clients:
                    return pool, pool._get_user(username)
    raise CommonServiceException("ResourceNotFoundException", f"{client_id} not found.", sender_fault=True)


def _email_of(user) -> str:
    return str(user.attribute_lookup.get("email") or user.username)


def _delivery_details(email: str) -> dict:
    local, _, domain = email.partition("@")
    return {"Destination": f"{local[:1]}***@{domain}", "DeliveryMedium": "EMAIL", "AttributeName": "email"}


def sign_up(context, request):
    response = call_moto(context)
    pool, user = _pool_and_user(request["ClientId"], request["Username"])
    if user is not None and not response.get("UserConfirmed"):
        MAILBOX.issue_code(pool.id, user.username, _email_of(user))
        response["CodeDeliveryDetails"] = _delivery_details(_email_of(user))
    return response


def confirm_sign_up(context, request):
    pool, user = _pool_and_user(request["ClientId"], request["Username"])
    if user is None:
        raise CommonServiceException("UserNotFoundException", "Username/client id combination not found.")
    if user.status != "UNCONFIRMED":  # moto's UserStatus is a str enum
        raise CommonServiceException(
            "NotAuthorizedException", f"User cannot be confirmed. Current status is {user.status.value}"
        )
    try:
        MAILBOX.check_code(pool.id, user.username, str(request.get("ConfirmationCode", "")))
    except ConfirmationError as refusal:
        raise CommonServiceException(refusal.code, refusal.message) from refusal
    response = call_moto(context)
    # The pool auto-verifies email: confirming by the emailed code verifies the address, as in Cognito.
    user.update_attributes([{"Name": "email_verified", "Value": "true"}])
    return response


def resend_confirmation_code(context, request):
    pool, user = _pool_and_user(request["ClientId"], request["Username"])
    if user is None:
        raise CommonServiceException("UserNotFoundException", "Username/client id combination not found.")
    if user.status != "UNCONFIRMED":
        raise CommonServiceException("InvalidParameterException", "User is already confirmed.")
    email = _email_of(user)
    MAILBOX.issue_code(pool.id, user.username, email)
    return {"CodeDeliveryDetails": _delivery_details(email)}


HANDLERS = {
    "SignUp": sign_up,
    "ConfirmSignUp": confirm_sign_up,
    "ResendConfirmationCode": resend_confirmation_code,
}


def serve_mailbox(request: Request, email: str) -> Response:
    # Routes match the raw path: "@" may arrive as %40.
    body = {"messages": MAILBOX.messages_for(unquote(email))}
    return Response(json.dumps(body), 200, mimetype="application/json")
