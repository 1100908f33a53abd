"""The moto-specific glue. If a moto upgrade moves what we patch, these fail first and say where."""

from __future__ import annotations

import inspect
import json

import boto3
import pytest
from moto import mock_aws

from nexod.local import moto_glue

ARN = "arn:aws:lambda:us-east-1:123456789012:function:glue-probe"


def test_the_patched_function_still_exists_with_its_signature():
    from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils

    assert hasattr(lambda_eval_utils, "_invoke_lambda_function"), "moto moved _invoke_lambda_function"
    assert hasattr(lambda_eval_utils, "LambdaFunctionErrorException")
    from moto.stepfunctions.models import StateMachine

    assert "description" in inspect.signature(StateMachine.publish).parameters
    from moto.stepfunctions.parser import utils

    assert isinstance(utils.TMP_THREADS, list), "moto's execution thread list moved"


def test_tasks_dispatch_in_process_and_retry_on_function_errors():
    # Given a handler that fails twice with a retryable error, then succeeds
    calls: list[dict] = []

    class Flaky(Exception):
        pass

    def handler(event: dict) -> dict:
        calls.append(event)
        if len(calls) < 3:
            raise Flaky("not yet")
        return {"take": {"ok": True}}

    asl = {
        "StartAt": "probe",
        "States": {
            "probe": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": ARN, "Payload": {"x.$": "$.x"}},
                "ResultSelector": {"take.$": "$.Payload.take"},
                "Retry": [{"ErrorEquals": ["Flaky"], "IntervalSeconds": 1, "MaxAttempts": 3, "BackoffRate": 1}],
                "End": True,
            }
        },
    }
    with mock_aws(config=moto_glue.MOTO_CONFIG):
        moto_glue.install()
        moto_glue.register(ARN, handler)
        sfn = boto3.client("stepfunctions", region_name="us-east-1")
        sm = sfn.create_state_machine(
            name="glue-probe",
            definition=json.dumps(asl),
            roleArn="arn:aws:iam::123456789012:role/r",
            publish=True,
        )
        # When an execution of the published *version* runs
        arn = sfn.start_execution(stateMachineArn=sm["stateMachineVersionArn"], name="e1", input=json.dumps({"x": 7}))[
            "executionArn"
        ]
        import time

        for _ in range(200):
            desc = sfn.describe_execution(executionArn=arn)
            if desc["status"] != "RUNNING":
                break
            time.sleep(0.05)
    # Then the handler ran in-process three times and the retry policy drove it
    assert desc["status"] == "SUCCEEDED", desc
    assert json.loads(desc["output"]) == {"take": {"ok": True}}
    assert [c["x"] for c in calls] == [7, 7, 7]


def test_unknown_functions_fail_the_task_clearly():
    with pytest.raises(KeyError, match="no in-process handler"):
        moto_glue.invoke({"FunctionName": "arn:aws:lambda:us-east-1:1:function:nobody", "Payload": b"{}"})
