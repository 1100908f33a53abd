"""Every model call of the crew goes through the broker: a `crewai.BaseLLM` that posts the conversation to
the broker's LLM endpoint, which applies the workspace's keys, rate limits, budget and cost (the gateway).

It speaks CrewAI's text (ReAct) protocol: `supports_function_calling()` is False, so CrewAI describes the
tools in the prompt and parses `Action:`/`Action Input:` from the answer; the stop words CrewAI sets
(`\\nObservation:`) are applied here, to the text the broker returns."""

from __future__ import annotations

from typing import Any

from crewai import BaseLLM

from .client import BrokerClient, BrokerRefused


class BrokerLLM(BaseLLM):
    """One agent's model (the broker knows which: the agent's spec, or the crew's manager model)."""

    llm_type: str = "nexod-broker"
    agent_name: str = ""
    broker: Any = None  # BrokerClient (a pydantic field of an arbitrary type)
    refusals: Any = None  # a list shared by the crew's models: the broker's refusals, to type a failure

    def call(
        self,
        messages: Any,
        tools: Any = None,
        callbacks: Any = None,
        available_functions: Any = None,
        from_task: Any = None,
        from_agent: Any = None,
        response_model: Any = None,
    ) -> str:
        if isinstance(messages, str):
            messages = [{"role": "user", "content": messages}]
        wire = [{"role": str(m.get("role") or "user"), "content": _text(m.get("content"))} for m in messages]
        client: BrokerClient = self.broker
        try:
            answer = client.llm(self.agent_name, wire, self.temperature)
        except BrokerRefused as exc:
            if self.refusals is not None:
                self.refusals.append(exc)
            raise
        text = str(answer.get("text") or "")
        for stop in self.stop or []:
            if stop and stop in text:
                text = text[: text.index(stop)]
        return text

    def supports_function_calling(self) -> bool:
        return False

    def supports_stop_words(self) -> bool:
        return True

    def get_context_window_size(self) -> int:
        return 128_000


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # multimodal parts: the text ones
        return "\n".join(str(p.get("text") or "") for p in content if isinstance(p, dict))
    return "" if content is None else str(content)
