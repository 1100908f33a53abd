"""The layer rules (import-linter contracts in pyproject.toml) fail on a violation, not only pass today.

Each test lints a copy of `nexod` and `functions` in a temporary folder, with one deliberate violation
written into the copy: a contract that could not see the copy (or checked nothing) would pass it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    shutil.copytree(
        REPO / "layers" / "nexod", tmp_path / "layers" / "nexod", ignore=shutil.ignore_patterns("__pycache__")
    )
    shutil.copytree(REPO / "functions", tmp_path / "functions", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy2(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def lint(root: Path) -> subprocess.CompletedProcess[str]:
    assert LINT_IMPORTS.exists(), "import-linter is not installed: pip install the dev extra"
    # The copy first on the path: the installed (editable) `nexod` must not be what gets analysed.
    env = {**os.environ, "PYTHONPATH": f"{root / 'layers'}{os.pathsep}{root}"}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--no-logo", str(root / "pyproject.toml")],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_the_project_keeps_every_contract(project: Path) -> None:
    # Given an unmodified copy of the project
    # When it is linted
    done = lint(project)
    # Then every contract is kept, and there are contracts to keep
    assert done.returncode == 0, done.stdout + done.stderr
    assert "5 kept, 0 broken" in done.stdout


@pytest.mark.parametrize(
    ("module", "source", "contract"),
    [
        ("layers/nexod/domain/_bad.py", "from nexod.adapters.postgres import uow\n", "The domain imports no"),
        ("layers/nexod/domain/_bad.py", "import boto3\n", "The domain imports no"),
        ("layers/nexod/domain/_bad.py", "from nexod.services import runs\n", "The domain imports no"),
        ("layers/nexod/services/_bad.py", "from nexod.adapters import stepfunctions\n", "Services, runtime and the"),
        ("layers/nexod/runtime/_bad.py", "from nexod.adapters.postgres import uow\n", "Services, runtime and the"),
        ("layers/nexod/local/_bad.py", "from nexod.testing import stub_llm\n", "Shipped code imports no test"),
    ],
)
def test_a_forbidden_import_fails_lint(project: Path, module: str, source: str, contract: str) -> None:
    # Given a new module that imports across a layer rule
    (project / module).write_text(f'"""A deliberate violation."""\n\n{source}')
    # When the copy is linted
    done = lint(project)
    # Then lint fails, naming the broken contract and the offending module
    assert done.returncode != 0
    broken = done.stdout.split("Broken contracts", 1)[-1]
    assert contract in broken and "_bad" in broken, done.stdout


def test_the_log_context_importing_powertools_fails_lint(project: Path) -> None:
    # Given nexod.observability (the runtime's log context and usage meter) importing Powertools
    observability = project / "layers" / "nexod" / "observability.py"
    observability.write_text(observability.read_text() + "\nimport aws_lambda_powertools  # noqa: E402\n")
    # When the copy is linted
    done = lint(project)
    # Then the contract that keeps it technology-free is broken
    assert done.returncode != 0
    broken = done.stdout.split("Broken contracts", 1)[-1]
    assert "nexod.observability -> aws_lambda_powertools" in broken, done.stdout


def test_routes_importing_the_handler_again_is_a_cycle(project: Path) -> None:
    # Given routes that import the handler that includes them (the cycle this contract was added for)
    routes = project / "functions" / "api" / "routes.py"
    routes.write_text(
        routes.read_text() + "\n\ndef _cycle() -> object:\n    from .handler import app\n\n    return app\n"
    )
    # When the copy is linted
    done = lint(project)
    # Then the acyclic contract is broken, naming the two siblings
    assert done.returncode != 0
    broken = done.stdout.split("Broken contracts", 1)[-1]
    assert "No import cycles" in broken and ".routes -> .handler" in broken, done.stdout


def test_every_shipped_module_is_a_source_of_the_testing_contract() -> None:
    # Given the contract that keeps `nexod.testing` out of shipped code, and the package as it is
    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    (contract,) = [c for c in config if c["id"] == "testing-not-shipped"]
    package = REPO / "layers" / "nexod"
    top = {p.stem for p in package.iterdir() if p.suffix == ".py" and p.stem != "__init__"}
    top |= {p.name for p in package.iterdir() if (p / "__init__.py").is_file()}
    # When / Then a module added to `nexod` is covered as soon as it exists (listed, or it is `testing`)
    assert {f"nexod.{name}" for name in top - {"testing"}} <= set(contract["source_modules"])
