"""Bedrock models: list the ones the caller may use, invoke one with its native request body."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field, model_validator

from gateway import blocking, deps
from gateway.api.numbers import check_json_numbers, check_max_tokens
from gateway.auth.dependencies import CurrentUser, RequestCaller
from gateway.errors import coded_problem
from gateway.providers.model_formats import extract, format_for
from gateway.services.audit import Audit
from gateway.services.models import ModelService
from gateway.services.pricing import micros_to_usd

router = APIRouter(prefix="/bedrock", tags=["bedrock"])
Models = Annotated[ModelService, Depends(deps.model_service)]


class ModelSummary(BaseModel):
    model_id: str
    provider: str
    name: str
    input_modalities: list[str]
    output_modalities: list[str]


class ModelList(BaseModel):
    models: list[ModelSummary]


# The seed's camelCase names, and the snake_case every other body of the API uses: either is accepted.
_SPELLINGS = (("modelId", "model_id"), ("inferenceParameters", "inference_parameters"))


class InvokeRequest(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    model_id: str = Field(
        alias="modelId", min_length=1, max_length=256, description="Also accepted as model_id."
    )
    inference_parameters: dict[str, Any] = Field(
        alias="inferenceParameters",
        description="The provider's native request body, passed on as is. Also accepted as "
        "inference_parameters.",
    )

    @model_validator(mode="before")
    @classmethod
    def _one_spelling(cls, body: Any) -> Any:
        if isinstance(body, dict):
            for camel, snake in _SPELLINGS:
                if camel in body and snake in body and body[camel] != body[snake]:
                    raise coded_problem(
                        "conflicting_fields",
                        f"{camel} and {snake} are one field in two spellings, sent with different values: "
                        "send one of them.",
                    )
        return body

    @model_validator(mode="after")
    def _numbers_in_range(self) -> "InvokeRequest":
        check_json_numbers(self.inference_parameters, "inferenceParameters")
        row = format_for(self.model_id)
        if row is not None and row.max_tokens_path:
            check_max_tokens(extract(row.max_tokens_path, self.inference_parameters), "inferenceParameters")
        return self


class Usage(BaseModel):
    input_tokens: int
    output_tokens: int


class InvokeResponse(BaseModel):
    model_id: str
    output: str | None
    usage: Usage
    cost_usd: float
    request_id: str
    raw: Any = Field(
        default=None, description="The model's body, when its shape is not one the gateway reads."
    )
    note: str | None = None


@router.get("", name="bedrock.models.list")
def list_models(user: CurrentUser, models: Models) -> ModelList:
    return ModelList(
        models=[
            ModelSummary(
                model_id=model.model_id,
                provider=model.provider,
                name=model.name,
                input_modalities=list(model.input_modalities),
                output_modalities=list(model.output_modalities),
            )
            for model in models.models_for(user.groups)
        ]
    )


@router.post("", name="bedrock.invoke")
@blocking.as_async
def invoke(body: InvokeRequest, caller: RequestCaller, models: Models, audit: Audit) -> InvokeResponse:
    audit.resource = f"model/{body.model_id}"
    outcome = models.invoke(caller, body.model_id, body.inference_parameters)
    return InvokeResponse(
        model_id=outcome.model_id,
        output=outcome.output,
        usage=Usage(input_tokens=outcome.usage.input_tokens, output_tokens=outcome.usage.output_tokens),
        cost_usd=micros_to_usd(outcome.cost_micros),
        request_id=outcome.request_id,
        raw=outcome.raw,
        note=None if outcome.known_shape else "The gateway does not know this response shape: see raw.",
    )
