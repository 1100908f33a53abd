"""The offline default `Embedder`: WordLlama's 256-dimension model, whose weights ship inside the `wordllama`
wheel (no download, no key, no cost). It captures similarity well enough for local knowledge bases and
tests ("cats are pets" vs "dogs are pets": 0.67; vs "stock market crash": 0.05).

`WordLlama.load()` of wordllama 0.4 looks for its tokenizer in a folder the wheel does not have and then
tries Hugging Face, so the adapter loads the two packaged files itself (tokenizer and weights) and builds
the same `WordLlamaInference`: it never reaches the network.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..domain.knowledge import OFFLINE_EMBEDDING_MODEL
from ..ports import Embeddings, ProviderKey

TOKENIZER = Path("tokenizers") / "l2_supercat_tokenizer_config.json"
WEIGHTS = Path("weights") / "l2_supercat_256.safetensors"


class WordLlamaEmbedder:
    def __init__(self) -> None:
        self._model: Any = None
        self._lock = threading.Lock()

    def _load(self) -> Any:
        with self._lock:
            if self._model is None:
                import wordllama
                from safetensors import safe_open
                from tokenizers import Tokenizer
                from wordllama.inference import WordLlamaInference

                root = Path(wordllama.__file__).parent
                tokenizer = Tokenizer.from_file(str(root / TOKENIZER))
                with safe_open(str(root / WEIGHTS), framework="np", device="cpu") as weights:
                    embedding = weights.get_tensor("embedding.weight")
                self._model = WordLlamaInference(embedding, tokenizer, binary=False)
            return self._model

    def embed(self, model: str, texts: Sequence[str], credentials: ProviderKey | None = None) -> Embeddings:
        if model != OFFLINE_EMBEDDING_MODEL:
            raise ValueError(f"the offline embedder knows '{OFFLINE_EMBEDDING_MODEL}' only, not '{model}'")
        if not texts:
            return Embeddings(vectors=[], model=model, tokens=0, cost_usd=0.0)
        wl = self._load()
        vectors = wl.embed(list(texts), norm=True)
        tokens = sum(len(e) for e in wl.tokenizer.encode_batch(list(texts))) if hasattr(wl, "tokenizer") else 0
        return Embeddings(
            vectors=[[float(x) for x in row] for row in vectors], model=model, tokens=tokens, cost_usd=0.0
        )


class RoutedEmbedder:
    """The deployment's `Embedder`: the offline model by its name, any other model through `remote`
    (LiteLLM's embedding API), built on first use."""

    def __init__(self, offline: WordLlamaEmbedder | None, remote: Any) -> None:
        self.offline = offline
        self.remote = remote

    def embed(self, model: str, texts: Sequence[str], credentials: ProviderKey | None = None) -> Embeddings:
        if model == OFFLINE_EMBEDDING_MODEL:
            if self.offline is None:
                from ..runtime.errors import LLMBadRequest

                raise LLMBadRequest(
                    f"embedding model '{model}' (the offline model) is not installed in this deployment;"
                    " name a provider's embedding model, e.g. openai/text-embedding-3-small",
                    {"model": model},
                )
            return self.offline.embed(model, texts)
        embedder = self.remote() if callable(self.remote) else self.remote
        result: Embeddings = embedder.embed(model, texts, credentials)
        return result
