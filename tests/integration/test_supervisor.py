"""The supervisor of `nexod up`, with real child processes: proven before ready, restarted with backoff,
and a failure that says why (signal or exit code, and where the log is)."""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from nexod.local.model import OfflineDefaultLLM, OfflineModel
from nexod.local.supervisor import Backoff, ChildProcess, Supervisor, describe_exit
from nexod.runtime.errors import NodeRetryableError
from nexod.services.health import HealthBoard
from tests.e2e.launcher import ROOT, free_port


class FakeChild(ChildProcess):
    def __init__(self, name: str, mode: str, log_file: Path) -> None:
        super().__init__(log_file)
        self.name = name
        self.mode = mode
        self.port = free_port()

    def argv(self) -> list[str]:
        return [sys.executable, "-m", "tests.support.fake_child", self.mode, str(self.port)]

    def env(self) -> dict[str, str]:
        return {**os.environ, "PYTHONPATH": str(ROOT)}

    def prove(self, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.check()
                return f"{self.mode} answered"
            except OSError:
                if self.exit_reason() or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def check(self) -> None:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/health", timeout=1) as resp:
            assert json.loads(resp.read())["status"] == "ok"


def wait_for(board: HealthBoard, name: str, status: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while (part := board.get(name)) is None or part.status != status:
        assert time.monotonic() < deadline, f"{name} never became {status}: {board.get(name)}"
        time.sleep(0.02)


@pytest.fixture
def supervisor():
    board = HealthBoard()
    sup = Supervisor(board, poll_seconds=0.05, check_seconds=0.2, prove_timeout=10, backoff=Backoff(0.2, 1))
    yield sup
    sup.stop()


def test_a_child_that_crashes_with_sigill_is_failed_with_the_signal_and_its_log(supervisor, tmp_path, caplog):
    # Given a child that dies of SIGILL at its first request, as llama.cpp's source build did
    child = FakeChild("model", "sigill", tmp_path / "model.log")
    caplog.set_level(logging.ERROR, logger="nexod.local.supervisor")
    # When the supervisor starts and proves it
    supervisor.supervise(child)
    supervisor.wait_first_outcome(["model"], timeout=20)
    # Then it is failed, says SIGILL and where its log is, and the log's last lines were logged
    health = supervisor.board.get("model")
    assert health is not None and health.status == "failed"
    assert "SIGILL" in health.detail and str(tmp_path / "model.log") in health.detail
    assert "about to run an instruction this CPU refuses" in caplog.text
    # And it keeps being retried with backoff, staying failed (no flapping) while it does
    deadline = time.monotonic() + 20
    while "restarting" not in (health := supervisor.board.get("model")).detail:  # type: ignore[union-attr]
        assert time.monotonic() < deadline
        time.sleep(0.02)
    assert health.status == "failed" and "SIGILL" in health.detail


def test_a_killed_child_is_reported_failed_then_restarted_and_ready(supervisor, tmp_path):
    # Given a healthy child
    child = FakeChild("worker", "ok", tmp_path / "worker.log")
    supervisor.supervise(child)
    wait_for(supervisor.board, "worker", "ready")
    first_pid = child.pid
    # When it is killed
    os.kill(first_pid, signal.SIGKILL)  # type: ignore[arg-type]
    # Then the board says failed with the signal, then ready again with one restart and a new process
    wait_for(supervisor.board, "worker", "failed")
    assert "SIGKILL" in supervisor.board.get("worker").detail  # type: ignore[union-attr]
    wait_for(supervisor.board, "worker", "ready")
    assert supervisor.board.get("worker").restarts == 1  # type: ignore[union-attr]
    assert child.pid != first_pid


def test_a_child_that_stops_answering_is_killed_and_restarted(supervisor, tmp_path):
    # Given a child that answers its proof, then hangs on every health check
    child = FakeChild("hung", "hang", tmp_path / "hung.log")
    supervisor.supervise(child)
    wait_for(supervisor.board, "hung", "ready")
    first_pid = child.pid
    # When three checks in a row fail
    wait_for(supervisor.board, "hung", "failed", timeout=30)
    # Then it was declared unresponsive and a new process replaced it
    assert "stopped answering health checks" in supervisor.board.get("hung").detail  # type: ignore[union-attr]
    wait_for(supervisor.board, "hung", "ready", timeout=30)
    assert child.pid != first_pid


def test_an_exit_code_is_reported_as_such(supervisor, tmp_path):
    # Given a child that exits with code 3 as it starts
    supervisor.supervise(FakeChild("loader", "exit3", tmp_path / "loader.log"))
    # When its first start has an outcome
    supervisor.wait_first_outcome(["loader"], timeout=20)
    # Then the reason is the exit code
    assert "exited with code 3" in supervisor.board.get("loader").detail  # type: ignore[union-attr]


def test_describe_exit_names_signals_and_codes():
    assert "SIGILL" in describe_exit(-signal.SIGILL) and "illegal instruction" in describe_exit(-signal.SIGILL)
    assert describe_exit(-signal.SIGTERM) == "was stopped by SIGTERM"
    assert describe_exit(2) == "exited with code 2"


class NeverCalled:
    def complete(self, **_: object) -> object:
        raise AssertionError("only model 'default' was asked for")


def test_an_llm_node_on_a_dead_offline_model_fails_with_what_happened_and_where_the_log_is(tmp_path):
    # Given the offline model's board entry after it crashed with SIGILL
    board = HealthBoard()
    log_file = tmp_path / "logs" / "model.log"
    board.report("model", "failed", f"{describe_exit(-signal.SIGILL)}; see {log_file}")
    llm = OfflineDefaultLLM(OfflineModel(log_file), board, NeverCalled())  # type: ignore[arg-type]
    # When an llm node asks for model 'default'
    with pytest.raises(NodeRetryableError) as failure:
        llm.complete(model="default", system=None, prompt="hi", temperature=0, max_tokens=5, json_mode=False, timeout=5)
    # Then the message says the model is not running, why, and where its log is
    message = failure.value.message
    assert "the offline model is not running: it crashed with SIGILL" in message
    assert str(log_file) in message
