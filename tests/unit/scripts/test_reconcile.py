import io
import json

import pytest

from scripts import reconcile


class _Lambda:
    def __init__(self, payload, function_error=None):
        self.payload, self.function_error, self.calls = payload, function_error, []

    def invoke(self, **kwargs):
        self.calls.append(kwargs)
        response = {"Payload": io.BytesIO(json.dumps(self.payload).encode()), "StatusCode": 200}
        if self.function_error:
            response["FunctionError"] = self.function_error
        return response


def test_the_reconciler_is_invoked_with_the_event_its_schedule_sends():
    client = _Lambda({"pending": 2, "settled": 1, "released": 1, "left": 0})
    assert reconcile.invoke_reconciler(client, "gw-gateway") == {
        "pending": 2,
        "settled": 1,
        "released": 1,
        "left": 0,
    }
    (call,) = client.calls
    assert call["FunctionName"] == "gw-gateway"
    assert call["InvocationType"] == "RequestResponse"
    event = json.loads(call["Payload"])
    # what the handler recognises as its schedule (gateway.main.is_scheduled_event)
    from gateway.main import is_scheduled_event

    assert is_scheduled_event(event)


def test_a_failed_invocation_is_a_one_line_error():
    client = _Lambda({"errorMessage": "boom"}, function_error="Unhandled")
    with pytest.raises(SystemExit, match=r"reconcile: gw-gateway failed: .*boom"):
        reconcile.invoke_reconciler(client, "gw-gateway")


def test_no_stack_is_a_reconcile_error_not_an_admin_one(monkeypatch, tmp_path):
    monkeypatch.setenv("LOCAL_AWS_DIR", str(tmp_path))
    with pytest.raises(SystemExit, match=r"^reconcile: no local stack"):
        reconcile.main(["--env", "local"])
