"""Fixtures shared by every suite: the OpenAI-compatible stub and a whole local stack."""

from __future__ import annotations

import os
from collections.abc import Generator, Iterator
from pathlib import Path

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
