#!/usr/bin/env python3
"""CDK entry point: `cdk synth` (cdk.json runs this) or `python cdk/app.py` for an offline synth."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from nexod_cdk.app_builder import build_app


def main() -> None:
    app, _ = build_app()
    app.synth()


if __name__ == "__main__":
    main()
