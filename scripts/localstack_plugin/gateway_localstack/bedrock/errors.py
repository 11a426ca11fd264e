"""Bedrock's errors as the decision modules raise them; the LocalStack adapters convert them."""

from __future__ import annotations


class BedrockError(Exception):
    def __init__(self, code: str, message: str, status: int) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status

    def __repr__(self) -> str:
        return f"BedrockError({self.code!r}, {self.message!r}, {self.status})"

    @classmethod
    def validation(cls, message: str) -> BedrockError:
        return cls("ValidationException", message, 400)

    @classmethod
    def malformed(cls, detail: str) -> BedrockError:
        return cls.validation(f"Malformed input request: {detail}, please reformat your input and try again.")
