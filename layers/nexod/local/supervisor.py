"""Supervision of what `nexod up` owns: prove each part works before it is announced, watch it, restart it.

Each `Supervised` part runs in a thread of its own:

    starting -- start() + prove() --> ready -- poll exit_reason(), check() every few seconds --> ...
                    ^                                 |
                    +-- backoff (1 s, 2 s, ... 60 s) -- failed (why: signal or exit code, its log's tail)

A part that failed stays `failed` (its detail says it is restarting) until it proves itself again.

`prove()` is a real request (the offline model answers a completion, Postgres a query), so "ready" means
it answered, not that a process exists. Three failed checks in a row count as a crash (a hung process
is killed and started again). The backoff starts over once a part has stayed up for a minute.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from ..services.health import HealthBoard

log = logging.getLogger(__name__)
STABLE_AFTER_SECONDS = 60.0


class Supervised(Protocol):
    name: str
    log_file: Path | None

    def start(self) -> None:
        """(Re)start the part. Raises when it cannot even begin."""

    def prove(self, timeout: float) -> str:
        """A real request; returns a short description of what answered. Raises with the reason."""

    def check(self) -> None:
        """A cheap periodic check. Raises with the reason."""

    def exit_reason(self) -> str | None:
        """None while the part runs; otherwise why it stopped ("crashed with SIGILL ...")."""

    def stop(self) -> None: ...


def describe_exit(returncode: int) -> str:
    """Words for a process's end: a signal by name (with what SIGILL means here) or the exit code."""
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        if name == "SIGILL":
            return "crashed with SIGILL (illegal instruction: this CPU refused an instruction the binary used)"
        if name == "SIGKILL":
            return "was killed (SIGKILL)"
        if name == "SIGSEGV":
            return "crashed with SIGSEGV (segmentation fault)"
        return f"was stopped by {name}"
    return f"exited with code {returncode}"


def tail(path: Path | None, lines: int = 8, max_bytes: int = 16_384) -> str:
    """The last lines of a log file (bounded read), or '' when there is none."""
    if path is None or not path.exists():
        return ""
    with path.open("rb") as f:
        f.seek(0, os.SEEK_END)
        size = f.tell()
        f.seek(max(0, size - max_bytes))
        data = f.read().decode("utf-8", errors="replace")
    return "\n".join(data.strip().splitlines()[-lines:])


class Backoff:
    def __init__(self, first: float = 1.0, cap: float = 60.0) -> None:
        self.first, self.cap = first, cap

    def delay(self, attempt: int) -> float:
        return float(min(self.cap, self.first * (2 ** min(attempt, 16))))


class Supervisor:
    def __init__(
        self,
        board: HealthBoard,
        *,
        poll_seconds: float = 0.25,
        check_seconds: float = 5.0,
        prove_timeout: float = 120.0,
        failed_checks_before_restart: int = 3,
        backoff: Backoff | None = None,
    ) -> None:
        self.board = board
        self.poll_seconds = poll_seconds
        self.check_seconds = check_seconds
        self.prove_timeout = prove_timeout
        self.failed_checks_before_restart = failed_checks_before_restart
        self.backoff = backoff or Backoff()
        self._stopping = threading.Event()
        self._parts: dict[str, Supervised] = {}
        self._first_outcome: dict[str, threading.Event] = {}
        self._threads: list[threading.Thread] = []

    def supervise(self, part: Supervised) -> None:
        """Start `part` in its own thread and keep it running until `stop()`."""
        self._parts[part.name] = part
        self._first_outcome[part.name] = threading.Event()
        self.board.report(part.name, "starting", "starting")
        thread = threading.Thread(target=self._run, args=(part,), name=f"supervise-{part.name}", daemon=True)
        self._threads.append(thread)
        thread.start()

    def wait_first_outcome(self, names: Sequence[str], timeout: float) -> None:
        """Block until each named part is ready or has failed its first start (or the timeout passes)."""
        deadline = time.monotonic() + timeout
        for name in names:
            self._first_outcome[name].wait(max(0.0, deadline - time.monotonic()))

    def stop(self) -> None:
        self._stopping.set()
        for part in self._parts.values():
            try:
                part.stop()
            except Exception:
                log.exception("stopping %s", part.name)
        for thread in self._threads:
            thread.join(timeout=15)

    # -- one part's life -----------------------------------------------------------------------------
    def _run(self, part: Supervised) -> None:
        attempt = 0
        restarts = 0
        reason = ""
        while not self._stopping.is_set():
            if reason:  # a part that failed stays `failed` until it proves itself again: no flapping
                previous = self.board.get(part.name)
                detail = previous.detail if previous else reason
                self.board.report(part.name, "failed", f"{detail} (restarting, attempt {restarts})", restarts=restarts)
            else:
                self.board.report(part.name, "starting", "starting", restarts=restarts)
            try:
                part.start()
                what = part.prove(self.prove_timeout)
            except Exception as exc:
                reason = self._settled_exit_reason(part) or f"did not start: {exc}"
                self._failed(part, reason, restarts)
                self._first_outcome[part.name].set()
                part.stop()
                if self._stopping.wait(self.backoff.delay(attempt)):
                    return
                attempt += 1
                restarts += 1
                continue
            self.board.report(part.name, "ready", what, restarts=restarts)
            self._first_outcome[part.name].set()
            up_since = time.monotonic()
            reason = self._watch(part)
            if self._stopping.is_set():
                return
            self._failed(part, reason, restarts)
            part.stop()
            if time.monotonic() - up_since > STABLE_AFTER_SECONDS:
                attempt = 0
            if self._stopping.wait(self.backoff.delay(attempt)):
                return
            attempt += 1
            restarts += 1

    def _watch(self, part: Supervised) -> str:
        """Return why the part stopped being healthy (only returns when it did, or on stop)."""
        failures = 0
        next_check = time.monotonic() + self.check_seconds
        while not self._stopping.wait(self.poll_seconds):
            reason = part.exit_reason()
            if reason:
                return reason
            if time.monotonic() < next_check:
                continue
            next_check = time.monotonic() + self.check_seconds
            try:
                part.check()
            except Exception as exc:
                failures += 1
                log.warning("%s failed a health check (%d in a row): %s", part.name, failures, exc)
                if failures >= self.failed_checks_before_restart:
                    return f"stopped answering health checks ({exc})"
            else:
                failures = 0
                self.board.checked(part.name)
        return "stopped"

    def _settled_exit_reason(self, part: Supervised, within: float = 1.0) -> str | None:
        """A probe that failed because the process died races its reaping: give the exit a moment."""
        deadline = time.monotonic() + within
        while True:
            reason = part.exit_reason()
            if reason or time.monotonic() >= deadline:
                return reason
            time.sleep(0.05)

    def _failed(self, part: Supervised, reason: str, restarts: int) -> None:
        where = f"; see {part.log_file}" if part.log_file else ""
        self.board.report(part.name, "failed", f"{reason}{where}", restarts=restarts)
        last = tail(part.log_file)
        log.error("%s %s%s%s", part.name, reason, where, f"; last lines:\n{last}" if last else "")


class ChildProcess:
    """A supervised subprocess whose output goes to its own log file. Subclasses give argv and probes."""

    name = "child"

    def __init__(self, log_file: Path) -> None:
        self.log_file: Path | None = log_file
        self.process: subprocess.Popen[bytes] | None = None

    def argv(self) -> list[str]:
        raise NotImplementedError

    def env(self) -> dict[str, str] | None:
        return None

    def start(self) -> None:
        assert self.log_file is not None
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        with self.log_file.open("ab") as sink:
            sink.write(f"\n--- {time.strftime('%Y-%m-%d %H:%M:%S')} starting {self.name} ---\n".encode())
            sink.flush()
            self.process = subprocess.Popen(  # noqa: S603 - argv built by us, never from user input
                self.argv(),
                stdout=sink,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=self.env(),
            )

    def exit_reason(self) -> str | None:
        if self.process is None:
            return None
        code = self.process.poll()
        return None if code is None else describe_exit(code)

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None
