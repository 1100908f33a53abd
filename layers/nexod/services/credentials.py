"""Credentials: values are write-only behind the `Vault` port, metadata lives in the store (DESIGN §7).

No function here returns, logs or audits a value: responses carry the type, which fields are set, who
created and rotated it, when it was last used and which flows name it.
"""

from __future__ import annotations

import logging
from typing import Any

from ..domain.credentials import CREDENTIAL_TYPES, check_name, credential_type, fields_set, secret_refs, validate_value
from ..domain.errors import Conflict, InvalidInput, NotFound, VaultUnavailable
from ..domain.records import Credential
from ..domain.templating import TemplateError
from ..ports import UnitOfWork, Vault
from .access import authorize
from .context import Principal, Services

log = logging.getLogger(__name__)


def credential_types() -> dict[str, Any]:
    return {"items": [t.describe() for t in CREDENTIAL_TYPES.values()]}


def vault_of(services: Services) -> Vault:
    if services.vault is None:
        raise VaultUnavailable("this deployment has no credential vault configured")
    return services.vault


def _provider(type_name: str, value: dict[str, Any]) -> str | None:
    """An llm_provider credential's provider, kept with its metadata (it locates the key, it is not secret)."""
    return str(value["provider"]) if type_name == "llm_provider" and value.get("provider") else None


def usage(uow: UnitOfWork) -> dict[str, list[dict[str, Any]]]:
    """Credential name -> the flows naming it, each once, saying whether the draft and/or the live
    version does."""
    found: dict[str, dict[str, dict[str, Any]]] = {}
    for use in uow.credentials.definitions_naming_secrets():
        try:
            names = {ref.name for ref in secret_refs(use.definition)}
        except (TemplateError, InvalidInput):  # a draft may hold a malformed template: it names nothing
            continue
        for name in names:
            entry = found.setdefault(name, {}).setdefault(
                use.flow_id, {"flow_id": use.flow_id, "flow_name": use.flow_name, "draft": False, "live": False}
            )
            entry["live" if use.live else "draft"] = True
    return {name: list(flows.values()) for name, flows in found.items()}


def view(credential: Credential, used_by: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "name": credential.name,
        "type": credential.type,
        "description": credential.description,
        "fields": list(credential.fields),
        "created_by": credential.created_by,
        "created_at": credential.created_at,
        "rotated_by": credential.rotated_by,
        "rotated_at": credential.rotated_at,
        "last_used_at": credential.last_used_at,
        "used_by": used_by,
    }


def list_credentials(services: Services, principal: Principal, workspace_id: str) -> dict[str, Any]:
    with services.store.tx(workspace_id, principal.sub) as uow:
        authorize(uow, principal, "credentials.read")
        credentials = uow.credentials.all()
        used = usage(uow)
    return {"items": [view(c, used.get(c.name, [])) for c in credentials]}


def get_credential(services: Services, principal: Principal, workspace_id: str, name: str) -> dict[str, Any]:
    with services.store.tx(workspace_id, principal.sub) as uow:
        authorize(uow, principal, "credentials.read")
        credential = uow.credentials.get(name)
        if credential is None:
            raise NotFound(f"credential '{name}' not found")
        return view(credential, usage(uow).get(name, []))


def create_credential(
    services: Services,
    principal: Principal,
    workspace_id: str,
    name: str,
    type_name: str,
    description: str,
    value: dict[str, Any],
) -> dict[str, Any]:
    """Record the metadata and store the value in one step: if the vault refuses, nothing is recorded."""
    check_name(name)
    credential_type(type_name)
    with services.store.tx(workspace_id, principal.sub) as uow:
        authorize(uow, principal, "credentials.write")
        cleaned = validate_value(type_name, value)
        provider, fields = _provider(type_name, cleaned), fields_set(cleaned)
        if not uow.credentials.create(name, type_name, description, fields, principal.sub, provider):
            raise Conflict(f"credential '{name}' exists; PUT .../credentials/{name} with a new value rotates it")
        vault_of(services).put(workspace_id, name, cleaned)  # raising here rolls the metadata back
        uow.audit.record("credential.create", "credential", name, {"type": type_name, "fields": fields})
        created = uow.credentials.get(name)
        assert created is not None
        return view(created, usage(uow).get(name, []))


def update_credential(
    services: Services,
    principal: Principal,
    workspace_id: str,
    name: str,
    description: str | None,
    value: dict[str, Any] | None,
) -> dict[str, Any]:
    """Change the description, and/or rotate: a new value replaces the old one in full."""
    with services.store.tx(workspace_id, principal.sub) as uow:
        authorize(uow, principal, "credentials.write")
        current = uow.credentials.get(name, for_update=True)
        if current is None:
            raise NotFound(f"credential '{name}' not found")
        fields: list[str] | None = None
        if value is not None:
            cleaned = validate_value(current.type, value)
            fields = fields_set(cleaned)
            vault_of(services).put(workspace_id, name, cleaned)
        changed = uow.credentials.update(
            name,
            description=description,
            fields=fields,
            rotated_by=principal.sub,
            provider=_provider(current.type, cleaned) if fields is not None else None,
        )
        assert changed is not None
        if fields is not None:
            uow.audit.record("credential.rotate", "credential", name, {"type": current.type, "fields": fields})
        elif description is not None:
            uow.audit.record("credential.describe", "credential", name, {})
        return view(changed, usage(uow).get(name, []))


def delete_credential(services: Services, principal: Principal, workspace_id: str, name: str, force: bool) -> None:
    """Refused while a live version names it (those runs would fail), unless `force`."""
    with services.store.tx(workspace_id, principal.sub) as uow:
        authorize(uow, principal, "credentials.write")
        if uow.credentials.get(name, for_update=True) is None:
            raise NotFound(f"credential '{name}' not found")
        live = [u for u in usage(uow).get(name, []) if u["live"]]
        if live and not force:
            names = ", ".join(f"'{u['flow_name']}'" for u in live)
            raise Conflict(
                f"credential '{name}' is used by the live version of {names}: their runs would fail; "
                "publish versions without it first, or delete with ?force=true",
                {"flows": [{"flow_id": u["flow_id"], "flow_name": u["flow_name"]} for u in live]},
            )
        uow.credentials.delete(name)
        uow.audit.record("credential.delete", "credential", name, {"forced": bool(live)})
    try:  # after the commit: a vault failure leaves an unreachable value, never a credential without one
        vault_of(services).delete(workspace_id, name)
    except VaultUnavailable:
        log.warning("credential %s of workspace %s: its value could not be deleted from the vault", name, workspace_id)


def missing_credentials(uow: UnitOfWork, definition: Any) -> list[dict[str, Any]]:
    """Warnings for a flow definition naming credentials the workspace does not have (saving still works)."""
    try:
        refs = secret_refs(definition)
    except (TemplateError, InvalidInput):
        return []
    names = sorted({r.name for r in refs})
    have = uow.credentials.types_of(names)
    return [
        {
            "code": "missing_credential",
            "credential": n,
            "message": f"credential '{n}' does not exist in this workspace: runs will fail until it is created",
        }
        for n in names
        if n not in have
    ]
