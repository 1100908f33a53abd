"""Who a log line is about, and what a node's model calls spent: context variables, standard library only.

Every composition root binds the workspace, run and node it works for with `log_context(...)`; a
`LogContextFilter` on a logging handler copies them onto each record that handler writes (Powertools'
JSON formatter in Lambda prints record attributes as keys; local mode's text format prints
`%(log_context)s`). Context variables, not logger-wide keys: local mode runs many nodes at once on
threads, and a key appended to a shared logger would name another thread's node.

`MeteredLLM` wraps the `LLM` port so the node-runner root can report tokens and cost per node run
(`metered()`) without the runtime knowing that anyone counts.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field, replace

from .ports import LLM, Completion, ProviderKey

LOG_KEYS = ("workspace_id", "run_id", "node_id")


@dataclass(frozen=True)
class LogContext:
    workspace_id: str | None = None
    run_id: str | None = None
    node_id: str | None = None

    def fields(self) -> dict[str, str]:
        """The ids that are known, by log key."""
        return {key: value for key in LOG_KEYS if (value := getattr(self, key))}


_LOG_CONTEXT: ContextVar[LogContext] = ContextVar("nexod_log_context", default=LogContext())  # noqa: B039 - frozen


@contextmanager
def log_context(
    *, workspace_id: str | None = None, run_id: str | None = None, node_id: str | None = None
) -> Iterator[LogContext]:
    """Add ids to the current context (an unknown id keeps what an outer scope knew) until the block ends."""
    known = {k: v for k, v in (("workspace_id", workspace_id), ("run_id", run_id), ("node_id", node_id)) if v}
    token = _LOG_CONTEXT.set(replace(_LOG_CONTEXT.get(), **known))
    try:
        yield _LOG_CONTEXT.get()
    finally:
        _LOG_CONTEXT.reset(token)


def current_log_context() -> LogContext:
    return _LOG_CONTEXT.get()


class LogContextFilter(logging.Filter):
    """Copies the current ids onto every record (keys a caller passed in `extra=` win).

    With `text`, also `log_context`: the ids as ` workspace_id=… run_id=… node_id=…` (or ""), for a
    text format string; a JSON formatter prints the separate keys and needs no copy of them."""

    def __init__(self, text: bool = False) -> None:
        super().__init__()
        self.text = text

    def filter(self, record: logging.LogRecord) -> bool:
        known = current_log_context().fields()
        for key, value in known.items():
            if not hasattr(record, key):
                setattr(record, key, value)
        if self.text and not hasattr(record, "log_context"):
            record.log_context = "".join(f" {key}={value}" for key, value in known.items())
        return True


def install_log_context(*handlers: logging.Handler, text: bool = False) -> None:
    """Put the filter on these handlers once (a filter on a handler sees records of every logger)."""
    for handler in handlers:
        if not any(isinstance(f, LogContextFilter) for f in handler.filters):
            handler.addFilter(LogContextFilter(text))


# -- what a node's model calls spent ----------------------------------------------------------------
@dataclass
class Usage:
    calls: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0
    models: list[str] = field(default_factory=list)

    def add(self, completion: Completion) -> None:
        self.calls += 1
        self.tokens_in += completion.tokens_in
        self.tokens_out += completion.tokens_out
        self.cost_usd += completion.cost_usd
        if completion.model not in self.models:
            self.models.append(completion.model)


_USAGE: ContextVar[Usage | None] = ContextVar("nexod_llm_usage", default=None)


@contextmanager
def metered() -> Iterator[Usage]:
    """Count the model calls made in this block (on this thread) into the yielded `Usage`."""
    usage = Usage()
    token = _USAGE.set(usage)
    try:
        yield usage
    finally:
        _USAGE.reset(token)


class MeteredLLM:
    """The `LLM` port, counting each completion into the open `metered()` block, if any."""

    def __init__(self, inner: LLM) -> None:
        self.inner = inner

    def complete(
        self,
        *,
        model: str,
        system: str | None,
        prompt: str,
        temperature: float,
        max_tokens: int | None,
        json_mode: bool,
        timeout: float,
        credentials: ProviderKey | None = None,
    ) -> Completion:
        completion = self.inner.complete(
            model=model,
            system=system,
            prompt=prompt,
            temperature=temperature,
            max_tokens=max_tokens,
            json_mode=json_mode,
            timeout=timeout,
            credentials=credentials,
        )
        usage = _USAGE.get()
        if usage is not None:
            usage.add(completion)
        return completion
