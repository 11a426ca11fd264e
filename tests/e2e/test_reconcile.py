"""The metering reconciler through the local stack: its EventBridge schedule exists and `make reconcile`
invokes the deployed function with a scheduled event."""

import json
import subprocess

from tests.e2e.conftest import REPO, local_env

COUNTS = {"pending", "settled", "released", "left"}


def test_the_schedule_targets_the_gateway_function(stack):
    function_name = stack.outputs["function_name"]
    rule_name = function_name.removesuffix("-gateway") + "-reconcile"
    events = stack.aws("events")
    assert events.describe_rule(Name=rule_name)["ScheduleExpression"] == "rate(5 minutes)"
    function_arn = stack.aws("lambda").get_function_configuration(FunctionName=function_name)["FunctionArn"]
    assert [target["Arn"] for target in events.list_targets_by_rule(Rule=rule_name)["Targets"]] == [
        function_arn
    ]


def test_make_reconcile_runs_the_reconciler_in_the_deployed_function(stack):
    ran = subprocess.run(
        ["make", "-s", "reconcile"], cwd=REPO, env=local_env(), capture_output=True, text=True, check=False
    )
    assert ran.returncode == 0, ran.stdout + ran.stderr
    prefix = f"reconcile: {stack.outputs['function_name']}: "
    line = next(line for line in ran.stdout.splitlines() if line.startswith(prefix))
    counts = json.loads(line.removeprefix(prefix))
    assert set(counts) == COUNTS
    assert all(isinstance(value, int) and value >= 0 for value in counts.values())
