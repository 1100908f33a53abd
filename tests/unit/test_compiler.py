"""Compiling flows to ASL: structure, and golden examples kept in statemachines/golden/."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from nexod.domain.compiler import FINISH, RUN_FAILED, compile_flow, substitute
from nexod.domain.nodes import Runtime
from nexod.domain.validation import validate
from tests.support.ci import in_ci

from .flows import demo_flow, edge, fan_out, node

GOLDEN = Path(__file__).resolve().parents[2] / "statemachines" / "golden"
EXAMPLES = Path(__file__).resolve().parents[2] / "statemachines" / "examples"


def compiled(doc: dict) -> dict:
    return compile_flow(validate(doc)).asl


def golden_cases() -> dict[str, dict]:
    diamond_not_sp = {  # N-shaped DAG: a->c, a->d, b->d with a, b parallel: not series-parallel
        "nodes": [
            node("start", "input"),
            node("a"),
            node("b"),
            node("c"),
            node("d"),
            node("result", "output"),
        ],
        "edges": [
            edge("start", "a"),
            edge("start", "b"),
            edge("a", "c"),
            edge("a", "d"),
            edge("b", "d"),
            edge("c", "result"),
            edge("d", "result"),
        ],
    }
    retrying = {
        "nodes": [
            node("start", "input"),
            {
                "id": "call",
                "type": "http",
                "config": {"url": "https://example.com"},
                "retry": {
                    "max_attempts": 4,
                    "interval_seconds": 3,
                    "backoff_rate": 1.5,
                    "max_delay_seconds": 30,
                },
                "timeout_seconds": 45,
                "on_error": "continue",
            },
            node("pause", "wait", seconds=5),
            node("result", "output"),
        ],
        "edges": [edge("start", "call"), edge("call", "pause"), edge("pause", "result")],
    }
    cases = {
        "demo_branching": demo_flow(),
        "fan_out_5": fan_out(5),
        "not_series_parallel": diamond_not_sp,
        "retry_wait_continue": retrying,
    }
    for example in sorted(EXAMPLES.glob("*.json")):
        text = example.read_text().replace("{{BASE_URL}}", "http://localhost:8000")
        cases[f"example_{example.stem}"] = json.loads(text)["definition"]
    return cases


UPDATE_FLAG = "NEXOD_UPDATE_GOLDEN"


def updating_golden() -> bool:
    """Golden files are written only when a developer asks for it, and never in CI (where they are checked)."""
    if os.environ.get(UPDATE_FLAG) != "1":
        return False
    if in_ci():
        pytest.fail(f"{UPDATE_FLAG}=1 under CI=true: golden files are reviewed and committed, not regenerated")
    return True


@pytest.mark.parametrize("name", sorted(golden_cases()))
def test_golden_asl(name: str):
    # Given a flow whose compiled ASL is reviewed and kept in the repository
    asl = compiled(golden_cases()[name])
    path = GOLDEN / f"{name}.asl.json"
    text = json.dumps(asl, indent=2, sort_keys=True) + "\n"
    if updating_golden():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    # When compiled again / Then the output is byte-identical (compilation is deterministic)
    assert path.exists(), f"{path.name} is missing: run with {UPDATE_FLAG}=1, review the file, commit it"
    assert path.read_text() == text, f"{name} changed: rerun with {UPDATE_FLAG}=1 if intended, review the diff"


def test_every_golden_file_belongs_to_a_case():
    # A golden file whose case was renamed or removed would be checked by nothing (and validated as if current).
    orphans = {p.name.removesuffix(".asl.json") for p in GOLDEN.glob("*.asl.json")} - set(golden_cases())
    assert orphans == set(), f"golden files without a case: {sorted(orphans)}"


def test_a_missing_golden_file_fails_unless_an_update_is_asked_for(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    # Given a case whose golden file does not exist
    monkeypatch.setattr(sys.modules[__name__], "GOLDEN", tmp_path)
    name = sorted(golden_cases())[0]
    monkeypatch.delenv(UPDATE_FLAG, raising=False)
    # When the golden test runs without the flag, Then it fails and writes nothing
    with pytest.raises(AssertionError, match="is missing"):
        test_golden_asl(name)
    assert list(tmp_path.iterdir()) == []
    # When the flag is set outside CI, Then the file is written and the test passes
    monkeypatch.setenv(UPDATE_FLAG, "1")
    monkeypatch.setenv("CI", "false")
    test_golden_asl(name)
    assert (tmp_path / f"{name}.asl.json").exists()
    # When the flag is set under CI, Then the test fails instead of regenerating
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="under CI=true"):
        test_golden_asl(name)


def test_state_names_are_node_ids_and_bookkeeping_states_use_dashes():
    # Given the demo flow
    states = compiled(demo_flow())["States"]
    # Then states are node ids plus bookkeeping states whose names a node id cannot take
    assert {"fetch", "check", "summarise", "fallback", "result", FINISH, RUN_FAILED, "failed"} == {
        n for n in states if "-" not in n or n in (FINISH, RUN_FAILED)
    }
    assert all(n.split("-", 1)[0] in ("gate", "skip", "finish", "run", "wait") for n in states if "-" in n)
    assert states["failed"]["Type"] == "Fail"


def test_the_input_node_has_no_state_it_is_recorded_with_the_run():
    flow = validate(demo_flow())
    result = compile_flow(flow)
    assert result.inline_entry == "start" and "start" not in result.asl["States"]
    assert result.asl["StartAt"] == "fetch"


def test_true_false_arms_of_one_condition_run_in_sequence_not_in_parallel():
    # Given a condition whose true and false arms join again: at most one arm can ever run
    asl = compiled(demo_flow())
    states = asl["States"]
    # Then no Parallel is spent on them: the gates follow each other
    assert not any(s["Type"] == "Parallel" for s in states.values())
    assert states["check"]["Next"] == "gate-summarise"
    assert states["gate-summarise"]["Choices"][0] == {
        "Variable": "$.s.check.take.summarise",
        "BooleanEquals": True,
        "Next": "summarise",
    }
    assert states["summarise"]["Next"] == states["skip-summarise"]["Next"] == "gate-fallback"
    # And the join runs if either arm ran
    assert {c["Variable"] for c in states["gate-result"]["Choices"][0]["Or"]} == {
        "$.s.summarise.take.result",
        "$.s.fallback.take.result",
    }


def test_conditional_branches_that_may_both_run_stay_parallel():
    # Given two expression conditions on the input: both may be true
    doc = {
        "nodes": [node("start", "input"), node("a"), node("b"), node("result", "output")],
        "edges": [
            edge("start", "a", "input.x"),
            edge("start", "b", "input.y"),
            edge("a", "result"),
            edge("b", "result"),
        ],
    }
    asl = compiled(doc)
    fork = asl["States"][asl["StartAt"]]
    # Then they run as Parallel branches, each gated on the input node's decisions (seeded by the API)
    assert fork["Type"] == "Parallel"
    assert [b["StartAt"] for b in fork["Branches"]] == ["gate-a", "gate-b"]
    assert fork["Branches"][0]["States"]["gate-a"]["Choices"][0]["Variable"] == "$.s.start.take.a"
    # And the Parallel rebuilds the decisions the join reads from the branch that made them
    assert fork["ResultSelector"] == {"a.$": "$[0].s.a", "b.$": "$[1].s.b", "start.$": "$[0].s.start"}


def test_the_last_node_records_the_run_end_when_it_always_runs():
    asl = compiled(fan_out(3))
    states = asl["States"]
    assert FINISH not in states
    assert states["result"]["Parameters"]["Payload"]["finish"] is True and states["result"]["End"] is True
    assert {"ErrorEquals": ["RunFinishError"], "IntervalSeconds": 1, "MaxAttempts": 5, "BackoffRate": 2.0} in states[
        "result"
    ]["Retry"]


def test_unconditional_flows_carry_no_node_state():
    # Given a fan-out without conditions
    asl = compiled(fan_out(3))
    # Then no Task writes into the state and the Parallel discards its branch outputs
    tasks = [
        s
        for s in asl["States"].values()
        if s["Type"] == "Task" and s.get("Parameters", {}).get("Payload", {}).get("node")
    ]
    assert all(t["ResultPath"] is None for t in tasks)
    assert asl["States"]["fork-1"]["ResultPath"] is None
    assert len(asl["States"]["fork-1"]["Branches"]) == 3


def test_non_series_parallel_dags_fall_back_to_layers():
    asl = compiled(golden_cases()["not_series_parallel"])
    fork = asl["States"][asl["StartAt"]]
    # Then a and b form the first layer, c and d the second
    assert [b["StartAt"] for b in fork["Branches"]] == ["a", "b"]
    second = asl["States"][fork["Next"]]
    assert [b["StartAt"] for b in second["Branches"]] == ["c", "d"]


def test_retry_timeout_and_catch_come_from_the_node_policy():
    states = compiled(golden_cases()["retry_wait_continue"])["States"]
    call = states["call"]
    assert call["TimeoutSeconds"] == 45
    assert {
        "ErrorEquals": ["NodeRetryableError", "States.Timeout"],
        "IntervalSeconds": 3,
        "MaxAttempts": 4,
        "BackoffRate": 1.5,
        "MaxDelaySeconds": 30,
    } in call["Retry"]
    # on_error=continue: a failure is caught and the flow continues without the node
    assert call["Catch"] == [{"ErrorEquals": ["States.ALL"], "ResultPath": None, "Next": "failed-call"}]
    assert states["failed-call"]["Next"] == "gate-pause"
    # wait nodes: a Task answers when the wait ends (only that instant enters the state), then a native Wait
    # until then (no compute billed), then their bookkeeping task
    assert states["pause"]["Parameters"]["Payload"] == {
        "run.$": "$.run",
        "exec.$": "$$.Execution.Id",
        "op": "until",
        "node": "pause",
    }
    assert (states["pause"]["ResultSelector"], states["pause"]["ResultPath"]) == (
        {"until.$": "$.Payload.until"},
        "$.until",
    )
    assert states["pause"]["Next"] == "wait-pause"
    assert states["wait-pause"] == {
        "Type": "Wait",
        "Comment": "wait node",
        "TimestampPath": "$.until.until",
        "Next": "done-pause",
    }
    assert states["done-pause"]["Parameters"]["Payload"]["node"] == "pause"
    assert '"Seconds"' not in json.dumps(states)  # the instant is computed at run time, once


CORE_ARN = "arn:aws:lambda:eu-west-1:1:function:runner"
LLM_ARN = "arn:aws:lambda:eu-west-1:1:function:llm-runner"


def _function_names(states: dict) -> dict[str, str]:
    """Task state name -> the function it invokes, in every branch."""
    found = {}
    for name, state in states.items():
        if state["Type"] == "Task":
            found[name] = state["Parameters"]["FunctionName"]
        for branch in state.get("Branches", ()):
            found |= _function_names(branch["States"])
    return found


def test_each_task_targets_the_runner_of_its_kind_s_runtime():
    # Given the demo flow: http, condition, llm, transform, output (and the run's bookkeeping tasks)
    # When it is compiled
    targets = _function_names(compiled(demo_flow())["States"])
    # Then only the llm node invokes the LLM runner; every other Task, bookkeeping included, the core runner
    assert {name for name, fn in targets.items() if fn == "${LlmRunnerArn}"} == {"summarise"}
    assert {name for name, fn in targets.items() if fn == "${NodeRunnerArn}"} == set(targets) - {"summarise"}
    assert RUN_FAILED in targets


def test_runner_placeholders_are_substituted_at_publish():
    # Given a compiled flow with core and llm Tasks
    # When it is published with each runtime's function ARN
    asl = substitute(compiled(demo_flow()), {Runtime.CORE: CORE_ARN, Runtime.LLM: LLM_ARN})
    # Then no placeholder is left, and each Task names its runtime's function
    assert "RunnerArn}" not in json.dumps(asl)
    targets = _function_names(asl["States"])
    assert targets["fetch"] == CORE_ARN and targets["summarise"] == LLM_ARN


def test_substitution_refuses_a_definition_naming_a_runner_it_has_no_arn_for():
    # Given a compiled flow with an llm Task, and only the core runner's ARN
    asl = compiled(demo_flow())
    # When it is substituted / Then it is refused, naming the missing placeholder
    with pytest.raises(ValueError, match=r"\$\{LlmRunnerArn\}"):
        substitute(asl, {Runtime.CORE: CORE_ARN})
    # While a flow without llm nodes needs only the core runner
    only_core = compiled({"nodes": [node("start", "input"), node("end", "output")], "edges": [edge("start", "end")]})
    assert "RunnerArn}" not in json.dumps(substitute(only_core, {Runtime.CORE: CORE_ARN}))


def test_a_500_node_flow_compiles_within_the_definition_size_limit():
    asl = compiled(fan_out(498))
    assert len(json.dumps(asl, separators=(",", ":"))) < 1_000_000  # Step Functions' 1 MB definition limit


def test_a_flow_that_cannot_fail_has_no_unreachable_failure_states():
    # Given a flow whose only task continues on error (found by the structural property test)
    doc = {
        "nodes": [node("start", "input"), {**node("only"), "on_error": "continue"}],
        "edges": [edge("start", "only")],
    }
    # When compiled
    states = compiled(doc)["States"]
    # Then no state records a run failure that nothing can reach (Step Functions refuses unreachable states)
    assert states["only"]["Catch"][0]["Next"] == "failed-only"
    assert RUN_FAILED not in states and "failed" not in states
    assert set(states) == {"only", "failed-only", FINISH}


def test_an_llm_task_retries_the_gateway_s_retryable_errors_by_their_class_names():
    import nexod.runtime.errors as errors

    # Given a flow with an llm node
    asl = compiled(
        {"nodes": [node("start", "input"), node("ask", "llm", prompt="hi")], "edges": [edge("start", "ask")]}
    )
    # Then its Task's node retry names each retryable LLM error, since Step Functions matches the exact type
    retry = asl["States"]["ask"]["Retry"][-1]
    assert retry["ErrorEquals"] == ["NodeRetryableError", "LLMTimeout", "LLMProviderError", "States.Timeout"]
    # And a rate limit is caught first into a wait loop: parse the Cause, Wait as told, run the Task again
    catch = asl["States"]["ask"]["Catch"]
    assert catch[0] == {"ErrorEquals": ["LLMRateLimited"], "ResultPath": "$.waiting", "Next": "wait-cause-ask"}
    assert catch[1]["ErrorEquals"] == ["States.ALL"]
    assert asl["States"]["wait-ask"]["SecondsPath"] == "$.waiting.told.wait_seconds"
    assert asl["States"]["wait-ask"]["Next"] == "ask"
    # And every retryable LLM error in the errors module is either retried or waited for; the others neither
    llm_retryable = {
        name
        for name, cls in vars(errors).items()
        if name.startswith("LLM") and isinstance(cls, type) and issubclass(cls, errors.NodeRetryableError)
    }
    assert llm_retryable == {*retry["ErrorEquals"][1:-1], "LLMRateLimited"}
    assert "LLMBadRequest" not in retry["ErrorEquals"] and "BudgetExceeded" not in retry["ErrorEquals"]
