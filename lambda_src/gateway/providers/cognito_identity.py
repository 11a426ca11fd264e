"""Temporary AWS credentials for a user pool member, through the Cognito identity pool."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from gateway.aws import client, error_code
from gateway.errors import ForbiddenError, UpstreamError


@dataclass(frozen=True)
class AwsCredentials:
    identity_id: str
    role_arn: str | None
    access_key_id: str
    secret_access_key: str
    session_token: str
    expiration: datetime


class CognitoIdentityPool:
    def __init__(self, identity_pool_id: str, region: str, user_pool_id: str) -> None:
        self._identity_pool_id = identity_pool_id
        self._provider = f"cognito-idp.{region}.amazonaws.com/{user_pool_id}"

    @property
    def _identity(self) -> Any:
        return client("cognito-identity")

    def credentials(self, id_token: str, role_arn: str | None) -> AwsCredentials:
        if not self._identity_pool_id:
            raise ForbiddenError("No identity pool is configured.", code="credentials_unavailable")
        logins = {self._provider: id_token}
        try:
            identity_id = self._identity.get_id(IdentityPoolId=self._identity_pool_id, Logins=logins)[
                "IdentityId"
            ]
            request: dict[str, Any] = {"IdentityId": identity_id, "Logins": logins}
            if role_arn:
                # The preferred role; without one, the pool falls back to its default authenticated role.
                request["CustomRoleArn"] = role_arn
            result = self._identity.get_credentials_for_identity(**request)
        except ClientError as exc:
            if error_code(exc) == "NotAuthorizedException":
                raise ForbiddenError(
                    "The identity pool refused this user.", code="credentials_refused"
                ) from exc
            raise UpstreamError("The identity pool failed.", code="identity_error") from exc
        credentials = result["Credentials"]
        return AwsCredentials(
            identity_id=identity_id,
            role_arn=role_arn,
            access_key_id=credentials["AccessKeyId"],
            secret_access_key=credentials["SecretKey"],
            session_token=credentials["SessionToken"],
            expiration=credentials["Expiration"],
        )
