"""Agents: a draft AgentSpec each, immutable versions, the live pointer and rollback (like flows), the
spec as markdown and JSON, and the node runs that used an agent."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..domain.agents import AgentSpec, from_json, parse, render
from ..domain.agents.refs import agents_named
from ..domain.errors import Conflict, NotFound
from ..domain.records import Agent, AgentSummary, AgentVersionSummary
from ..ports import AgentChanges, UnitOfWork
from .access import authorize, parse_id
from .context import Principal, Services
from .paging import decode_cursor, page

PAGE = 50
RUNS_PAGE = 50


@dataclass(frozen=True)
class SpecSource:
    """What a request sent: the JSON form (`spec`) or the markdown (`markdown`), exactly one."""

    spec: Any = None
    markdown: str | None = None

    def read(self) -> AgentSpec:
        return parse(self.markdown) if self.markdown is not None else from_json(self.spec)


def _summary_view(agent: AgentSummary) -> dict[str, Any]:
    return {
        "id": agent.id,
        "name": agent.name,
        "model": agent.model,
        "live_version": agent.live_version,
        "latest_version": agent.latest_version,
        "created_at": agent.created_at,
        "updated_at": agent.updated_at,
        "usage": {
            "runs": agent.runs,
            "tokens": agent.tokens,
            "cost_usd": round(agent.cost_usd, 6),
            "last_run_at": agent.last_run_at,
        },
    }


def _agent_view(agent: Agent) -> dict[str, Any]:
    spec = AgentSpec.model_validate(agent.spec)  # validated when written
    return {**_summary_view(agent), "created_by": agent.created_by, "spec": spec.document(), "markdown": render(spec)}


def _version_view(version: AgentVersionSummary, live: int | None, spec: Any = None) -> dict[str, Any]:
    view: dict[str, Any] = {
        "agent_id": version.agent_id,
        "version": version.version,
        "spec_hash": version.spec_hash,
        "description": version.description,
        "created_by": version.created_by,
        "created_at": version.created_at,
        "is_live": version.version == live,
    }
    if spec is not None:
        parsed = AgentSpec.model_validate(spec)
        view["spec"] = parsed.document()
        view["markdown"] = render(parsed)
    return view


def convert(services: Services, principal: Principal, workspace_id: str, source: SpecSource) -> dict[str, Any]:
    """Validate a spec without saving it; answer both forms (the console's editor keeps them in sync)."""
    with services.store.tx(workspace_id, principal.sub) as uow:
        authorize(uow, principal, "agents.validate")
    spec = source.read()
    return {"spec": spec.document(), "markdown": render(spec)}


def create(services: Services, principal: Principal, workspace_id: str, source: SpecSource) -> dict[str, Any]:
    spec = source.read()
    with services.store.tx(workspace_id, principal.sub) as uow:
        authorize(uow, principal, "agents.write")
        agent = uow.agents.create(spec.name, spec.document())
        uow.audit.record("agent.create", "agent", agent.id, {"name": spec.name})
    return _agent_view(agent)


RECENT_RUNS = 5  # each listed agent's newest node runs, for the dashboard's status dots


def list_agents(
    services: Services, principal: Principal, workspace_id: str, cursor: str | None, limit: int = PAGE
) -> dict[str, Any]:
    after = decode_cursor(cursor) if cursor else None
    with services.store.tx(workspace_id, principal.sub) as uow:
        authorize(uow, principal, "agents.read")
        items, nxt = page(uow.agents.newest(limit + 1, after), limit)
        recent = uow.agents.recent_node_runs([a.id for a in items], RECENT_RUNS)
    return {
        "items": [{**_summary_view(a), "recent_runs": recent.get(a.id, [])} for a in items],
        "next_cursor": nxt,
    }


def _get(uow: UnitOfWork, agent_id: str, for_update: bool = False) -> Agent:
    agent = uow.agents.get(agent_id, for_update=for_update)
    if agent is None:
        raise NotFound(f"agent '{agent_id}' not found")
    return agent


def get(services: Services, principal: Principal, workspace_id: str, agent_id: str) -> dict[str, Any]:
    agent_id = parse_id(agent_id, "agent")
    with services.store.tx(workspace_id, principal.sub) as uow:
        authorize(uow, principal, "agents.read")
        agent = _get(uow, agent_id)
    return _agent_view(agent)


def update(
    services: Services, principal: Principal, workspace_id: str, agent_id: str, source: SpecSource
) -> dict[str, Any]:
    """Replace the draft (versions are untouched until the next publish)."""
    agent_id = parse_id(agent_id, "agent")
    spec = source.read()
    with services.store.tx(workspace_id, principal.sub) as uow:
        authorize(uow, principal, "agents.write")
        changes: AgentChanges = {"name": spec.name, "spec": spec.document()}
        agent = uow.agents.update(agent_id, changes)
        if agent is None:
            raise NotFound(f"agent '{agent_id}' not found")
        uow.audit.record("agent.update", "agent", agent_id, {"name": spec.name})
    return _agent_view(agent)


def delete(services: Services, principal: Principal, workspace_id: str, agent_id: str) -> None:
    """Soft delete; refused (409, naming the flows) while a flow's live version names the agent."""
    agent_id = parse_id(agent_id, "agent")
    with services.store.tx(workspace_id, principal.sub) as uow:
        authorize(uow, principal, "agents.write")
        _get(uow, agent_id, for_update=True)
        uses = [
            (use, sorted(nodes))
            for use in uow.agents.live_flows_mentioning(agent_id)
            if (nodes := agents_named(use.definition).get(agent_id))
        ]
        if uses:
            users = [
                {"flow_id": u.flow_id, "flow_name": u.flow_name, "version": u.version, "nodes": nodes}
                for u, nodes in uses
            ]
            names = ", ".join(f"'{u.flow_name}' (v{u.version}, node {', '.join(nodes)})" for u, nodes in uses)
            raise Conflict(
                f"agent is used by the live version of {len(users)} flow(s): {names};"
                " publish those flows without it first",
                {"flows": users},
            )
        uow.agents.delete(agent_id)
        uow.audit.record("agent.delete", "agent", agent_id)


def publish(
    services: Services, principal: Principal, workspace_id: str, agent_id: str, description: str
) -> tuple[dict[str, Any], bool]:
    """Freeze the draft as the next version and point `live` at it. A draft identical to the latest version
    publishes nothing: that version comes back with `unchanged` (and False: nothing was created)."""
    agent_id = parse_id(agent_id, "agent")
    with services.store.tx(workspace_id, principal.sub) as uow:
        authorize(uow, principal, "agents.publish")
        agent = _get(uow, agent_id, for_update=True)
        spec = AgentSpec.model_validate(agent.spec)
        digest = spec.spec_hash()
        latest = uow.agents.version(agent_id, agent.latest_version) if agent.latest_version else None
        if latest is not None and latest.spec_hash == digest:
            view = _version_view(latest, agent.live_version, latest.spec)
            live = "" if agent.live_version == latest.version else f"; live stays at version {agent.live_version}"
            view["unchanged"] = True
            view["message"] = f"the draft is identical to version {latest.version}: no new version{live}"
            return view, False
        version = agent.latest_version + 1
        stored = uow.agents.add_version(agent_id, version, spec.document(), digest, description)
        uow.agents.update(agent_id, {"latest_version": version, "live_version": version})
        uow.audit.record(
            "agent.publish", "agent", agent_id, {"version": version, "from": agent.live_version, "to": version}
        )
    view = _version_view(stored, version, stored.spec)
    view["unchanged"] = False
    view["message"] = f"published version {version}; live is now version {version}"
    return view, True


def list_versions(services: Services, principal: Principal, workspace_id: str, agent_id: str) -> dict[str, Any]:
    agent_id = parse_id(agent_id, "agent")
    with services.store.tx(workspace_id, principal.sub) as uow:
        authorize(uow, principal, "agents.read")
        agent = _get(uow, agent_id)
        versions = uow.agents.versions(agent_id)
    return {"items": [_version_view(v, agent.live_version) for v in versions]}


def _version(
    services: Services, principal: Principal, workspace_id: str, agent_id: str, version: int
) -> dict[str, Any]:
    agent_id = parse_id(agent_id, "agent")
    with services.store.tx(workspace_id, principal.sub) as uow:
        authorize(uow, principal, "agents.read")
        agent = uow.agents.get(agent_id)
        stored = uow.agents.version(agent_id, version) if agent else None
    if agent is None or stored is None:
        raise NotFound(f"agent '{agent_id}' has no version {version}")
    return _version_view(stored, agent.live_version, stored.spec)


def get_version(
    services: Services, principal: Principal, workspace_id: str, agent_id: str, version: int
) -> dict[str, Any]:
    return _version(services, principal, workspace_id, agent_id, version)


def spec_json(
    services: Services, principal: Principal, workspace_id: str, agent_id: str, version: int
) -> dict[str, Any]:
    spec: dict[str, Any] = _version(services, principal, workspace_id, agent_id, version)["spec"]
    return spec


def spec_markdown(services: Services, principal: Principal, workspace_id: str, agent_id: str, version: int) -> str:
    markdown: str = _version(services, principal, workspace_id, agent_id, version)["markdown"]
    return markdown


def set_live(
    services: Services, principal: Principal, workspace_id: str, agent_id: str, version: int
) -> dict[str, Any]:
    """Move `live` to any published version (rollback included). Nodes that name `live` use it from their
    next run on."""
    agent_id = parse_id(agent_id, "agent")
    with services.store.tx(workspace_id, principal.sub) as uow:
        authorize(uow, principal, "agents.live")
        agent = _get(uow, agent_id, for_update=True)
        if uow.agents.version(agent_id, version) is None:
            raise Conflict(
                f"agent has no version {version}; published versions are 1..{agent.latest_version}"
                if agent.latest_version
                else f"agent has no version {version}; publish one first",
                {"field": "version"},
            )
        moved = uow.agents.update(agent_id, {"live_version": version})
        uow.audit.record("agent.live", "agent", agent_id, {"from": agent.live_version, "to": version})
    assert moved is not None
    return _summary_view(moved)


def runs(
    services: Services, principal: Principal, workspace_id: str, agent_id: str, limit: int = RUNS_PAGE
) -> dict[str, Any]:
    agent_id = parse_id(agent_id, "agent")
    with services.store.tx(workspace_id, principal.sub) as uow:
        authorize(uow, principal, "agents.read")
        _get(uow, agent_id)
        items = uow.agents.node_runs(agent_id, limit)
    return {"items": items}
