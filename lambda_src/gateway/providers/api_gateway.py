"""API Gateway API keys in the stage's usage plan, so the gateway's throttle and quota apply."""

import contextlib
import threading
from typing import Any

from botocore.exceptions import ClientError

from gateway.aws import client
from gateway.errors import UpstreamError


class ApiGatewayKeys:
    def __init__(self, usage_plan_name: str) -> None:
        self._usage_plan_name = usage_plan_name
        self._usage_plan_id: str | None = None
        self._lock = threading.Lock()

    @property
    def _apigw(self) -> Any:
        return client("apigateway")

    def usage_plan_id(self) -> str:
        """Found by name once per process: the plan cannot be passed in (it depends on this function)."""
        with self._lock:
            if self._usage_plan_id is None:
                request: dict[str, Any] = {"limit": 500}
                while self._usage_plan_id is None:
                    page = self._apigw.get_usage_plans(**request)
                    for plan in page.get("items", []):
                        if plan.get("name") == self._usage_plan_name:
                            self._usage_plan_id = plan["id"]
                    if not page.get("position"):
                        break
                    request["position"] = page["position"]
                if self._usage_plan_id is None:
                    raise UpstreamError("The API's usage plan is missing.", code="usage_plan_missing")
            return self._usage_plan_id

    def create(self, name: str, value: str, description: str) -> str:
        """Create an enabled key with the given value in the usage plan; returns its id."""
        plan_id = self.usage_plan_id()
        try:
            key_id = self._apigw.create_api_key(
                name=name, value=value, enabled=True, description=description
            )["id"]
        except ClientError as exc:
            raise UpstreamError("Could not create the API key.", code="api_key_error") from exc
        try:
            self._apigw.create_usage_plan_key(usagePlanId=plan_id, keyId=key_id, keyType="API_KEY")
        except ClientError as exc:
            self.delete(key_id)
            raise UpstreamError("Could not create the API key.", code="api_key_error") from exc
        return str(key_id)

    def disable(self, key_id: str) -> None:
        try:
            self._apigw.update_api_key(
                apiKey=key_id, patchOperations=[{"op": "replace", "path": "/enabled", "value": "false"}]
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "NotFoundException":
                raise UpstreamError("Could not revoke the API key.", code="api_key_error") from exc

    def delete(self, key_id: str) -> None:
        # Best effort while undoing a half-made key: a key without a record cannot pass the app.
        with contextlib.suppress(ClientError):
            self._apigw.delete_api_key(apiKey=key_id)
