"""The `LLM` port over LiteLLM. Imported only by the node runner, never by the API Lambdas."""

from __future__ import annotations

import os
from typing import Any

from ..ports import Completion
from ..runtime.errors import NodeFailedError, NodeRetryableError

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # price table from the package, no fetch


class LiteLLM:
    """Calls any LiteLLM model. `model="default"` maps to the deployment's default model.

    The orchestrator owns retries (ASL Retry), so LiteLLM's own retries are off: every attempt shows.
    """

    def __init__(
        self, default_model: str, default_api_base: str | None = None, default_api_key: str | None = None
    ) -> None:
        self.default_model = default_model
        self.default_api_base = default_api_base
        self.default_api_key = default_api_key

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
    ) -> Completion:
        import litellm

        kwargs: dict[str, Any] = {}
        if model == "default":
            model = self.default_model
            if self.default_api_base:
                kwargs["api_base"] = self.default_api_base
                kwargs["api_key"] = self.default_api_key or "local"
        messages = [{"role": "system", "content": system}] if system else []
        messages.append({"role": "user", "content": prompt})
        if json_mode:
            kwargs["response_format"] = {"type": "json_object"}
        if max_tokens:
            kwargs["max_tokens"] = max_tokens
        try:
            response = litellm.completion(
                model=model,
                messages=messages,
                temperature=temperature,
                timeout=timeout,
                num_retries=0,
                **kwargs,
            )
        except (
            litellm.RateLimitError,
            litellm.Timeout,
            litellm.APIConnectionError,
            litellm.ServiceUnavailableError,
            litellm.InternalServerError,
        ) as exc:
            raise NodeRetryableError(f"model '{model}': {type(exc).__name__}: {_short(exc)}") from exc
        except litellm.AuthenticationError as exc:
            raise NodeFailedError(
                f"model '{model}': the provider rejected the credentials ({_short(exc)}); configure its API key"
            ) from exc
        except (litellm.BadRequestError, litellm.NotFoundError) as exc:
            raise NodeFailedError(f"model '{model}': {type(exc).__name__}: {_short(exc)}") from exc
        except litellm.APIError as exc:
            raise NodeRetryableError(f"model '{model}': {type(exc).__name__}: {_short(exc)}") from exc

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
