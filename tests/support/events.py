"""API Gateway proxy events, as the Lambda handler receives them behind the REST API."""

import json
from typing import Any


def api_gateway_event(
    method: str, path: str, body: Any = None, headers: dict[str, str] | None = None, request_id: str = "req-1"
) -> dict[str, Any]:
    return {
        "resource": "/{proxy+}",
        "path": path,
        "httpMethod": method,
        "headers": {"content-type": "application/json", "host": "example.execute-api", **(headers or {})},
        "multiValueHeaders": {},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": {"proxy": path.lstrip("/")},
        "stageVariables": None,
        "requestContext": {
            "requestId": request_id,
            "stage": "test",
            "path": f"/test{path}",
            "httpMethod": method,
            "resourcePath": "/{proxy+}",
            "identity": {"sourceIp": "203.0.113.9", "userAgent": "pytest"},
        },
        "body": None if body is None else json.dumps(body),
        "isBase64Encoded": False,
    }


class LambdaContext:
    aws_request_id = "lambda-req"
    function_name = "gateway"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000
