"""Seed a fresh local database: users alice/bob/vera, two workspaces, and example flows, published."""

from __future__ import annotations

import json
import logging
from importlib import resources
from typing import Any

from ..services import flows, workspaces
from ..services.context import Principal, Services
from .issuer import USERS

log = logging.getLogger(__name__)
DEMO_WORKSPACE = "Demo"
BOB_WORKSPACE = "Bob's lab"


def _principal(user: str) -> Principal:
    profile = USERS[user]
    return Principal(profile["sub"], profile["email"], profile["name"])


def example_flows() -> list[dict[str, Any]]:
    folder = resources.files("nexod") / "seed"
    return [
        json.loads(f.read_text()) for f in sorted(folder.iterdir(), key=lambda f: f.name) if f.name.endswith(".json")
    ]


def seed(services: Services, base_url: str) -> dict[str, str] | None:
    """Idempotent: does nothing if alice already belongs to a workspace."""
    alice, bob = _principal("alice"), _principal("bob")
    if workspaces.me(services, alice)["workspaces"]:
        return None
    demo = workspaces.create_workspace(services, alice, DEMO_WORKSPACE)
    demo_id = str(demo["id"])
    vera = USERS["vera"]
    workspaces.put_member(services, alice, demo_id, vera["sub"], "viewer", vera["email"], vera["name"])
    host = base_url.split("://", 1)[-1].split("/", 1)[0]
    workspaces.set_allowed_hosts(services, alice, demo_id, [host, host.replace("127.0.0.1", "localhost")])
    for example in example_flows():
        definition = json.loads(json.dumps(example["definition"]).replace("{{BASE_URL}}", base_url))
        flow = flows.create(services, alice, demo_id, example["name"], example.get("description", ""), definition)
        flows.publish(services, alice, demo_id, str(flow["id"]), "seeded example")
    lab = workspaces.create_workspace(services, bob, BOB_WORKSPACE)
    log.info("seeded workspaces %s and %s", demo_id, lab["id"])
    return {"demo": demo_id, "lab": str(lab["id"])}
