"""The node-kind catalogue the console's own tests read (frontend/src/lib/fixtures/node-types.json) is the
backend's `GET /v1/node-types` answer, byte for byte: the two cannot drift.

Regenerate it after changing a node kind:

    NEXOD_REGENERATE_CONSOLE_FIXTURES=1 python -m pytest tests/unit/test_console_fixtures.py
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from functions.api.responses import NodeTypeList, reply
from nexod.domain.nodes import node_type_catalog

FIXTURE = Path(__file__).resolve().parents[2] / "frontend" / "src" / "lib" / "fixtures" / "node-types.json"


def catalog_document() -> str:
    """What the API answers to GET /v1/node-types (its typed response), as the fixture file stores it."""
    body = reply(NodeTypeList, {"items": node_type_catalog()}).model_dump(mode="json", by_alias=True)
    return json.dumps(body, indent=1, sort_keys=False, ensure_ascii=False) + "\n"


def test_the_console_node_types_fixture_is_the_backend_catalogue() -> None:
    # Given the catalogue the API serves
    expected = catalog_document()
    if os.environ.get("NEXOD_REGENERATE_CONSOLE_FIXTURES") == "1":
        FIXTURE.write_text(expected)
    # Then the console's fixture is that document, every kind and every schema field
    actual = FIXTURE.read_text()
    kinds = [item["type"] for item in json.loads(expected)["items"]]
    assert [item["type"] for item in json.loads(actual)["items"]] == kinds, "the fixture lists other node kinds"
    assert actual == expected, (
        "frontend/src/lib/fixtures/node-types.json differs from node_type_catalog(): regenerate it with "
        "NEXOD_REGENERATE_CONSOLE_FIXTURES=1 python -m pytest tests/unit/test_console_fixtures.py"
    )
