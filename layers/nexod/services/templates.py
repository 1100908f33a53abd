"""Flow templates: ready-made flows in the package (`nexod/templates/<id>.json` and `<id>.md`).

A template is a flow definition with a name, a category and a readme in markdown. `{{BASE_URL}}` in a
definition or readme stands for this API's public address (local mode's `/demo/*` endpoints live there);
it is filled in when a template is served. Templates belong to no workspace: any signed-in user may read
them, and starting from one is creating a flow with its definition (`POST .../flows`).
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from ..domain.errors import NotFound
from .context import Services

BASE_URL = "{{BASE_URL}}"


@cache
def _stored() -> tuple[dict[str, Any], ...]:
    """Every template as stored, in name order (read once per process)."""
    folder = resources.files("nexod") / "templates"
    found = []
    for entry in sorted(folder.iterdir(), key=lambda f: f.name):
        if not entry.name.endswith(".json"):
            continue
        template = json.loads(entry.read_text(encoding="utf-8"))
        template["readme"] = (folder / entry.name.replace(".json", ".md")).read_text(encoding="utf-8")
        found.append(template)
    return tuple(sorted(found, key=lambda t: str(t["name"]).lower()))


def node_types(definition: dict[str, Any]) -> list[str]:
    """The node kinds a definition uses, in the order they first appear."""
    seen: dict[str, None] = {}
    for node in definition.get("nodes", []):
        seen.setdefault(str(node["type"]), None)
    return list(seen)


def _summary(template: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": template["id"],
        "name": template["name"],
        "description": template["description"],
        "category": template["category"],
        "node_types": node_types(template["definition"]),
    }


def _filled(value: Any, base_url: str) -> Any:
    """`{{BASE_URL}}` replaced by this API's address (left as is when the deployment has none)."""
    if not base_url:
        return value
    return json.loads(json.dumps(value).replace(BASE_URL, base_url.rstrip("/")))


def list_templates(services: Services) -> dict[str, Any]:
    return {"items": [_summary(t) for t in _stored()]}


def get_template(services: Services, template_id: str) -> dict[str, Any]:
    for template in _stored():
        if template["id"] == template_id:
            base = services.hook_base_url
            return {
                **_summary(template),
                "definition": _filled(template["definition"], base),
                "readme": _filled(template["readme"], base),
            }
    raise NotFound(f"template '{template_id[:100]}' not found")
