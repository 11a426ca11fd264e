"""Cognito user pool calls, with Cognito's errors translated into the gateway's domain errors."""

from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from gateway.auth.groups import GroupInfo
from gateway.aws import client, error_code
from gateway.errors import (
    AppError,
    BadRequestError,
    ConflictError,
    ForbiddenError,
    UnauthorizedError,
    UpstreamError,
)


class InvalidCredentialsError(UnauthorizedError):
    code = "invalid_credentials"
    # The same answer for a wrong password and an unknown user: nobody learns who has an account.
    message = "The email or password is wrong."


class UserDisabledError(ForbiddenError):
    code = "user_disabled"
    message = "This account is disabled."


class UserExistsError(ConflictError):
    code = "user_exists"
    message = "An account with this email exists already."


class InvalidCodeError(BadRequestError):
    code = "invalid_code"
    message = "The confirmation code is wrong."


class CodeExpiredError(BadRequestError):
    code = "code_expired"
    message = "The confirmation code has expired; ask for a new one (POST /register/resend)."


class TooManyAttemptsError(AppError):
    status_code = 429
    code = "too_many_attempts"
    message = "Too many attempts; wait a while or ask for a new code (POST /register/resend)."


class UserNotConfirmedError(ForbiddenError):
    code = "user_not_confirmed"
    message = "This account is not confirmed yet: enter the code that was emailed (POST /register/confirm)."


class InvalidPasswordError(AppError):
    # 422 as /register's schema answers a password against the policy it has from Terraform: this one is
    # Cognito's own refusal, should the pool's policy ever differ from the one the function was given.
    status_code = 422
    code = "invalid_password"
    message = "The password does not meet the user pool's password policy."


class InvalidRefreshTokenError(UnauthorizedError):
    code = "invalid_token"
    message = "The refresh token is invalid, expired or revoked."


class UserNotFoundError(AppError):
    status_code = 404
    code = "user_not_found"
    message = "No such user."


class GroupNotFoundError(AppError):
    status_code = 404
    code = "group_not_found"
    message = "No such group."


@dataclass(frozen=True)
class Tokens:
    id_token: str
    access_token: str
    refresh_token: str | None
    expires_in: int
    # Read from the ID token as Cognito issued it (no check needed: it did not pass through anyone).
    user_id: str
    authenticated_at: int


@dataclass(frozen=True)
class UserProfile:
    user_id: str
    email: str | None
    fullname: str | None
    enabled: bool
    status: str


def _upstream(exc: ClientError) -> UpstreamError:
    return UpstreamError("The identity service failed.", code="identity_error")


class CognitoUserPool:
    def __init__(self, user_pool_id: str, client_id: str) -> None:
        self.user_pool_id = user_pool_id
        self.client_id = client_id

    @property
    def _idp(self) -> Any:
        return client("cognito-idp")

    def sign_up(self, email: str, password: str, fullname: str) -> str:
        """Creates the user UNCONFIRMED; Cognito emails a code (the pool auto-verifies email)."""
        try:
            response = self._idp.sign_up(
                ClientId=self.client_id,
                Username=email,
                Password=password,
                UserAttributes=[{"Name": "email", "Value": email}, {"Name": "name", "Value": fullname}],
            )
        except ClientError as exc:
            code = error_code(exc)
            if code == "UsernameExistsException":
                raise UserExistsError() from exc
            if code == "InvalidPasswordException":
                raise InvalidPasswordError() from exc
            if code == "InvalidParameterException":
                raise BadRequestError("The email or name is not accepted.", code="invalid_email") from exc
            if code == "UserLambdaValidationException":
                # The pre-sign-up trigger refused: on AWS this is the domain rule.
                raise ForbiddenError("This email domain may not sign up.", code="domain_not_allowed") from exc
            raise _upstream(exc) from exc
        return str(response["UserSub"])

    def confirm_sign_up(self, email: str, code: str) -> None:
        """Confirms by the emailed code, which also verifies the address."""
        try:
            self._idp.confirm_sign_up(ClientId=self.client_id, Username=email, ConfirmationCode=code)
        except ClientError as exc:
            code_name = error_code(exc)
            # Unknown user and already confirmed look like a wrong code: nobody learns who has an account.
            if code_name in ("CodeMismatchException", "UserNotFoundException", "NotAuthorizedException"):
                raise InvalidCodeError() from exc
            if code_name == "ExpiredCodeException":
                raise CodeExpiredError() from exc
            if code_name in (
                "LimitExceededException",
                "TooManyFailedAttemptsException",
                "TooManyRequestsException",
            ):
                raise TooManyAttemptsError() from exc
            if code_name == "InvalidParameterException":
                raise InvalidCodeError() from exc
            raise _upstream(exc) from exc

    def resend_confirmation_code(self, email: str) -> None:
        """A new code for an unconfirmed user; silent for unknown and confirmed ones (no enumeration)."""
        try:
            self._idp.resend_confirmation_code(ClientId=self.client_id, Username=email)
        except ClientError as exc:
            code_name = error_code(exc)
            if code_name in ("UserNotFoundException", "InvalidParameterException", "NotAuthorizedException"):
                return
            if code_name in ("LimitExceededException", "TooManyRequestsException"):
                raise TooManyAttemptsError() from exc
            raise _upstream(exc) from exc

    def find_user(self, email: str) -> UserProfile | None:
        """The user signed in by this email, or None."""
        try:
            return self.get_user(email)
        except UserNotFoundError:
            return None

    def add_to_group(self, username: str, group: str) -> None:
        self._call("admin_add_user_to_group", Username=username, GroupName=group)

    def delete_user(self, username: str) -> None:
        self._call("admin_delete_user", Username=username)

    def disable(self, username: str) -> None:
        self._call("admin_disable_user", Username=username)

    def enable(self, username: str) -> None:
        self._call("admin_enable_user", Username=username)

    def members_of(self, group: str) -> list[UserProfile]:
        members: list[UserProfile] = []
        request: dict[str, Any] = {"GroupName": group, "Limit": 60}
        while True:
            response = self._call("list_users_in_group", **request)
            for user in response.get("Users", []):
                attributes = {a["Name"]: a["Value"] for a in user.get("Attributes", [])}
                members.append(
                    UserProfile(
                        user_id=attributes.get("sub", user["Username"]),
                        email=attributes.get("email"),
                        fullname=attributes.get("name"),
                        enabled=bool(user.get("Enabled", True)),
                        status=str(user.get("UserStatus", "")),
                    )
                )
            if not response.get("NextToken"):
                return members
            request["NextToken"] = response["NextToken"]

    def remove_from_group(self, username: str, group: str) -> None:
        self._call("admin_remove_user_from_group", Username=username, GroupName=group)

    def require_group(self, group: str) -> None:
        try:
            self._idp.get_group(UserPoolId=self.user_pool_id, GroupName=group)
        except ClientError as exc:
            if error_code(exc) == "ResourceNotFoundException":
                raise GroupNotFoundError(f"No group named {group!r}.") from exc
            raise _upstream(exc) from exc

    def admin_confirm(self, username: str) -> None:
        self._call("admin_confirm_sign_up", Username=username)

    def raw(self, operation: str, **kwargs: Any) -> dict[str, Any]:
        """A Cognito admin call answered as Cognito shapes it (for the AdminQueries-compatible routes)."""
        response = self._call(operation, **kwargs)
        response.pop("ResponseMetadata", None)
        return response

    def sign_out_everywhere(self, username: str) -> None:
        self._call("admin_user_global_sign_out", Username=username)

    def login(self, email: str, password: str) -> Tokens:
        try:
            response = self._idp.initiate_auth(
                ClientId=self.client_id,
                AuthFlow="USER_PASSWORD_AUTH",
                AuthParameters={"USERNAME": email, "PASSWORD": password},
            )
        except ClientError as exc:
            code = error_code(exc)
            message = exc.response.get("Error", {}).get("Message", "")
            if code == "NotAuthorizedException" and "disabled" in message.lower():
                raise UserDisabledError() from exc
            if code in ("NotAuthorizedException", "UserNotFoundException"):
                raise InvalidCredentialsError() from exc
            if code == "UserNotConfirmedException":  # Cognito says so only after the right password
                raise UserNotConfirmedError() from exc
            if code == "PasswordResetRequiredException":
                raise ForbiddenError("A password reset is required.", code="password_reset_required") from exc
            raise _upstream(exc) from exc
        return self._tokens(response)

    def refresh(self, refresh_token: str) -> Tokens:
        try:
            response = self._idp.initiate_auth(
                ClientId=self.client_id,
                AuthFlow="REFRESH_TOKEN_AUTH",
                AuthParameters={"REFRESH_TOKEN": refresh_token},
            )
        except ClientError as exc:
            if error_code(exc) in (
                "NotAuthorizedException",
                "UserNotFoundException",
                "InvalidParameterException",
            ):
                raise InvalidRefreshTokenError() from exc
            raise _upstream(exc) from exc
        return self._tokens(response)

    def get_user(self, username: str) -> UserProfile:
        response = self._call("admin_get_user", Username=username)
        attributes = {a["Name"]: a["Value"] for a in response.get("UserAttributes", [])}
        return UserProfile(
            user_id=attributes.get("sub", username),
            email=attributes.get("email"),
            fullname=attributes.get("name"),
            enabled=bool(response.get("Enabled", True)),
            status=str(response.get("UserStatus", "")),
        )

    def groups_of(self, username: str) -> list[GroupInfo]:
        groups: list[GroupInfo] = []
        request: dict[str, Any] = {"Username": username}
        while True:
            response = self._call("admin_list_groups_for_user", **request)
            groups.extend(
                GroupInfo(name=g["GroupName"], precedence=g.get("Precedence"), role_arn=g.get("RoleArn"))
                for g in response.get("Groups", [])
            )
            if not response.get("NextToken"):
                return groups
            request["NextToken"] = response["NextToken"]

    def _call(self, operation: str, **kwargs: Any) -> Any:
        try:
            return getattr(self._idp, operation)(UserPoolId=self.user_pool_id, **kwargs)
        except ClientError as exc:
            code = error_code(exc)
            if code == "UserNotFoundException":
                raise UserNotFoundError() from exc
            if code == "ResourceNotFoundException" and "GroupName" in kwargs:
                raise GroupNotFoundError(f"No group named {kwargs['GroupName']!r}.") from exc
            if code == "InvalidParameterException":
                raise BadRequestError("Cognito refused a parameter.", code="invalid_parameter") from exc
            raise _upstream(exc) from exc

    @staticmethod
    def _tokens(response: dict[str, Any]) -> Tokens:
        result = response.get("AuthenticationResult")
        if not result:  # a challenge (e.g. NEW_PASSWORD_REQUIRED) this API does not handle
            raise ForbiddenError(
                "This account must complete a sign-in challenge first.", code="challenge_required"
            )
        import jwt  # it loads `cryptography`: only sign-in needs it, not every cold start

        claims = jwt.decode(result["IdToken"], options={"verify_signature": False})
        return Tokens(
            id_token=result["IdToken"],
            access_token=result["AccessToken"],
            refresh_token=result.get("RefreshToken"),
            expires_in=int(result.get("ExpiresIn", 3600)),
            user_id=str(claims.get("sub", "")),
            authenticated_at=int(claims.get("auth_time", claims.get("iat", 0))),
        )
