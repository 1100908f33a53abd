"""The `LLM` port over LiteLLM. Imported only by the node runner, never by the API Lambdas.

A flow names any LiteLLM model, so the model name decides where the node runner connects. Three rules
keep that inside the outbound guard (DESIGN §8):

- Only providers the deployment enables may be called (`providers`, from NEXOD_LLM_PROVIDERS; by default
  the hosted API providers). The provider is taken from the model's prefix before LiteLLM is asked
  anything: some providers act as soon as they are named (device-code logins, token files).
- Providers that sign with ambient cloud credentials (bedrock, sagemaker, vertex_ai...) would act with the
  node runner's own role; they are refused unless an operator maps them to a dedicated role
  (`provider_roles`, from NEXOD_LLM_PROVIDER_ROLES), which is then what they use.
- Every connection LiteLLM makes is resolved and checked by the guard, with the node's allow-list
  (`llm_egress`). The one exception is explicit: the endpoint the operator configured for the model
  "default" (`default_api_base`, e.g. local mode's offline model on 127.0.0.1) is trusted for calls to
  "default" only. No flow can set a base URL.
"""

from __future__ import annotations

import os
import re
import socket
from collections.abc import Collection, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from ..ports import Completion, Embeddings, ProviderKey
from ..runtime.egress import current_egress_scope
from ..runtime.errors import (
    LLMBadRequest,
    LLMProviderError,
    LLMRateLimited,
    LLMTimeout,
    NodeFailedError,
)
from ..settings import DEFAULT_LLM_PROVIDERS
from .outbound_http import Resolver

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # price table from the package, no fetch

# Providers whose requests LiteLLM signs with credentials found in the environment of the process (the
# Lambda's or task's IAM role, Google application-default credentials, OCI instance principals...).
AWS_SIGNED_PROVIDERS = frozenset(
    {"bedrock", "bedrock_mantle", "sagemaker", "sagemaker_chat", "sagemaker_nova", "aws_polly", "s3_vectors"}
)
GOOGLE_SIGNED_PROVIDERS = frozenset({"vertex_ai", "vertex_ai_beta", "gdc"})
AMBIENT_CREDENTIAL_PROVIDERS = AWS_SIGNED_PROVIDERS | GOOGLE_SIGNED_PROVIDERS | {"oci", "databricks", "sap"}
_ROLE_ARN = re.compile(r"arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}")


def _origin_entry(base_url: str | None) -> tuple[str, ...]:
    """The allow-list entry (host:port) of the operator's default endpoint."""
    if not base_url:
        return ()
    parts = urlsplit(base_url)
    if not parts.hostname:
        return ()
    port = parts.port or (443 if parts.scheme == "https" else 80)
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return (f"{host}:{port}",)


class LiteLLM:
    """Calls any LiteLLM model the deployment allows. `model="default"` maps to the deployment's default.

    The orchestrator owns retries (ASL Retry), so LiteLLM's own retries are off: every attempt shows.
    `providers` / `provider_roles` default to the safe settings (hosted API providers, no ambient roles);
    `resolver` is injectable so tests can pin DNS answers.
    """

    def __init__(
        self,
        default_model: str,
        default_api_base: str | None = None,
        default_api_key: str | None = None,
        *,
        providers: Collection[str] | None = None,
        provider_roles: Mapping[str, str] | None = None,
        resolver: Resolver = socket.getaddrinfo,
    ) -> None:
        self.default_model = default_model
        self.default_api_base = default_api_base
        self.default_api_key = default_api_key
        self.providers = frozenset(DEFAULT_LLM_PROVIDERS if providers is None else providers)
        self.provider_roles = dict(provider_roles or {})
        self._resolver = resolver
        self._trusted = _origin_entry(default_api_base)

    def complete(
        self,
        *,
        model: str,
        system: str | None,
        prompt: str,
        temperature: float,
        max_tokens: int | None,
        json_mode: bool,
        timeout: float,
        credentials: ProviderKey | None = None,
    ) -> Completion:
        import litellm

        from .llm_egress import guarded_call, install

        install(litellm)
        kwargs: dict[str, Any] = {}
        is_default = model == "default"
        allow = list(scope.allow_hosts) if (scope := current_egress_scope()) else []
        if is_default:
            model = self.default_model
            if self.default_api_base:
                kwargs["api_base"] = self.default_api_base
                kwargs["api_key"] = self.default_api_key or "local"
                allow += self._trusted  # the operator's endpoint, for "default" only
        messages = [{"role": "system", "content": system}] if system else []
        messages.append({"role": "user", "content": prompt})
        if json_mode:
            kwargs["response_format"] = {"type": "json_object"}
        if max_tokens:
            kwargs["max_tokens"] = max_tokens
        with guarded_call(allow, self._resolver) as call:
            provider = self._provider(litellm, model, is_default)
            if credentials is not None:
                # The workspace's own key (the gateway's choice): its base URL is checked by the guard like any
                # other endpoint, with the workspace's allow-list, and never trusted as the operator's.
                if is_default and self.default_api_base:
                    allow = [a for a in allow if a not in self._trusted]
                    kwargs.pop("api_base", None)
                kwargs["api_key"] = credentials.key
                if credentials.base_url:
                    kwargs["api_base"] = credentials.base_url
                if credentials.api_version:
                    kwargs["api_version"] = credentials.api_version
            else:
                kwargs.update(self._credentials(model, provider))
            try:
                response = litellm.completion(
                    model=model,
                    messages=messages,
                    temperature=temperature,
                    timeout=timeout,
                    num_retries=0,
                    max_retries=0,
                    **kwargs,
                )
            except Exception as exc:
                if call.refusals:  # whatever LiteLLM wrapped it in, the guard's refusal is the story
                    refusal = call.refusals[0]
                    refusal.message = f"model '{model}' (LiteLLM provider '{provider}'): {refusal.message}"
                    refusal.args = (refusal.message,)
                    details = refusal.details if isinstance(refusal.details, dict) else {}
                    refusal.details = {**details, "model": model, "provider": provider}
                    raise refusal from exc
                raise _node_error(litellm, model, exc) from exc
        return _completion(litellm, response, model)

    def embed(self, model: str, texts: Sequence[str], credentials: ProviderKey | None = None) -> Embeddings:
        """The `Embedder` port: LiteLLM's embedding API, under the same provider policy and outbound guard
        as completions, with the workspace's key when the gateway found one."""
        import litellm

        from .llm_egress import guarded_call, install

        install(litellm)
        allow = list(scope.allow_hosts) if (scope := current_egress_scope()) else []
        kwargs: dict[str, Any] = {}
        with guarded_call(allow, self._resolver) as call:
            provider = self._provider(litellm, model, False)
            if credentials is not None:
                kwargs["api_key"] = credentials.key
                if credentials.base_url:
                    kwargs["api_base"] = credentials.base_url
                if credentials.api_version:
                    kwargs["api_version"] = credentials.api_version
            else:
                kwargs.update(self._credentials(model, provider))
            try:
                response = litellm.embedding(model=model, input=list(texts), timeout=60, num_retries=0, **kwargs)
            except Exception as exc:
                if call.refusals:
                    refusal = call.refusals[0]
                    refusal.message = f"embedding model '{model}' (LiteLLM provider '{provider}'): {refusal.message}"
                    refusal.args = (refusal.message,)
                    raise refusal from exc
                raise _node_error(litellm, model, exc) from exc
        vectors = [list(map(float, _field(item, "embedding"))) for item in response.data]
        usage = getattr(response, "usage", None)
        tokens = int(getattr(usage, "prompt_tokens", 0) or getattr(usage, "total_tokens", 0) or 0)
        cost: float | None
        try:
            cost = float(litellm.completion_cost(completion_response=response, call_type="embedding"))
        except Exception:  # no price for this model: unknown, never guessed
            cost = None
        return Embeddings(vectors=vectors, model=model, tokens=tokens, cost_usd=cost)

    # -- policy --------------------------------------------------------------------------------------
    def _provider(self, litellm: Any, model: str, is_default: bool) -> str:
        """The provider LiteLLM will use, refused here unless the deployment enables it."""
        known = {str(getattr(p, "value", p)) for p in litellm.provider_list}
        prefix, slash, _ = model.partition("/")
        if slash and prefix in known:
            self._check_enabled(model, prefix, is_default)  # before LiteLLM touches the provider
        try:
            provider = str(litellm.get_llm_provider(model=model)[1])
        except Exception as exc:
            raise NodeFailedError(
                f"model '{model}': LiteLLM does not know this model or provider ({_short(exc)}); name it as"
                " provider/model, e.g. openai/gpt-4o-mini",
                {"model": model},
            ) from exc
        self._check_enabled(model, provider, is_default)
        return provider

    def _check_enabled(self, model: str, provider: str, is_default: bool) -> None:
        if is_default:  # the operator's own choice of model: its provider needs no separate enabling
            return
        if provider not in self.providers:
            raise NodeFailedError(
                f"model '{model}' uses the LLM provider '{provider}', which this deployment does not enable"
                f" (enabled: {', '.join(sorted(self.providers)) or 'none'}). An operator can enable it by adding"
                f" '{provider}' to NEXOD_LLM_PROVIDERS; its endpoint is still checked by the outbound guard.",
                {"model": model, "provider": provider, "enabled": sorted(self.providers)},
            )

    def _credentials(self, model: str, provider: str) -> dict[str, Any]:
        """For providers that sign with ambient cloud credentials: the operator's dedicated role, or refuse."""
        if provider not in AMBIENT_CREDENTIAL_PROVIDERS:
            return {}
        role = self.provider_roles.get(provider)
        example = '{"bedrock": "arn:aws:iam::123456789012:role/nexod-bedrock"}'
        if not role:
            raise NodeFailedError(
                f"model '{model}': the LLM provider '{provider}' signs requests with the node runner's own cloud"
                " credentials, so it is refused until an operator gives it a dedicated role in"
                f" NEXOD_LLM_PROVIDER_ROLES, e.g. {example}",
                {"model": model, "provider": provider},
            )
        if provider in AWS_SIGNED_PROVIDERS:
            if not _ROLE_ARN.fullmatch(role):
                raise NodeFailedError(
                    f"model '{model}': NEXOD_LLM_PROVIDER_ROLES['{provider}'] must be an IAM role ARN"
                    " (arn:aws:iam::<account>:role/<name>)",
                    {"model": model, "provider": provider},
                )
            # LiteLLM assumes this role (STS) and signs with its credentials, not the runner's.
            return {"aws_role_name": role, "aws_session_name": "nexod-llm-node"}
        if provider in GOOGLE_SIGNED_PROVIDERS:
            # A service-account key (file path or JSON) instead of the runtime's default credentials.
            return {"vertex_credentials": role}
        raise NodeFailedError(
            f"model '{model}': the LLM provider '{provider}' only signs with ambient credentials, which Nexod"
            " cannot scope to a role; it is not supported",
            {"model": model, "provider": provider},
        )


def _node_error(litellm: Any, model: str, exc: Exception) -> Exception:
    """LiteLLM's exception as the typed error the state machine's Retry/Catch match by class name."""
    where = f"model '{model}': {type(exc).__name__}: {_short(exc)}"
    if isinstance(exc, litellm.RateLimitError):
        return LLMRateLimited(where, _retry_after(exc), {"model": model, "source": "provider"})
    if isinstance(exc, litellm.Timeout):
        return LLMTimeout(where, {"model": model})
    if isinstance(exc, litellm.AuthenticationError):
        return LLMBadRequest(
            f"model '{model}': the provider rejected the credentials ({_short(exc)}); configure the workspace's"
            " llm_provider credential for it",
            {"model": model},
        )
    bad_request = (
        litellm.ContextWindowExceededError,
        litellm.BadRequestError,
        litellm.NotFoundError,
        litellm.PermissionDeniedError,
        litellm.UnprocessableEntityError,
    )
    if isinstance(exc, bad_request):
        return LLMBadRequest(where, {"model": model})
    retryable = (
        litellm.APIConnectionError,
        litellm.ServiceUnavailableError,
        litellm.InternalServerError,
        litellm.APIError,
    )
    if isinstance(exc, retryable):
        return LLMProviderError(where, {"model": model})
    return exc  # not LiteLLM's: the runner records it as an unexpected failure


def _retry_after(exc: Exception, default: float = 20.0) -> float:
    """The provider's Retry-After (seconds or retry-after-ms), else `default`."""
    # LiteLLM keeps the provider's headers on the exception (its `response` is a rebuilt one without them).
    headers = getattr(exc, "litellm_response_headers", None) or getattr(getattr(exc, "response", None), "headers", None)
    headers = headers or {}
    try:
        if (ms := headers.get("retry-after-ms")) is not None:
            return max(0.0, float(ms) / 1000)
        if (value := headers.get("retry-after")) is not None:
            return max(0.0, float(value))
    except (TypeError, ValueError):
        pass
    return default


def _completion(litellm: Any, response: Any, model: str) -> Completion:
    choice = response.choices[0]
    message = choice.message
    usage = getattr(response, "usage", None)
    tokens_in = int(getattr(usage, "prompt_tokens", 0) or 0)
    tokens_out = int(getattr(usage, "completion_tokens", 0) or 0)
    try:
        cost = float(litellm.completion_cost(completion_response=response) or 0.0)
    except Exception:  # unknown models (local, fine-tunes) have no price: record 0, not a failure
        cost = 0.0
    tool_calls = [
        {"id": c.id, "name": c.function.name, "arguments": c.function.arguments}
        for c in (getattr(message, "tool_calls", None) or [])
    ]
    return Completion(
        text=message.content or "",
        model=str(getattr(response, "model", None) or model),
        tokens_in=tokens_in,
        tokens_out=tokens_out,
        cost_usd=cost,
        tool_calls=tool_calls,
    )


def _short(exc: Exception) -> str:
    return str(exc).replace("\n", " ")[:500]


def _field(item: Any, name: str) -> Any:
    return item[name] if isinstance(item, dict) else getattr(item, name)
