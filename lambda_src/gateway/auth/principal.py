"""Who is calling: built from a verified token, never from unverified input."""

from dataclasses import dataclass, field
from typing import Any

from gateway.auth.groups import effective_groups


@dataclass(frozen=True)
class Principal:
    user_id: str
    email: str | None
    groups: tuple[str, ...]
    token_use: str
    # When the user signed in (`auth_time`; refreshed tokens keep it), else when the token was issued.
    authenticated_at: int
    api_key_id: str | None = None
    claims: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def effective_groups(self) -> list[str]:
        return effective_groups(self.groups)

    def in_group(self, group: str) -> bool:
        return group in self.effective_groups

    @classmethod
    def from_claims(cls, claims: dict[str, Any]) -> "Principal":
        groups = claims.get("cognito:groups") or []
        if isinstance(groups, str):  # API Gateway hands claims on as comma-joined strings
            groups = [group for group in groups.split(",") if group]
        return cls(
            user_id=str(claims["sub"]),
            email=claims.get("email"),
            groups=tuple(sorted(groups)),
            token_use=str(claims["token_use"]),
            authenticated_at=int(claims.get("auth_time", claims.get("iat", 0))),
            claims=claims,
        )
