"""API Gateway usage plans and API keys: the gateway applies their throttle and quota before the app runs."""

import contextlib
import threading
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from gateway.aws import client, error_code
from gateway.errors import UpstreamError

# The tag that marks API Gateway keys and usage plans as this API's (value: the REST API id).
API_TAG = "gateway-api"


@dataclass(frozen=True)
class ApiStage:
    api_id: str
    stage: str


class ApiGatewayKeys:
    def __init__(self, usage_plan_name: str) -> None:
        self._usage_plan_name = usage_plan_name
        self._usage_plan_id: str | None = None
        self._stage: ApiStage | None = None
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

    def default_stage(self) -> ApiStage:
        """The API stage the default plan covers (once per process): bot plans go on the same stage."""
        if self._stage is None:
            try:
                stages = self._apigw.get_usage_plan(usagePlanId=self.usage_plan_id()).get("apiStages") or []
            except ClientError as exc:
                raise UpstreamError("Could not read the API's usage plan.", code="usage_plan_error") from exc
            if not stages:
                raise UpstreamError("The API's usage plan covers no stage.", code="usage_plan_missing")
            self._stage = ApiStage(api_id=stages[0]["apiId"], stage=stages[0]["stage"])
        return self._stage

    def _tags(self, extra: dict[str, str] | None) -> dict[str, str]:
        # Every key and plan made here names this API: the function's IAM policy allows it those only.
        return {**(extra or {}), API_TAG: self.default_stage().api_id}

    def create(
        self,
        name: str,
        value: str,
        description: str,
        usage_plan_id: str | None = None,
        tags: dict[str, str] | None = None,
    ) -> str:
        """Create an enabled key with the given value in a usage plan (the default one unless named)."""
        plan_id = usage_plan_id or self.usage_plan_id()
        try:
            key_id = self._apigw.create_api_key(
                name=name, value=value, enabled=True, description=description, tags=self._tags(tags)
            )["id"]
        except ClientError as exc:
            raise UpstreamError("Could not create the API key.", code="api_key_error") from exc
        try:
            self._apigw.create_usage_plan_key(usagePlanId=plan_id, keyId=key_id, keyType="API_KEY")
        except ClientError as exc:
            self.delete(key_id)
            raise UpstreamError("Could not create the API key.", code="api_key_error") from exc
        return str(key_id)

    def create_usage_plan(
        self,
        name: str,
        stage: ApiStage,
        throttle: dict[str, Any],
        quota: dict[str, Any],
        tags: dict[str, str],
    ) -> str:
        try:
            plan = self._apigw.create_usage_plan(
                name=name,
                description="Throttle and quota of a published bot",
                apiStages=[{"apiId": stage.api_id, "stage": stage.stage}],
                throttle=throttle,
                quota=quota,
                tags=self._tags(tags),
            )
        except ClientError as exc:
            raise UpstreamError("Could not create the usage plan.", code="usage_plan_error") from exc
        return str(plan["id"])

    def delete_usage_plan(self, usage_plan_id: str, stage: ApiStage) -> None:
        """Detach the stage (API Gateway refuses to delete a plan that still has one), then delete."""
        try:
            self._apigw.update_usage_plan(
                usagePlanId=usage_plan_id,
                patchOperations=[
                    {"op": "remove", "path": "/apiStages", "value": f"{stage.api_id}:{stage.stage}"}
                ],
            )
            self._apigw.delete_usage_plan(usagePlanId=usage_plan_id)
        except ClientError as exc:
            if error_code(exc) != "NotFoundException":
                raise UpstreamError("Could not delete the usage plan.", code="usage_plan_error") from exc

    def usage(self, usage_plan_id: str, first_day: str, last_day: str) -> dict[str, Any] | None:
        """Requests used and left per key and day, as API Gateway counts them; None where it cannot say."""
        try:
            response = self._apigw.get_usage(usagePlanId=usage_plan_id, startDate=first_day, endDate=last_day)
        except ClientError:
            return None
        return {
            "start_date": response.get("startDate"),
            "end_date": response.get("endDate"),
            "items": response.get("items") or {},
        }

    def disable(self, key_id: str) -> None:
        try:
            self._apigw.update_api_key(
                apiKey=key_id, patchOperations=[{"op": "replace", "path": "/enabled", "value": "false"}]
            )
        except ClientError as exc:
            if error_code(exc) != "NotFoundException":
                raise UpstreamError("Could not revoke the API key.", code="api_key_error") from exc

    def delete(self, key_id: str) -> None:
        # Best effort while undoing a half-made key: a key without a record cannot pass the app.
        with contextlib.suppress(ClientError):
            self._apigw.delete_api_key(apiKey=key_id)
