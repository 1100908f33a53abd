"""The LLM gateway: every model call of every node goes through here, on its way to the `LLM` port.

It decides, per workspace, which key a call uses (DESIGN table, "LLMs: keys per workspace from the vault"):
the model's provider is read from its LiteLLM prefix (`openai/gpt-4o-mini` -> `openai`), and the workspace's
`llm_provider` credential for that provider (metadata from the store, value from the vault) is passed to the
port for this one call. Keys never come from the request or the flow. Where the deployment allows no
environment keys (AWS), a provider without a credential is refused before anything is called; local mode
lets the port fall back to its own configuration (environment keys, then the offline model for `default`).

A hard budget is checked before every provider call (`BudgetGuard`), and the workspace's requests and
tokens per minute through the `RateLimiter` (GCRA rows in Postgres): one request and an estimate of the
tokens (prompt characters / 4 + max_tokens) are spent before the call and the estimate is settled with the
provider's count after it; over a limit the call raises `LLMRateLimited` with the wait, which the state
machine honours in a Wait state (compiler `_wait_loop`) before running the node again.

The resolved key never leaves this module in an error or an answer: both are scrubbed of it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from ..domain.errors import VaultUnavailable
from ..ports import LLM, BudgetGuard, Completion, ProviderKey, RateLimiter, Store, UnitOfWork, Vault
from .errors import LLMBadRequest, LLMRateLimited, NodeError, NodeRetryableError
from .redaction import Scrubber

LLM_PROVIDER_TYPE = "llm_provider"
REQUESTS_BUCKET = "llm.requests"
TOKENS_BUCKET = "llm.tokens"

# Unprefixed model names LiteLLM maps to a provider by their family (the common ones; anything else must be
# named provider/model to use a workspace key).
_FAMILIES = (
    (("gpt-", "o1", "o3", "o4", "chatgpt-", "text-embedding-", "dall-e"), "openai"),
    (("claude",), "anthropic"),
    (("gemini",), "gemini"),
    (("mistral", "codestral", "open-mistral", "open-mixtral"), "mistral"),
    (("command",), "cohere"),
)


def provider_of(model: str) -> str | None:
    """The LiteLLM provider a model name selects, or None when the name does not say."""
    prefix, slash, _ = model.partition("/")
    if slash and prefix:
        return prefix
    for starts, provider in _FAMILIES:
        if model.startswith(starts):
            return provider
    return None


@dataclass(frozen=True)
class Call:
    """One chat completion as a node asks for it (the gateway adds the workspace's key)."""

    model: str
    system: str | None
    prompt: str
    temperature: float
    max_tokens: int | None
    json_mode: bool
    timeout: float


@dataclass(frozen=True)
class Limits:
    """The workspace's LLM rates (None: unlimited)."""

    requests_per_minute: int | None
    tokens_per_minute: int | None


class LlmGateway:
    """The workspace-aware front of the `LLM` port.

    `environment_keys`: whether the port may use keys of its own process (local mode) when the workspace has
    no credential for a provider; in AWS it is False and such a call is an `LLMBadRequest`.
    `default_model`: the deployment's model behind `default`, whose provider needs a key when environment keys
    are off."""

    def __init__(
        self,
        store: Store,
        vault: Vault | None,
        llm: Callable[[], LLM],
        *,
        environment_keys: bool,
        default_model: str,
        budget: BudgetGuard | None = None,
        limiter: RateLimiter | None = None,
    ) -> None:
        self.store = store
        self.vault = vault
        self.llm = llm
        self.environment_keys = environment_keys
        self.default_model = default_model
        self.budget = budget
        self.limiter = limiter

    def complete(self, workspace_id: str, call: Call) -> Completion:
        model, key, limits = self.route(workspace_id, call.model)
        scrub = Scrubber([key.key]) if key else Scrubber()
        if self.budget is not None:
            self.budget.check(workspace_id)  # BudgetExceeded before any provider is called
        reserved = self._admit(workspace_id, limits, call)
        try:
            completion = self.llm().complete(
                model=model,
                system=call.system,
                prompt=call.prompt,
                temperature=call.temperature,
                max_tokens=call.max_tokens,
                json_mode=call.json_mode,
                timeout=call.timeout,
                credentials=key,
            )
        except NodeError as exc:
            self._settle(workspace_id, limits, -reserved)  # the provider counted nothing we know of
            if scrub:
                exc.message = scrub.text(exc.message)
                exc.args = (exc.message,)
                exc.details = scrub.value(exc.details)
            raise
        except Exception as exc:  # a library error may quote its request: never let the key travel on
            if key and key.key in str(exc):
                raise NodeRetryableError(scrub.text(f"model '{model}': {type(exc).__name__}: {exc}")) from None
            raise
        self._settle(workspace_id, limits, completion.tokens_in + completion.tokens_out - reserved)
        if scrub:
            completion = replace(
                completion, text=scrub.text(completion.text), tool_calls=scrub.value(completion.tool_calls)
            )
        return completion

    def _admit(self, workspace_id: str, limits: Limits, call: Call) -> float:
        """Spend one request and the call's estimated tokens, or raise `LLMRateLimited` with the wait.

        Returns the tokens reserved (settled against the provider's count after the call)."""
        if self.limiter is None:
            return 0.0
        if limits.requests_per_minute:
            wait = self.limiter.acquire(workspace_id, REQUESTS_BUCKET, 1, limits.requests_per_minute)
            if wait > 0:
                raise LLMRateLimited(
                    f"the workspace's limit of {limits.requests_per_minute} LLM requests per minute is reached;"
                    f" waiting {wait:.1f} s",
                    wait,
                    {"source": "workspace", "limit": "requests_per_minute"},
                )
        if not limits.tokens_per_minute:
            return 0.0
        estimate = float(len(call.system or "") + len(call.prompt)) / 4 + (call.max_tokens or 0)
        wait = self.limiter.acquire(workspace_id, TOKENS_BUCKET, estimate, limits.tokens_per_minute)
        if wait > 0:
            if limits.requests_per_minute:  # the request was not made: give its slot back
                self.limiter.settle(workspace_id, REQUESTS_BUCKET, -1, limits.requests_per_minute)
            raise LLMRateLimited(
                f"the workspace's limit of {limits.tokens_per_minute} LLM tokens per minute is reached (this call"
                f" needs about {estimate:.0f}); waiting {wait:.1f} s",
                wait,
                {"source": "workspace", "limit": "tokens_per_minute"},
            )
        return estimate

    def _settle(self, workspace_id: str, limits: Limits, delta: float) -> None:
        if self.limiter is not None and limits.tokens_per_minute and delta:
            self.limiter.settle(workspace_id, TOKENS_BUCKET, delta, limits.tokens_per_minute)

    def route(self, workspace_id: str, model: str) -> tuple[str, ProviderKey | None, Limits]:
        """The model the call uses (the workspace's policy applied) and the key it uses; refused with
        `LLMBadRequest` when the workspace does not allow the model or has no key where one is required."""
        with self.store.tx(workspace_id) as uow:
            ws = uow.workspaces.current()
            allowed = list(ws.llm_allowed_models) if ws else []
            if model == "default" and ws and ws.llm_default_model:
                model = ws.llm_default_model
            named = self.default_model if model == "default" else model
            if allowed and named not in allowed:
                shown = "'default' (the deployment's default, " + named + ")" if model == "default" else f"'{model}'"
                raise LLMBadRequest(
                    f"model {shown} is not allowed in this workspace (allowed: {', '.join(allowed)})",
                    {"model": named, "allowed_models": allowed},
                )
            limits = Limits(ws.llm_requests_per_minute, ws.llm_tokens_per_minute) if ws else Limits(None, None)
            return model, self._key_for(uow, workspace_id, model), limits

    def embedding_key(self, workspace_id: str, model: str) -> ProviderKey | None:
        """The key an embedding model's call uses: the workspace's `llm_provider` credential for the model's
        provider, by the same rules as a chat model (none needed for the offline model)."""
        from ..domain.knowledge import OFFLINE_EMBEDDING_MODEL

        if model == OFFLINE_EMBEDDING_MODEL:
            return None
        with self.store.tx(workspace_id) as uow:
            return self._key_for(uow, workspace_id, model)

    def _key_for(self, uow: UnitOfWork, workspace_id: str, model: str) -> ProviderKey | None:
        """The workspace's key for the model's provider; None lets the port use its own configuration."""
        if model == "default":
            if self.environment_keys:
                return None  # local mode: the offline model, or the operator's endpoint
            model = self.default_model
        provider = provider_of(model)
        if provider is None:
            if self.environment_keys:
                return None
            raise LLMBadRequest(
                f"model '{model}': name it as provider/model (e.g. openai/gpt-4o-mini) so the workspace's key for"
                " that provider can be used",
                {"model": model},
            )
        key = self._workspace_key(uow, workspace_id, provider)
        if key is None and not self.environment_keys:
            raise LLMBadRequest(
                f"model '{model}': this workspace has no '{LLM_PROVIDER_TYPE}' credential for the provider"
                f" '{provider}'; a member can add one (type {LLM_PROVIDER_TYPE}, provider '{provider}')",
                {"model": model, "provider": provider},
            )
        return key

    def _workspace_key(self, uow: UnitOfWork, workspace_id: str, provider: str) -> ProviderKey | None:
        # Credentials that say their provider are matched by metadata (one vault read); those created before
        # the provider was kept with the metadata are read until one matches.
        found = [c for c in uow.credentials.all() if c.type == LLM_PROVIDER_TYPE and c.provider in (provider, None)]
        if not found:
            return None
        if self.vault is None:
            raise LLMBadRequest(
                f"the workspace's {LLM_PROVIDER_TYPE} credentials cannot be read: this deployment has no vault"
            )
        found.sort(key=lambda c: (c.provider != provider, c.name != provider, c.name))
        for credential in found:
            try:
                value = self.vault.get(workspace_id, credential.name)
            except VaultUnavailable as exc:
                raise NodeRetryableError(f"credential '{credential.name}': {exc.message}") from None
            if value is None or value.get("provider") != provider:
                continue
            uow.credentials.touch([credential.name])
            return ProviderKey(
                provider=provider,
                key=str(value["key"]),
                base_url=_optional(value.get("base_url")),
                api_version=_optional(value.get("api_version")),
            )
        return None


def _optional(value: object) -> str | None:
    return str(value) if value else None
