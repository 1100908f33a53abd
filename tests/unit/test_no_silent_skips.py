"""Under CI=true no test goes missing quietly: every kind of skip fails, and says why."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SKIPPING = """
import pytest
from tests.support.ci import require_module, require_tool

def test_plain_skip():
    pytest.skip("no reason at all")

@pytest.mark.skipif(True, reason="a condition")
def test_skipif():
    pass

@pytest.fixture
def needs_a_tool():
    require_tool("no-such-tool-on-any-path", "apt-get install it")

def test_tool(needs_a_tool):
    pass

def test_module():
    require_module("no_such_module_anywhere")

def test_runs():
    pass
"""
SKIPPING_AT_IMPORT = 'import pytest\npytest.importorskip("no_such_module_anywhere")\ndef test_x():\n    pass\n'


def run(tmp_path: Path, ci: str | None, source: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "conftest.py").write_text(
        "from tests.conftest import pytest_make_collect_report, pytest_runtest_makereport\n"
    )
    (tmp_path / "test_skips.py").write_text(source)
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    if ci is not None:
        env["CI"] = ci
    env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"  # hypothesis and schemathesis plugins cost seconds per run
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "layers"), str(ROOT), env.get("PYTHONPATH", "")])
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rA", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        check=False,
        timeout=120,
    )


def test_on_a_developer_machine_missing_things_skip(tmp_path: Path):
    # Given tests that skip in every way a test can, When run without CI
    done = run(tmp_path, None, SKIPPING)
    # Then they skip, naming what is missing
    assert done.returncode == 0, done.stdout
    assert "4 skipped" in done.stdout and "1 passed" in done.stdout
    assert "no-such-tool-on-any-path is not on PATH: apt-get install it" in done.stdout


@pytest.mark.parametrize("ci", ["true", "TRUE", "1"])
def test_under_ci_every_skip_fails_naming_its_reason(tmp_path: Path, ci: str):
    # Given the same tests, When run with CI set
    done = run(tmp_path, ci, SKIPPING)
    # Then none of them is skipped: each fails (or errors, for a skip raised while setting up) with its reason
    assert done.returncode == 1, done.stdout
    assert "skipped" not in done.stdout.splitlines()[-1] and "1 passed" in done.stdout
    for reason in ("no reason at all", "a condition", "no-such-tool-on-any-path", "no_such_module_anywhere"):
        assert reason in done.stdout


def test_under_ci_a_module_skipped_at_import_fails(tmp_path: Path):
    done = run(tmp_path, "true", SKIPPING_AT_IMPORT)
    assert done.returncode != 0 and "skipped under CI=true" in done.stdout and "no_such_module_anywhere" in done.stdout
