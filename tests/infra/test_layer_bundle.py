"""What the core Lambda layer ships of the `nexod` package: everything but test doubles and benchmark helpers.

Checked on the copy the bundler makes (no pip, no synth); `test_deployment_rules.py` checks the synthesized
asset as well.
"""

from __future__ import annotations

from pathlib import Path

from nexod_cdk import bundling
from nexod_cdk import constants as c


def test_the_core_layer_copy_of_nexod_leaves_out_nexod_testing(tmp_path: Path) -> None:
    # Given the package source, which holds the test doubles today
    assert (c.LAYER_SOURCE_DIR / "testing" / "stub_llm.py").is_file()
    # When the bundler copies `nexod` into a layer
    bundling.copy_layer_source(tmp_path / "python" / "nexod")
    # Then the layer has the shipped packages and no `nexod/testing`, nor caches
    shipped = tmp_path / "python" / "nexod"
    assert (shipped / "domain" / "compiler.py").is_file() and (shipped / "local" / "platform.py").is_file()
    assert not (shipped / "testing").exists()
    assert not list(shipped.rglob("__pycache__"))


def test_editing_a_test_double_does_not_change_the_layer_hash() -> None:
    # Given the files the core layer's asset hash reads
    files = bundling._source_files()
    # When / Then none of them is under nexod/testing, so editing one never redeploys the layer
    assert any(p.name == "compiler.py" for p in files)
    assert not [p for p in files if "testing" in p.relative_to(c.REPO_ROOT).parts]
