"""`python -m functions.api.openapi_export --out FILE`: the document `/v1/openapi.json` serves, written to a
file (or standard output) for the console's generated types (`npm run gen:api` in frontend/) and any other
client. Nothing is started: the document comes from the routes alone."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .handler import openapi_document


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Write the API's OpenAPI document.")
    parser.add_argument("--out", type=Path, help="write here instead of standard output")
    args = parser.parse_args(argv)
    text = json.dumps(json.loads(openapi_document()), indent=2, ensure_ascii=False) + "\n"
    if args.out is None:
        sys.stdout.write(text)
    else:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
