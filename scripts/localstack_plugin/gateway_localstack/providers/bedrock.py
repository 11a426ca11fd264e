"""`bedrock` (the control plane): ListFoundationModels and GetFoundationModel over the fixed catalog
(gateway_localstack/bedrock/catalog.json). Selected with PROVIDER_OVERRIDE_BEDROCK=gateway; the other
operations answer 501. The decisions live in gateway_localstack.bedrock.catalog (no LocalStack there).
"""

from __future__ import annotations

from localstack.aws.api import CommonServiceException
from localstack.services.plugins import Service, aws_provider

from gateway_localstack.bedrock import catalog
from gateway_localstack.bedrock.errors import BedrockError


def service_error(error: BedrockError) -> CommonServiceException:
    return CommonServiceException(
        error.code, error.message, status_code=error.status, sender_fault=error.status < 500
    )


def list_foundation_models(context, request):
    return {
        "modelSummaries": catalog.list_models(
            context.region,
            by_provider=request.get("byProvider"),
            by_output_modality=request.get("byOutputModality"),
            by_inference_type=request.get("byInferenceType"),
            by_customization_type=request.get("byCustomizationType"),
        )
    }


def get_foundation_model(context, request):
    try:
        model = catalog.get_model(request.get("modelIdentifier") or "")
    except BedrockError as error:
        raise service_error(error) from None
    return {"modelDetails": catalog.summary(model, context.region)}


class BedrockProvider:
    service = "bedrock"


@aws_provider(api="bedrock", name="gateway")
def bedrock():
    return Service.for_provider(
        BedrockProvider(),
        dispatch_table_factory=lambda _: {
            "ListFoundationModels": list_foundation_models,
            "GetFoundationModel": get_foundation_model,
        },
    )
