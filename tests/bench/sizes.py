"""Unzipped size of each Lambda function (its code and its layers), against Lambda's 250 MB limit.

    python -m tests.bench.sizes [--outdir cdk.out]

Reads the synthesized templates and staged assets in `--outdir` (`make synth` writes cdk.out); when they are
not there, synthesizes both profiles into a temporary folder first (layers come from the bundle cache).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PROFILES = ("starter", "production")


def _synthesize(outdir: Path) -> None:
    import os

    for var in ("CDK_DEFAULT_ACCOUNT", "CDK_DEFAULT_REGION", "CDK_CONTEXT_JSON", "CDK_OUTDIR"):
        os.environ.pop(var, None)
    from nexod_cdk.app_builder import build_app

    app, _ = build_app(outdir=str(outdir), profiles=list(PROFILES))
    app.synth()


def report(outdir: Path) -> None:
    import json

    from nexod_cdk import constants as c
    from nexod_cdk.sizes import LAMBDA_UNZIPPED_LIMIT_BYTES, MB, function_sizes

    small = {c.API_HANDLER, c.NODE_RUNNER_HANDLER}
    for profile in PROFILES:
        template = json.loads((outdir / f"Nexod-{profile}-App.template.json").read_text())
        print(f"\nUnzipped Lambda sizes, {profile} (code + layers; limit {LAMBDA_UNZIPPED_LIMIT_BYTES / MB:.1f} MB)")
        for fn in function_sizes(outdir, template, "Runtime"):
            # Logical ids are the construct path plus an 8-character hash: RuntimeCoreLayer1A2B3C4D -> CoreLayer
            layers = " + ".join(f"{name.removeprefix('Runtime')[:-8]} {size / MB:.1f}" for name, size in fn.layers)
            cap = f"  (cap {c.SMALL_FUNCTION_CAP_MB} MB)" if fn.handler in small else ""
            print(
                f"  {fn.handler:32} {fn.total_mb:7.1f} MB = code {fn.code_bytes / 1000:.0f} kB + {layers} MB"
                f"   {fn.total_bytes / LAMBDA_UNZIPPED_LIMIT_BYTES:4.0%} of the limit{cap}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--outdir", default=str(REPO / "cdk.out"))
    args = parser.parse_args()
    sys.path.insert(0, str(REPO / "cdk"))
    outdir = Path(args.outdir)
    if all((outdir / f"Nexod-{p}-App.template.json").exists() for p in PROFILES):
        report(outdir)
        return
    with tempfile.TemporaryDirectory(prefix="nexod-sizes-") as tmp:
        print(f"(no synthesized app in {outdir}: synthesizing into a temporary folder)")
        _synthesize(Path(tmp))
        report(Path(tmp))


if __name__ == "__main__":
    main()
