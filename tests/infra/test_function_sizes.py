"""Each Lambda function's unzipped size (its code asset and its layers), measured on the synthesized assets:
the functions without LiteLLM stay small, and every function fits Lambda's 250 MB limit."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from .conftest import PROFILES, Synth

pytestmark = pytest.mark.infra


@pytest.mark.parametrize("profile", PROFILES)
def test_the_api_the_core_runner_and_the_agent_launcher_stay_under_50_mb_and_every_function_under_lambda_s_limit(
    synth: Synth, profile: str
) -> None:
    from nexod_cdk import constants as c
    from nexod_cdk.sizes import LAMBDA_UNZIPPED_LIMIT_BYTES, MB, function_sizes

    # Given the app's functions as synthesized, with their staged code and layer assets
    sizes = {f.logical_id: f for f in function_sizes(synth.outdir, synth.template(profile, "App"), "Runtime")}
    by_handler = {f.handler: f for f in sizes.values()}
    # When each is measured as Lambda unzips it (code + layers)
    api, core = by_handler[c.API_HANDLER], by_handler[c.NODE_RUNNER_HANDLER]
    llm = by_handler[c.LLM_RUNNER_HANDLER]
    launcher, broker = by_handler[c.AGENT_LAUNCHER_HANDLER], by_handler[c.BROKER_HANDLER]
    # Then the functions without LiteLLM are under the small-function cap (the launcher: no crewai, no LiteLLM)
    for small in (api, core, launcher):
        assert small.total_bytes <= c.SMALL_FUNCTION_CAP_MB * MB, (small.logical_id, small.total_mb)
        assert len(small.layers) == 1, small.layers
    # And every function fits Lambda's limit, the LLM runner included (it alone carries the LLM layer)
    assert len(sizes) == 10  # + the Reminders function, the run starter and the SQS ingress consumer
    for fn in sizes.values():
        assert fn.total_bytes <= LAMBDA_UNZIPPED_LIMIT_BYTES, (fn.logical_id, fn.total_mb)
    assert len(llm.layers) == 2 and llm.total_bytes > core.total_bytes + 50 * MB, (llm.total_mb, core.total_mb)
    # And the broker, which is the agents' LLM gateway, carries the LLM layer like the LLM runner
    assert broker.layers == llm.layers


def test_a_function_s_size_is_its_code_plus_the_layers_it_names(tmp_path: Path) -> None:
    from nexod_cdk.sizes import function_sizes

    # Given a cloud assembly with one code asset and two layer assets, one of them unused
    for name, files in {
        "code": {"h.py": 10},
        "core": {"python/a.py": 100, "python/b/c.so": 1000},
        "llm": {"x": 5},
    }.items():
        for rel, size in files.items():
            path = tmp_path / f"asset.{name}" / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(b"x" * size)
    template: dict[str, Any] = {
        "Resources": {
            "Fn": {
                "Type": "AWS::Lambda::Function",
                "Properties": {
                    "Handler": "h.handler",
                    "Code": {"S3Key": "code.zip"},
                    "Layers": [{"Ref": "Core"}],
                },
            },
            "Core": {"Type": "AWS::Lambda::LayerVersion", "Properties": {"Content": {"S3Key": "core.zip"}}},
            "Llm": {"Type": "AWS::Lambda::LayerVersion", "Properties": {"Content": {"S3Key": "llm.zip"}}},
            "Inline": {"Type": "AWS::Lambda::Function", "Properties": {"Code": {"ZipFile": "x"}}},
        }
    }
    # When its functions are measured
    (fn,) = function_sizes(tmp_path, template)
    # Then the function counts its code and the layer it names, not the unused one, and inline code is skipped
    assert (fn.logical_id, fn.code_bytes, fn.layers, fn.total_bytes) == ("Fn", 10, (("Core", 1100),), 1110)
