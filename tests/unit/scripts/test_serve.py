"""`make serve`'s settings: the local function's GATEWAY_* environment, pointed at the emulator as the host
reaches it."""

import pytest
from botocore.exceptions import ClientError

from scripts import serve

FUNCTION_ENDPOINT = "http://127.0.0.1:4566"
FUNCTION_VARIABLES = {
    "GATEWAY_ENVIRONMENT": "local",
    "GATEWAY_AWS_ENDPOINT_URL": FUNCTION_ENDPOINT,
    "GATEWAY_JWKS_URL": f"{FUNCTION_ENDPOINT}/us-east-1_abc/.well-known/jwks.json",
    "GATEWAY_TABLE_USAGE": "gateway-local-usage",
    "GATEWAY_CORS_ALLOWED_ORIGINS": '["http://localhost:*"]',
    "AWS_LAMBDA_EXEC_WRAPPER": "/opt/wrapper",
    "PYTHONPATH": "/var/task",
}


def test_the_function_settings_are_kept_and_its_endpoint_becomes_the_hosts():
    environment = serve.served_environment(FUNCTION_VARIABLES, "http://127.0.0.1:4741", "eu-west-1")
    assert environment["GATEWAY_AWS_ENDPOINT_URL"] == "http://127.0.0.1:4741"
    assert environment["GATEWAY_JWKS_URL"] == "http://127.0.0.1:4741/us-east-1_abc/.well-known/jwks.json"
    assert environment["GATEWAY_TABLE_USAGE"] == "gateway-local-usage"
    assert environment["GATEWAY_CORS_ALLOWED_ORIGINS"] == '["http://localhost:*"]'
    assert environment["AWS_DEFAULT_REGION"] == environment["AWS_REGION"] == "eu-west-1"
    assert environment["AWS_ACCESS_KEY_ID"] == "test"


def test_the_lambda_runtimes_own_variables_are_left_out():
    environment = serve.served_environment(FUNCTION_VARIABLES, "http://127.0.0.1:4741", "us-east-1")
    assert "PYTHONPATH" not in environment
    assert "AWS_LAMBDA_EXEC_WRAPPER" not in environment


def test_a_jwks_url_elsewhere_is_kept_as_it_is():
    variables = {**FUNCTION_VARIABLES, "GATEWAY_JWKS_URL": "https://idp.example.com/jwks.json"}
    environment = serve.served_environment(variables, "http://127.0.0.1:4741", "us-east-1")
    assert environment["GATEWAY_JWKS_URL"] == "https://idp.example.com/jwks.json"


@pytest.mark.parametrize(
    "variables",
    [
        {**FUNCTION_VARIABLES, "GATEWAY_ENVIRONMENT": "prod"},
        {name: value for name, value in FUNCTION_VARIABLES.items() if name != "GATEWAY_AWS_ENDPOINT_URL"},
    ],
    ids=["not-local", "no-endpoint"],
)
def test_a_function_that_is_not_a_local_deployment_is_refused(variables):
    with pytest.raises(serve.ServeError, match=r"serve: .*local"):
        serve.served_environment(variables, "http://127.0.0.1:4741", "us-east-1")


class StubLambda:
    def __init__(self, configuration=None, error=None):
        self.configuration = configuration
        self.error = error
        self.asked = []

    def get_function_configuration(self, FunctionName):  # noqa: N803 (boto3's parameter name)
        self.asked.append(FunctionName)
        if self.error:
            raise self.error
        return self.configuration


def test_the_variables_come_from_the_functions_configuration():
    stub = StubLambda({"FunctionName": "gw", "Environment": {"Variables": FUNCTION_VARIABLES}})
    assert serve.function_variables(stub, "gw") == FUNCTION_VARIABLES
    assert stub.asked == ["gw"]


def test_a_missing_function_is_a_clear_error():
    error = ClientError({"Error": {"Code": "ResourceNotFoundException", "Message": "nope"}}, "GetFunction")
    with pytest.raises(serve.ServeError, match="serve: reading gw from the local target failed"):
        serve.function_variables(StubLambda(error=error), "gw")


def test_local_settings_read_the_function_named_in_the_outputs(monkeypatch):
    stub = StubLambda({"Environment": {"Variables": FUNCTION_VARIABLES}})

    class Session:
        def client(self, service):
            assert service == "lambda"
            return stub

    outputs = {"region": "us-east-1", "function_name": "gw-x", "local_aws_endpoint": "http://127.0.0.1:4741"}
    monkeypatch.setattr(serve, "terraform_outputs", lambda env: outputs)
    monkeypatch.setattr(serve, "aws_session", lambda env, region: Session())
    monkeypatch.setenv("LOCAL_AWS_PORT", "4566")  # the stack's own endpoint wins: it may run on another port
    environment = serve.local_settings()
    assert stub.asked == ["gw-x"]
    assert environment["GATEWAY_AWS_ENDPOINT_URL"] == "http://127.0.0.1:4741"
