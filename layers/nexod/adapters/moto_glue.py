"""Everything moto-specific lives here: the in-process Lambda dispatch, speed patches, thread housekeeping.

moto 5.2.x's Step Functions interpreter (a port of LocalStack's) calls
`lambda_eval_utils._invoke_lambda_function(parameters, region, state_credentials)` for every
`arn:aws:states:::lambda:invoke` Task. We replace that one function so Tasks call our handlers in this
process, with the same error contract as AWS Lambda (FunctionError + {errorType, errorMessage}), which is
what drives the ASL Retry/Catch.

The rest makes the interpreter cheaper without changing what it does (docs/decisions.md, "moto glue"):
one program per definition shared by its executions, compiled JSONPaths, pooled threads, and program
text rendered once. `tests/integration/test_moto_glue.py` fails first if an upgrade moves any of it.
"""

from __future__ import annotations

import contextvars
import copy
import json
import logging
import math
import queue
import threading
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

log = logging.getLogger(__name__)

MOTO_CONFIG: dict[str, Any] = {
    "stepfunctions": {"execute_state_machine": True},
    "lambda": {"use_docker": False},
}
Handler = Callable[[dict[str, Any]], Any]

_handlers: dict[str, Handler] = {}
_installed = False


def register(function_name_or_arn: str, handler: Handler) -> None:
    """Route Tasks whose FunctionName is this name or ARN to `handler(event)`."""
    _handlers[function_name_or_arn] = handler
    _handlers[function_name_or_arn.rsplit(":", 1)[-1]] = handler


def _lookup(name: str) -> Handler:
    handler = _handlers.get(name) or _handlers.get(name.rsplit(":", 1)[-1])
    if handler is None:
        raise KeyError(f"no in-process handler registered for Lambda function {name}")
    return handler


def invoke(parameters: dict[str, Any]) -> dict[str, Any]:
    """Invoke a registered handler the way Lambda would, returning Lambda's Invoke response shape."""
    handler = _lookup(str(parameters["FunctionName"]))
    raw = parameters.get("Payload") or b"{}"
    event = json.loads(raw.decode() if isinstance(raw, bytes | bytearray) else raw)
    try:
        result = handler(event)
    except Exception as exc:  # Lambda reports any exception as a function error with its class name
        return {
            "StatusCode": 200,
            "FunctionError": "Unhandled",
            "ExecutedVersion": "$LATEST",
            "Payload": {
                "errorType": type(exc).__name__,
                "errorMessage": str(exc),
                "stackTrace": traceback.format_exception(exc)[-3:],
            },
        }
    return {"StatusCode": 200, "ExecutedVersion": "$LATEST", "Payload": json.loads(json.dumps(result))}


def install() -> None:
    """Patch moto's Lambda integration to dispatch in-process, and its interpreter to run cheaper. Idempotent."""
    global _installed
    if _installed:
        return
    from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils

    original = lambda_eval_utils._invoke_lambda_function
    if "parameters" not in original.__code__.co_varnames:
        raise RuntimeError(
            "moto's lambda_eval_utils._invoke_lambda_function changed shape; update nexod.adapters.moto_glue"
        )

    def _invoke_in_process(parameters: dict[str, Any], region: str, state_credentials: Any) -> dict[str, Any]:
        return invoke(parameters)

    lambda_eval_utils._invoke_lambda_function = _invoke_in_process

    # exec_lambda_function serves Tasks whose Resource is a bare function ARN; route those too.
    def _exec_in_process(env: Any, parameters: dict[str, Any], region: str, account: str, credentials: Any) -> None:
        response = invoke(parameters)
        if response.get("FunctionError"):
            payload = json.dumps(response["Payload"], separators=(",", ":"))
            raise lambda_eval_utils.LambdaFunctionErrorException(response["FunctionError"], payload)
        env.stack.append(response)

    lambda_eval_utils.exec_lambda_function = _exec_in_process
    _allow_starting_versions()
    _wait_until_the_instant()
    _cache_programs()
    _cache_json_paths()
    _cache_event_paths()
    _pool_threads()
    _memoize_program_text()
    _fresh_token_per_attempt()
    _report_terminations()
    _cheaper_copies()
    _stop_before_start()
    _installed = True


def _cache_programs(size: int = 256) -> None:
    """moto parses and preprocesses a definition at every execution start (about 22% of the bench's CPU).

    `AmazonStateLanguageParser.parse` runs ANTLR, then a Preprocessor that turns the tree into evaluation
    components and, on the way, renders `ctx.getText()` into messages for errors it never raises (for
    every state, once per nesting level). Published versions never change, so build the components once
    per definition and let every execution evaluate the same ones. moto itself does this for a Map: all
    its iterations evaluate one component tree at once. Components keep no state of an evaluation (that
    lives in the Environment: stack, heap, frames), which `tests/integration/test_moto_glue.py` checks in
    moto's source. The one exception is the lazily drawn `heap_key` under which Retry counts attempts in
    a frame's heap: two threads drawing it at once could each get a different key, so every key is drawn
    here, before any sharing. (A deep copy per execution instead cost 25-40 ms a run.)

    Parsing runs under a lock because moto's Preprocessor keeps its query-language scope stack in a
    class attribute, which two threads preprocessing at once would interleave.
    """
    import threading
    from collections import OrderedDict

    from moto.stepfunctions.parser.asl.parse import asl_parser

    parser_cls = asl_parser.AmazonStateLanguageParser
    original = parser_cls.parse
    programs: OrderedDict[str, tuple[Any, Any]] = OrderedDict()
    lock = threading.Lock()

    def parse(definition: str) -> tuple[Any, Any]:
        with lock:
            entry = programs.get(definition)
            if entry is None:
                entry = original(definition)  # raises on a bad definition, which is then not cached
                _draw_heap_keys(entry[0])
                programs[definition] = entry
                if len(programs) > size:
                    programs.popitem(last=False)
            else:
                programs.move_to_end(definition)
        return entry

    parser_cls.parse = staticmethod(parse)  # type: ignore[method-assign]


def _draw_heap_keys(program: Any) -> int:
    """Give every evaluation component of a program its heap key now; returns how many got one."""
    from moto.stepfunctions.parser.asl.component.component import Component
    from moto.stepfunctions.parser.asl.component.eval_component import EvalComponent

    keyed = 0
    seen: set[int] = set()
    todo: list[Any] = [program]
    while todo:
        item = todo.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, EvalComponent):
            keyed += 1
            _ = item.heap_key
        if isinstance(item, Component):
            todo.extend(vars(item).values())
        elif isinstance(item, list | tuple | set | frozenset):
            todo.extend(item)
        elif isinstance(item, dict):
            todo.extend(item.values())
    return keyed


def _cache_json_paths(size: int = 4096) -> None:
    """moto compiles each JSONPath (`$.run`, `$.s.x`) with a new PLY parser at every use (~1 ms each).

    jsonpath_ng expressions are immutable once parsed (`find` and `update_or_create` only touch the
    data), so one compiled expression per path string serves every execution and thread.
    """
    import functools

    from moto.stepfunctions.parser.asl.component.common.path import result_path
    from moto.stepfunctions.parser.asl.utils import json_path

    for module in (json_path, result_path):
        compile_path = module.parse
        if not hasattr(compile_path, "cache_info"):  # already cached: install() ran before
            module.parse = functools.lru_cache(maxsize=size)(compile_path)  # type: ignore[attr-defined]


def _cache_event_paths(size: int = 256) -> None:
    """moto's EventBridge renders every event it sends to a rule's target through
    `EventTemplateParser.parse`, which compiles each of the eight JSONPaths of its input map (`$.detail`, ...)
    with a new PLY parser and lexer (~1 ms each): 15 % of the fan-out bench's samples while the Nexod bus had
    a rule. The same rendering, with each path compiled once (see `_cache_json_paths`)."""
    import functools

    from jsonpath_ng.ext.parser import parse as compile_path
    from moto.events import utils

    cls = utils.EventTemplateParser
    if getattr(cls.parse, "_nexod_cached", False):
        return
    original = cls.parse
    if not {"parse", "_stringify", "DEFAULT_EVENT_INPUT_TEMPLATE"} <= set(original.__code__.co_names):
        raise RuntimeError("moto's EventTemplateParser.parse changed shape; update nexod.adapters.moto_glue")
    compiled = functools.lru_cache(maxsize=size)(compile_path)

    def parse(input_template: str, input_paths_map: dict[str, Any], event: Any) -> dict[str, Any]:
        template = input_template or cls.DEFAULT_EVENT_INPUT_TEMPLATE
        paths = input_paths_map or cls.DEFAULT_EVENT_INPUT_PATHS_MAP
        for name in paths:
            matches = compiled(paths[name]).find(event)
            result = cls._stringify(matches[0].value) if matches else None
            if result:
                template = template.replace(f"<{name}>", result)
        defaults = {"aws.events.event.json": event, "aws.events.event.ingestion-time": event["ingestion-time"]}
        for name, value in defaults.items():
            template = template.replace(f"<{name}>", cls._stringify(value))
        rendered: dict[str, Any] = json.loads(template)
        return rendered

    parse._nexod_cached = True  # type: ignore[attr-defined]
    parse._nexod_original = original  # type: ignore[attr-defined]
    parse._nexod_compiled = compiled  # type: ignore[attr-defined]
    cls.parse = staticmethod(parse)  # type: ignore[method-assign]


# moto starts a thread per execution, per Parallel branch (two: the branch and its program), per Task
# attempt (to time it out) and per Map iteration: about 148 for the bench's 48-branch flow. Each
# `Thread.start` blocks its caller until the new thread has run, so the 48 branches of a Parallel start
# one after the other, each waiting for the GIL. `_PooledThread` keeps the calls moto makes on a
# thread and runs the target on a parked worker instead: `start` hands the work over without waiting,
# and there is always a worker for every started thread (the pool grows on demand and never queues),
# so everything moto runs in parallel, including branches that wait, still runs at the same time.
_POOL_IDLE_SECONDS = 60.0  # a worker idle this long exits, so an idle server sheds threads


class _WorkerPool:
    def __init__(self, idle_seconds: float) -> None:
        self._idle_seconds = idle_seconds
        self._lock = threading.Lock()
        self._idle: list[queue.SimpleQueue[Callable[[], None]]] = []
        self.started = 0  # worker threads ever started (tests)

    def submit(self, job: Callable[[], None]) -> None:
        with self._lock:
            inbox = self._idle.pop() if self._idle else None
            if inbox is None:
                self.started += 1
        if inbox is not None:
            inbox.put(job)
            return
        worker = threading.Thread(target=self._work, args=(job,), name="nexod-moto-worker", daemon=True)
        worker.start()

    def _work(self, job: Callable[[], None]) -> None:
        inbox: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        while True:
            job()
            with self._lock:
                self._idle.append(inbox)
            while True:
                try:
                    job = inbox.get(timeout=self._idle_seconds)
                    break
                except queue.Empty:
                    with self._lock:
                        if inbox in self._idle:
                            self._idle.remove(inbox)
                            return
                    # a submitter has just taken this worker: its job is on the way


_pool = _WorkerPool(_POOL_IDLE_SECONDS)


class _PooledThread:
    """What moto does with `threading.Thread` (start, join, is_alive, name, native_id), on a pooled worker.

    Each target runs in a fresh `contextvars.Context`, as in a new thread, so nothing set by one
    target (Powertools' logger keys, botocore's context) is seen by the next one on the same worker.
    """

    def __init__(
        self,
        group: None = None,
        target: Callable[..., object] | None = None,
        name: str | None = None,
        args: tuple[Any, ...] = (),
        kwargs: dict[str, Any] | None = None,
        *,
        daemon: bool | None = None,
    ) -> None:
        self._target = target
        self._args = args
        self._kwargs = kwargs or {}
        self.name = name or "moto-thread"
        self.daemon = True if daemon is None else daemon
        self.ident: int | None = None
        self.native_id: int | None = None
        self._started = False
        # Held from `start` until the target has run: `join` waits on it (a C lock: an Event's Condition is
        # Python code, and moto joins or polls a thread per state: ~3 % of the bench's GIL time).
        self._running = threading.Lock()

    def start(self) -> None:
        if self._started:
            raise RuntimeError("threads can only be started once")
        self._started = True
        self._running.acquire()
        _pool.submit(self._run)

    def _run(self) -> None:
        self.ident = threading.get_ident()
        self.native_id = threading.get_native_id()
        try:
            if self._target is not None:
                contextvars.Context().run(self._target, *self._args, **self._kwargs)
        except BaseException as exc:  # what threading.Thread does with an escaping exception
            threading.excepthook(threading.ExceptHookArgs((type(exc), exc, exc.__traceback__, self)))
        finally:
            self._target = None  # like Thread: drop references to the work once it is done
            self._args, self._kwargs = (), {}
            self._running.release()

    def join(self, timeout: float | None = None) -> None:
        if not self._started:
            raise RuntimeError("cannot join thread before it is started")
        if self._running.acquire(timeout=-1 if timeout is None else max(timeout, 0)):
            self._running.release()

    def is_alive(self) -> bool:
        return self._started and self._running.locked()


class _ThreadingWithPool:
    """Stands in for the `threading` module inside a moto module: `Thread` is pooled, the rest is real."""

    Thread = _PooledThread

    def __getattr__(self, name: str) -> Any:
        return getattr(threading, name)


# Where moto 5.2.5 starts threads during an execution: (module, the global it calls `Thread` through).
THREAD_SITES: tuple[tuple[str, str], ...] = (
    ("moto.stepfunctions.parser.backend.execution_worker", "Thread"),
    ("moto.stepfunctions.parser.asl.component.program.program", "threading"),
    ("moto.stepfunctions.parser.asl.component.state.exec.state_parallel.branch_worker", "threading"),
    ("moto.stepfunctions.parser.asl.component.state.exec.execute_state", "Thread"),
    ("moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_callback", "threading"),
    ("moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration.inline_iteration_component", "threading"),
)


def _pool_threads() -> None:
    import importlib

    for module_name, name in THREAD_SITES:
        module = importlib.import_module(module_name)
        current = getattr(module, name)
        if name == "Thread" and current is threading.Thread:
            setattr(module, name, _PooledThread)
        elif name == "threading" and current is threading:
            setattr(module, name, _ThreadingWithPool())
        elif current is not _PooledThread and not isinstance(current, _ThreadingWithPool):
            raise RuntimeError(f"moto's {module_name}.{name} is not threading's; update nexod.adapters.moto_glue")


def _memoize_program_text() -> None:
    """Starting a Parallel branch names its thread `f"BranchWorker_${program}"`, and a component's text
    is the repr of everything in it: 48 renderings of the branch programs per run, each thrown away.

    Programs are shared and never change once built (see `_cache_programs`), so each one's text is
    computed once and remembered: the same text, computed once.
    """
    import weakref

    from moto.stepfunctions.parser.asl.component.component import Component
    from moto.stepfunctions.parser.asl.component.program.program import Program

    if "__str__" in vars(Program):
        if getattr(Program.__str__, "_nexod_memo", False):
            return
        raise RuntimeError("moto's Program has its own __str__ now; update nexod.adapters.moto_glue")
    texts: weakref.WeakKeyDictionary[Any, str] = weakref.WeakKeyDictionary()
    render: Callable[[Any], str] = Component.__str__

    def text(self: Any) -> str:
        cached = texts.get(self)
        if cached is None:
            cached = texts[self] = render(self)
        return cached

    text._nexod_memo = True  # type: ignore[attr-defined]
    Program.__str__ = text  # type: ignore[method-assign]


def _fresh_token_per_attempt() -> None:
    """moto draws a waitForTaskToken Task's token once per state entry, so a retried attempt waits on the token
    (and the callback endpoint) of the attempt before it: already completed or interrupted, the retry ends at
    once with the previous outcome, and a timed-out attempt's waiter interrupts the next attempt's wait. Step
    Functions gives every attempt its own token. Draw a new one (and its endpoint) for each retry."""
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
        resource,
        state_task_service_callback,
    )

    cls = state_task_service_callback.StateTaskServiceCallback
    if getattr(cls._eval_execution, "_nexod_fresh_token", False):
        return
    if "_eval_execution" in vars(cls):
        raise RuntimeError(
            "moto's StateTaskServiceCallback has its own _eval_execution now; update nexod.adapters.moto_glue"
        )
    original = cls._eval_execution
    wait_for_token = resource.ResourceCondition.WaitForTaskToken

    def _eval_execution(self: Any, env: Any) -> None:
        context = env.states.context_object.context_object_data
        retrying = (context.get("State") or {}).get("RetryCount", 0) > 0
        if (
            retrying
            and self.resource.condition == wait_for_token
            and wait_for_token in self._supported_integration_patterns
        ):
            env.callback_pool_manager.add(env.states.context_object.update_task_token())
        original(self, env)

    _eval_execution._nexod_fresh_token = True  # type: ignore[attr-defined]
    cls._eval_execution = _eval_execution  # type: ignore[method-assign]


_STOP_LOCK = threading.Lock()


def _stop_before_start() -> None:
    """moto's StopExecution reaches `ExecutionWorker.stop`, which calls `self.env.set_stop`. The worker builds
    `env` on its own (pooled) thread, then the program names its first state and enters its body. A stop
    before `env` exists raises AttributeError on None (a 500 from a cancel sent the instant a run started); one
    before the program runs is ignored (the execution runs on); one after it runs but before the body is
    entered prunes the body, so the execution ends ABORTED without its ExecutionAborted event. Step Functions
    has no such window. A stop that comes before the body is entered is remembered and applied as it is
    entered: the execution never enters its first state and ends ABORTED, with its event."""
    from moto.stepfunctions.parser.asl.eval.environment import Environment
    from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker

    if getattr(ExecutionWorker.stop, "_nexod_early_stop", False):
        return
    for name in ("stop", "_get_evaluation_environment"):
        if name not in vars(ExecutionWorker):
            raise RuntimeError(f"moto's ExecutionWorker has no {name} of its own now; update nexod.adapters.moto_glue")
    field = vars(Environment).get("next_field_name")
    if not isinstance(field, property) or field.fset is None:
        raise RuntimeError("moto's Environment.next_field_name changed shape; update nexod.adapters.moto_glue")
    original_stop = ExecutionWorker.stop
    original_env = ExecutionWorker._get_evaluation_environment
    set_field = field.fset

    def stop(self: Any, stop_date: datetime, error: str | None, cause: str | None) -> None:
        with _STOP_LOCK:
            env = self.env
            if env is None:
                self._nexod_pending_stop = (stop_date, error, cause)
                return
            if "_nexod_entered" not in env.__dict__:
                env._nexod_pending_stop = (stop_date, error, cause)
                return
        original_stop(self, stop_date, error, cause)

    def _get_evaluation_environment(self: Any) -> Any:
        env: Any = original_env(self)
        with _STOP_LOCK:
            self.env = env  # what `_execution_logic` assigns next: a later stop finds it
            pending = self.__dict__.pop("_nexod_pending_stop", None)
            if pending is not None:
                env._nexod_pending_stop = pending
        return env

    def next_field_name(self: Any, name: str) -> None:
        # Every component sets its field name as it enters its body: the program first, then each state.
        set_field(self, name)
        if "_nexod_entered" in self.__dict__:
            return
        with _STOP_LOCK:
            self._nexod_entered = True
            pending = self.__dict__.pop("_nexod_pending_stop", None)
        if pending is not None:
            stop_date, error, cause = pending
            self.set_stop(stop_date=stop_date, cause=cause, error=error)

    stop._nexod_early_stop = True  # type: ignore[attr-defined]
    ExecutionWorker.stop = stop  # type: ignore[method-assign]
    ExecutionWorker._get_evaluation_environment = _get_evaluation_environment  # type: ignore[method-assign]
    Environment.next_field_name = property(field.fget, next_field_name)  # type: ignore[method-assign,assignment]


def _allow_starting_versions() -> None:
    """moto 5.2.x cannot StartExecution on a version ARN (AWS can, and Nexod runs versions).

    Its parser looks up the version, then calls `_handle_name_input_idempotency`, which only the base
    state machine has, and files the execution under the version, where DescribeExecution (which finds
    state machines by name) never looks. Give versions that method and the base's execution list.
    """
    from moto.stepfunctions.models import StateMachine, StateMachineVersion

    if not hasattr(StateMachineVersion, "_handle_name_input_idempotency"):
        StateMachineVersion._handle_name_input_idempotency = (  # type: ignore[attr-defined]
            StateMachine._handle_name_input_idempotency
        )
    original_publish = StateMachine.publish

    def publish(self: Any, description: str | None) -> None:
        original_publish(self, description)
        self.latest_version.executions = self.executions
        self.latest_version.backend = self.backend  # the parser deep-copies with the backend memoised

    StateMachine.publish = publish  # type: ignore[method-assign]


# The modules of moto's interpreter that deep-copy state values (JSON documents) as they pass between states.
_COPYING_MODULES = (
    "moto.stepfunctions.parser.asl.eval.states",
    "moto.stepfunctions.parser.asl.eval.environment",
    "moto.stepfunctions.parser.asl.component.state.exec.execute_state",
    "moto.stepfunctions.parser.asl.component.common.string.string_expression",
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service",
)


def copy_json(value: Any, memo: Any = None) -> Any:
    """`copy.deepcopy` for JSON documents (dicts, lists, strings, numbers, booleans, None): the same result
    several times faster; anything else falls back to `copy.deepcopy`."""
    kind = type(value)
    if kind is dict:
        return {k: copy_json(v) for k, v in value.items()}
    if kind is list:
        return [copy_json(v) for v in value]
    if kind is str or kind is int or kind is float or kind is bool or value is None:
        return value
    return copy.deepcopy(value, memo)


class _JsonCopy:
    """Stands for the `copy` module inside moto's interpreter modules: `deepcopy` is `copy_json`."""

    deepcopy = staticmethod(copy_json)

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)


def _cheaper_copies() -> None:
    """moto deep-copies a state's input as it enters and leaves every state, the context for every Parallel
    branch, and the input a second time only to write it into the history event: a fifth of the fan-out
    benchmark's CPU (decisions.md, 2026-11-26). The values are JSON documents: copy them as such, and
    serialize the history events' input and output without copying it first."""
    import importlib

    from moto.stepfunctions.parser.api import HistoryEventExecutionDataDetails, StateEnteredEventDetails
    from moto.stepfunctions.parser.asl.component.state.state import CommonStateField
    from moto.stepfunctions.parser.asl.utils.encoding import to_json_str

    for name in _COPYING_MODULES:
        module = importlib.import_module(name)
        if getattr(module, "copy", None) is not copy and not isinstance(getattr(module, "copy", None), _JsonCopy):
            raise RuntimeError(f"{name} no longer copies with the copy module; update nexod.adapters.moto_glue")
        module.copy = _JsonCopy()  # type: ignore[attr-defined]

    def entered(self: Any, env: Any) -> Any:
        return StateEnteredEventDetails(
            name=self.name,
            input=to_json_str(env.states._states_data["input"], separators=(",", ":")),
            inputDetails=HistoryEventExecutionDataDetails(truncated=False),
        )

    CommonStateField._get_state_entered_event_details = entered  # type: ignore[method-assign]


EndListener = Callable[[str, str], None]
_end_listeners: list[EndListener] = []


def on_execution_end(listener: EndListener) -> Callable[[], None]:
    """Call `listener(execution_arn, status)` when any execution ends; returns the function that removes it.

    The listener runs on the execution's own worker thread right after moto recorded the final status:
    hand the work to another thread rather than doing it there.
    """
    _end_listeners.append(listener)
    return lambda: _end_listeners.remove(listener) if listener in _end_listeners else None


def _report_terminations() -> None:
    """moto's interpreter reports an execution's end to its `ExecutionWorkerCommunication.terminated`;
    tell our listeners too, so that local mode learns of an end without polling DescribeExecution (a
    boto3 round trip through moto's serializers: 14 % of the fan-out benchmark's CPU when it polled)."""
    from moto.stepfunctions.parser.backend.execution import BaseExecutionWorkerCommunication

    original = BaseExecutionWorkerCommunication.terminated

    def terminated(self: Any) -> None:
        original(self)
        execution = self.execution
        status = execution.exec_status.value if execution.exec_status is not None else "FAILED"
        for listener in list(_end_listeners):
            try:
                listener(str(execution.exec_arn), str(status))
            except Exception:
                log.exception("execution end listener failed")

    BaseExecutionWorkerCommunication.terminated = terminated  # type: ignore[method-assign]


def _wait_until_the_instant() -> None:
    """moto 5.2.x's Wait `Timestamp`/`TimestampPath` subtracts the local wall clock (`datetime.now()`, naive)
    from the UTC instant and truncates: on a machine whose clock is not in UTC a wait ends hours off, and
    everywhere up to a second early. AWS waits until the instant: compare with UTC and round up."""
    from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import FailureEventException
    from moto.stepfunctions.parser.asl.component.state.wait.wait_function import timestamp

    cls = timestamp.Timestamp
    if not all(hasattr(cls, name) for name in ("_get_wait_seconds", "_from_timestamp_string", "_create_failure_event")):
        raise RuntimeError("moto's Wait Timestamp changed shape; update nexod.adapters.moto_glue")

    def _get_wait_seconds(self: Any, env: Any) -> int:
        self.string.eval(env=env)
        text = env.stack.pop()
        instant = self._from_timestamp_string(timestamp=text)
        if instant is None:
            raise FailureEventException(self._create_failure_event(env, text))
        left: float = (instant.replace(tzinfo=UTC) - datetime.now(UTC)).total_seconds()
        return max(0, math.ceil(left))

    _get_wait_seconds.__qualname__ = "nexod_wait_until_the_instant"
    cls._get_wait_seconds = _get_wait_seconds  # type: ignore[method-assign]


def forget_finished_threads() -> int:
    """moto keeps every execution's threads in a module-level list that never shrinks; drop dead ones."""
    from moto.stepfunctions.parser import utils

    before = len(utils.TMP_THREADS)
    utils.TMP_THREADS[:] = [t for t in utils.TMP_THREADS if t.is_alive()]
    return before - len(utils.TMP_THREADS)


def queue_is_empty(queue_url: str, region: str) -> bool:
    """True when moto's SQS queue at `queue_url` holds no message at all: none visible, in flight or delayed.

    A poller asks this before ReceiveMessage, a boto3 round trip through moto's serializers (~1 ms of CPU)
    that would find nothing: with no message held, moto's `receive_message` returns none and changes
    nothing (it only ever acts on held messages: receive, hide, move to the DLQ). An unknown queue, or a
    moto whose queue keeps its messages elsewhere, answers False, so the caller receives as before.
    """
    from moto.sqs.models import sqs_backends

    parts = queue_url.rstrip("/").rsplit("/", 2)
    if len(parts) != 3:
        return False
    _, account, name = parts
    try:
        queue = sqs_backends[account][region].queues.get(name)
    except (KeyError, ValueError):
        return False
    held = getattr(queue, "_messages", None)
    return isinstance(held, list) and not held
