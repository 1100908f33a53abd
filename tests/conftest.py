"""Fixtures shared by every suite: the OpenAI-compatible stub and a whole local stack."""

from __future__ import annotations

import os
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

import pytest

from nexod.testing.stub_llm import OpenAIStub
from tests.support.ci import in_ci

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")
for key in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY", "MISTRAL_API_KEY", "GROQ_API_KEY"):
    os.environ.pop(key, None)  # tests never reach a real provider


@pytest.fixture(scope="session")
def openai_stub() -> Iterator[OpenAIStub]:
    with OpenAIStub() as stub:
        yield stub


# -- no silent skips under CI ---------------------------------------------------------------------------
# Whatever raised the skip (pytest.skip, skipif, importorskip, a skip marker, at collection or in a
# fixture), under CI=true it is reported as a failure naming the reason. tests/support/ci.py fails
# earlier with a better message; this catches every other way a test can go quietly missing.
def _fail_skip_in_ci(report: pytest.CollectReport | pytest.TestReport) -> None:
    if report.skipped and in_ci() and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"skipped under CI=true, which fails instead: {reason}"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, pytest.TestReport]:
    report = yield
    _fail_skip_in_ci(report)
    return report


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Generator[None, pytest.CollectReport]:
    report = yield
    _fail_skip_in_ci(report)
    return report


# -- parallel runs (`make test` runs pytest-xdist with --dist loadgroup) --------------------------------
# Each worker is a process of its own with its own basetemp (tmp_path_factory): its own embedded Postgres,
# local stack, moto backends, `nexod up` and state folders, and every server binds port 0. What workers do
# share is the checkout and the two cores, so each test belongs to exactly one group, and a group runs on
# one worker, in collection order:
# - "e2e": every test of tests/e2e. Their `nexod up` loads the offline model (llama.cpp on 2 threads): three
#   at once on 2 cores starved each other past the 180 s start deadline (measured 2026-11-26). And the
#   console README test reinstalls and rebuilds frontend/ (`npm ci`, `npm run build`, `gen:api`) under the
#   console tests' Chromium and the checkout test's `git status`; tests/unit/test_api_schema.py joins them,
#   as it runs frontend/node_modules' openapi-typescript;
# - "cdk": the CDK tests share one synthesis of both profiles per worker (tests/infra/conftest.py), so they
#   all run where it was made;
# - any other test file is one group, so its module-scoped fixtures are built once.
# The groups are given to xdist's scheduler directly: `xdist_group` marks do nothing with pytest 9.2 and
# pytest-xdist 3.8.0 (xdist renames `item._nodeid`, which pytest 9.2 no longer reads).
E2E_GROUP = ("tests/e2e/", "tests/unit/test_api_schema.py")
CDK_GROUP = ("tests/infra/",)


def xdist_group_of(nodeid: str) -> str:
    if nodeid.startswith(E2E_GROUP):
        return "e2e"
    if nodeid.startswith(CDK_GROUP):
        return "cdk"
    return nodeid.split("::", 1)[0]


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    if config.getoption("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class ByGroup(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return xdist_group_of(nodeid)

    return ByGroup(config, log)
