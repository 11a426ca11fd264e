"""Services answered entirely by LocalStack's bundled moto: every operation goes to `call_moto`.

The community runtime has no Cognito, and its DynamoDB needs DynamoDB Local (a Java download), so these are
selected with PROVIDER_OVERRIDE_<SERVICE>=moto (local-aws.sh and localstack-compose.yml set them).
A further service is one more module here plus an entry point (as bedrock.py, bedrock_runtime.py).
"""

from __future__ import annotations

import threading

from localstack.aws.spec import load_service
from localstack.services.moto import call_moto
from localstack.services.plugins import Service, aws_provider


def _forward_to_moto(context, request):
    return call_moto(context)


# DynamoDB applies each write atomically (a conditional update is checked and applied as one step); moto does
# not, and LocalStack serves requests on several threads. One lock per table service restores the guarantee
# the gateway's exact limits rely on (concurrent conditional ADDs never overshoot).
_DYNAMODB_LOCK = threading.RLock()


def _forward_to_moto_serialised(context, request):
    with _DYNAMODB_LOCK:
        return call_moto(context)


class MotoBackedProvider:
    def __init__(self, service: str) -> None:
        self.service = service


def moto_service(service: str, serialised: bool = False, overrides: dict | None = None) -> Service:
    """`overrides`: operation name -> handler(context, request) answering it instead of plain moto."""
    handler = _forward_to_moto_serialised if serialised else _forward_to_moto

    def dispatch_table(provider: MotoBackedProvider) -> dict:
        return {**dict.fromkeys(load_service(provider.service).operation_names, handler), **(overrides or {})}

    return Service.for_provider(MotoBackedProvider(service), dispatch_table_factory=dispatch_table)


@aws_provider(api="cognito-idp", name="moto")
def cognito_idp():
    # Sign-up confirmation codes: moto neither sends nor checks them (cognito/mailbox.py).
    from ..cognito.confirmation import HANDLERS

    return moto_service("cognito-idp", overrides=HANDLERS)


@aws_provider(api="cognito-identity", name="moto")
def cognito_identity():
    return moto_service("cognito-identity")


@aws_provider(api="dynamodb", name="moto")
def dynamodb():
    # Transactions journal the items they touch instead of copying whole tables (dynamodb/transactions.py).
    from ..dynamodb.transactions import install

    install()
    return moto_service("dynamodb", serialised=True)


@aws_provider(api="dynamodbstreams", name="moto")
def dynamodbstreams():
    return moto_service("dynamodbstreams")
