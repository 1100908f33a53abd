"""The LLM gateway's policy per workspace: allowed models, the model behind "default", rate limits."""

from __future__ import annotations

from typing import Any

from ..domain.errors import InvalidInput
from ..domain.records import Workspace
from .access import authorize
from .context import Principal, Services

LLM_PROVIDER_TYPE = "llm_provider"


def _view(ws: Workspace, providers: list[str]) -> dict[str, Any]:
    return {
        "allowed_models": list(ws.llm_allowed_models),
        "default_model": ws.llm_default_model,
        "requests_per_minute": ws.llm_requests_per_minute,
        "tokens_per_minute": ws.llm_tokens_per_minute,
        "providers": providers,
    }


def get_llm_settings(services: Services, principal: Principal, workspace_id: str) -> dict[str, Any]:
    with services.store.tx(workspace_id, principal.sub) as uow:
        authorize(uow, principal, "workspace.read")
        ws = uow.workspaces.current()
        assert ws is not None
        providers = _providers(uow.credentials.all())
    return _view(ws, providers)


def set_llm_settings(
    services: Services,
    principal: Principal,
    workspace_id: str,
    allowed_models: list[str],
    default_model: str | None,
    requests_per_minute: int | None,
    tokens_per_minute: int | None,
) -> dict[str, Any]:
    models = sorted({m.strip() for m in allowed_models})
    if any(not m or m == "default" for m in models):
        raise InvalidInput(
            "allowed_models: name models (provider/model); 'default' always means the default model",
            {"field": "allowed_models"},
        )
    default = (default_model or "").strip() or None
    if default == "default":
        raise InvalidInput("default_model: name a model, not 'default'", {"field": "default_model"})
    if default and models and default not in models:
        raise InvalidInput(
            f"default_model: '{default}' is not one of the allowed models ({', '.join(models)})",
            {"field": "default_model"},
        )
    with services.store.tx(workspace_id, principal.sub) as uow:
        authorize(uow, principal, "workspace.llm_settings")
        before = uow.workspaces.current()
        ws = uow.workspaces.set_llm_settings(models, default, requests_per_minute, tokens_per_minute)
        assert ws is not None
        assert before is not None
        providers = _providers(uow.credentials.all())
        changed = {
            key: {"from": old, "to": new}
            for key, old, new in (
                ("allowed_models", list(before.llm_allowed_models), models),
                ("default_model", before.llm_default_model, default),
                ("requests_per_minute", before.llm_requests_per_minute, requests_per_minute),
                ("tokens_per_minute", before.llm_tokens_per_minute, tokens_per_minute),
            )
            if old != new
        }
        uow.audit.record("workspace.llm_settings", "workspace", workspace_id, changed)
    return _view(ws, providers)


def _providers(credentials: list[Any]) -> list[str]:
    return sorted({c.provider for c in credentials if c.type == LLM_PROVIDER_TYPE and c.provider})
