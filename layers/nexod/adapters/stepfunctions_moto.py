"""The `Orchestrator` adapter of local mode: the deployed ASL executed by moto's Step Functions interpreter,
in this process (the moto-specific patches are in `moto_glue`)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

import boto3

from . import moto_glue
from .stepfunctions import StepFunctionsOrchestrator

log = logging.getLogger(__name__)
TERMINAL = ("SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED")
EndHook = Callable[[str, str], None]


class MotoStepFunctionsOrchestrator(StepFunctionsOrchestrator):
    """Same adapter as in AWS, pointed at moto; Lambda Tasks dispatch to in-process handlers.

    `on_end(execution_arn, status)` is called once per execution that ends, like the EventBridge
    "Execution Status Change" events the AWS deployment subscribes to.
    """

    def __init__(
        self,
        handlers: dict[str, moto_glue.Handler],
        role_arn: str,
        region: str = "us-east-1",
        on_end: EndHook | None = None,
        poll_seconds: float = 0.5,
    ) -> None:
        from moto import mock_aws

        # moto logs every failed state as a multi-kilobyte ERROR; node failures are recorded in node_runs.
        logging.getLogger("moto.stepfunctions.parser").setLevel(logging.CRITICAL)
        self._mock = mock_aws(config=moto_glue.MOTO_CONFIG)  # type: ignore[call-overload]
        self._mock.start()
        moto_glue.install()
        for name, handler in handlers.items():
            moto_glue.register(name, handler)
        client = boto3.client(
            "stepfunctions",
            region_name=region,
            aws_access_key_id="local",
            aws_secret_access_key="local",  # noqa: S106 - moto, in-process only
        )
        super().__init__(client, role_arn)
        self._on_end = on_end
        self._watched: dict[str, None] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._poll = poll_seconds
        self._watcher = threading.Thread(target=self._watch, name="nexod-execution-watcher", daemon=True)
        self._watcher.start()

    def start(self, target_arn: str, execution_name: str, payload: dict[str, Any]) -> str:
        arn = super().start(target_arn, execution_name, payload)
        with self._lock:
            self._watched[arn] = None
        return arn

    def wait(self, execution_arn: str, timeout: float = 60.0) -> str:
        """Block until an execution ends (tests and the benchmark)."""
        import time

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status = self.status(execution_arn)
            if status in TERMINAL:
                return status
            time.sleep(0.01)
        raise TimeoutError(f"execution {execution_arn} still running after {timeout}s")

    def history_transitions(self, execution_arn: str) -> int:
        """State transitions billed by Step Functions Standard: one per state entered."""
        events = self.client.get_execution_history(executionArn=execution_arn, maxResults=1000)["events"]
        return sum(1 for e in events if e["type"].endswith("StateEntered"))

    def _watch(self) -> None:
        while not self._stop.wait(self._poll):
            with self._lock:
                arns = list(self._watched)
            for arn in arns:
                try:
                    status = self.status(arn)
                except Exception:  # moto reset under us (tests): forget it
                    status = "ABORTED"
                if status in TERMINAL:
                    with self._lock:
                        self._watched.pop(arn, None)
                    if self._on_end:
                        try:
                            self._on_end(arn, status)
                        except Exception:
                            log.exception("execution end hook failed for %s", arn)
            moto_glue.forget_finished_threads()

    def close(self) -> None:
        self._stop.set()
        self._watcher.join(timeout=2)
        self._mock.stop()
