"""Everything moto-specific lives here: the in-process Lambda dispatch and the thread-list housekeeping.

moto 5.2.x's Step Functions interpreter (a port of LocalStack's) calls
`lambda_eval_utils._invoke_lambda_function(parameters, region, state_credentials)` for every
`arn:aws:states:::lambda:invoke` Task. We replace that one function so Tasks call our handlers in this
process, with the same error contract as AWS Lambda (FunctionError + {errorType, errorMessage}), which is
what drives the ASL Retry/Catch. `tests/integration/test_moto_glue.py` fails loudly if an upgrade moves it.
"""

from __future__ import annotations

import json
import logging
import traceback
from collections.abc import Callable
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
    """Patch moto's Lambda integration to dispatch in-process. Idempotent."""
    global _installed
    if _installed:
        return
    from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils

    original = lambda_eval_utils._invoke_lambda_function
    if "parameters" not in original.__code__.co_varnames:
        raise RuntimeError(
            "moto's lambda_eval_utils._invoke_lambda_function changed shape; update nexod.local.moto_glue"
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
    _cache_programs()
    _cache_json_paths()
    _installed = True


def _cache_programs(size: int = 256) -> None:
    """moto parses and preprocesses a definition at every execution start (about 30% of CPU in the bench).

    `AmazonStateLanguageParser.parse` runs ANTLR, then a Preprocessor that turns the tree into evaluation
    components, and on the way renders `ctx.getText()` into error messages for errors it never raises
    (for every state, once per nesting level). Published versions never change, so build the components
    once per definition and hand each execution a deep copy of them: the same fresh component tree the
    preprocessor would build, for a fraction of the cost, and executions still never share component
    state. Parsing runs under a lock because moto's Preprocessor keeps its query-language scope stack in
    a class attribute, which two threads preprocessing at once would interleave.
    """
    import copy
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
                programs[definition] = entry
                if len(programs) > size:
                    programs.popitem(last=False)
            else:
                programs.move_to_end(definition)
        template, tree = entry
        return copy.deepcopy(template), tree  # the template itself is never evaluated

    parser_cls.parse = staticmethod(parse)  # type: ignore[method-assign]


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


def forget_finished_threads() -> int:
    """moto keeps every execution's threads in a module-level list that never shrinks; drop dead ones."""
    from moto.stepfunctions.parser import utils

    before = len(utils.TMP_THREADS)
    utils.TMP_THREADS[:] = [t for t in utils.TMP_THREADS if t.is_alive()]
    return before - len(utils.TMP_THREADS)
