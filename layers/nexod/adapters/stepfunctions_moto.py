"""The `Orchestrator` adapter of local mode: the deployed ASL executed by moto's Step Functions interpreter,
in this process (the moto-specific patches are in `moto_glue`)."""

from __future__ import annotations

import logging
import queue
import threading
import time
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
        poll_seconds: float = 5.0,
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
        # Ends reported before `start` registered the execution (a fast one), by ARN; few and short-lived.
        self._early: dict[str, str] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._poll = poll_seconds
        self._ends: queue.SimpleQueue[tuple[str, str] | None] = queue.SimpleQueue()
        self._unlisten = moto_glue.on_execution_end(lambda arn, status: self._ends.put((arn, status)))
        self._watcher = threading.Thread(target=self._watch, name="nexod-execution-watcher", daemon=True)
        self._watcher.start()

    def start(self, target_arn: str, execution_name: str, payload: dict[str, Any]) -> str:
        arn = super().start(target_arn, execution_name, payload)
        with self._lock:
            self._watched[arn] = None
            status = self._early.pop(arn, None)
        if status is not None:
            self._ends.put((arn, status))
        return arn

    def delete_version(self, version_arn: str) -> None:
        """moto 5.2.5 has no DeleteStateMachineVersion, and keeps machines in memory only: a swept test snapshot's
        version is gone at the next start of local mode (which replays only the versions still stored)."""

    def wait(self, execution_arn: str, timeout: float = 60.0) -> str:
        """Block until an execution ends (tests and the benchmark)."""
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
        """Calls `on_end` once per execution this adapter started, when moto reports its end; every
        `poll_seconds` it also asks moto about the executions still watched, in case an end went unreported
        (moto reset under us in tests)."""
        deadline = time.monotonic() + self._poll
        while not self._stop.is_set():
            try:
                item = self._ends.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                item = None
                deadline = time.monotonic() + self._poll
                self._poll_watched()
            if item is None:
                continue
            arn, status = item
            with self._lock:
                if arn in self._watched:
                    del self._watched[arn]
                else:
                    self._early[arn] = status
                    if len(self._early) > 1000:  # ends of executions someone else started: forget the oldest
                        self._early.pop(next(iter(self._early)))
                    continue
            self._ended(arn, status)

    def _poll_watched(self) -> None:
        with self._lock:
            arns = list(self._watched)
        for arn in arns:
            try:
                status = self.status(arn)
            except Exception:  # moto reset under us (tests): forget it
                status = "ABORTED"
            if status in TERMINAL:
                with self._lock:
                    if self._watched.pop(arn, "gone") == "gone":
                        continue  # its end was reported meanwhile
                self._ended(arn, status)

    def _ended(self, arn: str, status: str) -> None:
        moto_glue.forget_finished_threads()
        if self._on_end:
            try:
                self._on_end(arn, status)
            except Exception:
                log.exception("execution end hook failed for %s", arn)

    def close(self) -> None:
        self._stop.set()
        self._unlisten()
        self._ends.put(None)
        self._watcher.join(timeout=2)
        self._mock.stop()
