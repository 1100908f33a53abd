"""Knowledge bases (issue 10): chunking with overlap, metadata and filter rules, embedding models.

Pure: the vector stores, embedding models and document parsers are adapters behind `nexod.ports.knowledge`.
The filter language is the subset of Pinecone's metadata filter both stores implement alike (the contract
suite runs it against both): `{"field": value}` (equality) or `{"field": {"$op": value}}` with `$eq`,
`$ne`, `$gt`, `$gte`, `$lt`, `$lte`, `$in`, `$nin`; several fields must all match.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from .errors import InvalidInput, PayloadTooLarge

StoreKind = Literal["pgvector", "pinecone"]
STORES: tuple[StoreKind, ...] = ("pgvector", "pinecone")

# The offline model that ships inside its wheel (`wordllama`, 256 dimensions): the local default.
OFFLINE_EMBEDDING_MODEL = "wordllama"
# Dimensions of the embedding models a knowledge base may name without saying them (others name them).
KNOWN_DIMENSIONS: dict[str, int] = {
    OFFLINE_EMBEDDING_MODEL: 256,
    "openai/text-embedding-3-small": 1536,
    "openai/text-embedding-ada-002": 1536,
    "text-embedding-3-small": 1536,
    "text-embedding-ada-002": 1536,
    "mistral/mistral-embed": 1024,
    "cohere/embed-english-v3.0": 1024,
    "cohere/embed-multilingual-v3.0": 1024,
    "gemini/text-embedding-004": 768,
    "bedrock/amazon.titan-embed-text-v2:0": 1024,
}
# pgvector indexes (HNSW) vectors of at most 2,000 dimensions; migration 0015 indexes these ones.
MAX_DIMENSIONS = 2000
INDEXED_DIMENSIONS = (256, 384, 512, 768, 1024, 1536)

# Documents: what the API accepts. Its request bodies are at most 2 MiB (functions/api/door.py), which a
# base64-encoded 1 MiB file fits with its JSON envelope.
MAX_DOCUMENT_BYTES = 1024 * 1024
MAX_DOCUMENT_CHARS = 2_000_000  # extracted text
MAX_CHUNKS_PER_DOCUMENT = 5_000
CHUNK_CHARS = 1_000
CHUNK_OVERLAP = 200
MAX_TOP_K = 50
MAX_QUERY_CHARS = 8_000

CONTENT_TYPES = ("text/plain", "text/markdown", "text/html", "application/pdf")

_FIELD = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,63}$")
MAX_METADATA_KEYS = 32
MAX_METADATA_BYTES = 8 * 1024
_OPERATORS = ("$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in", "$nin")
Scalar = str | int | float | bool


def dimensions_of(model: str, given: int | None) -> int:
    """The vector size a knowledge base on `model` stores: the known one, else what the caller says."""
    known = KNOWN_DIMENSIONS.get(model)
    if given is not None:
        if not 1 <= given <= MAX_DIMENSIONS:
            raise InvalidInput(f"dimensions: between 1 and {MAX_DIMENSIONS}", {"field": "dimensions"})
        if known is not None and given != known:
            raise InvalidInput(
                f"dimensions: model '{model}' makes vectors of {known} dimensions, not {given}",
                {"field": "dimensions", "expected": known},
            )
        return given
    if known is None:
        raise InvalidInput(
            f"dimensions: model '{model}' is not one whose vector size Nexod knows; say it (dimensions)",
            {"field": "dimensions", "known_models": sorted(KNOWN_DIMENSIONS)},
        )
    if known > MAX_DIMENSIONS:
        raise InvalidInput(f"embedding_model: '{model}' makes more than {MAX_DIMENSIONS} dimensions")
    return known


def check_metadata(metadata: Any, where: str = "metadata") -> dict[str, Any]:
    """Flat metadata both stores keep: names like identifiers; strings, numbers, booleans or lists of strings."""
    if metadata is None:
        return {}
    if not isinstance(metadata, dict):
        raise InvalidInput(f"{where}: an object of names to values", {"field": where})
    if len(metadata) > MAX_METADATA_KEYS:
        raise InvalidInput(f"{where}: at most {MAX_METADATA_KEYS} entries", {"field": where})
    for key, value in metadata.items():
        if not isinstance(key, str) or not _FIELD.match(key):
            raise InvalidInput(
                f"{where}.{key}: names start with a letter and hold letters, digits, '_', '.' or '-' (at most 64)",
                {"field": f"{where}.{key}"},
            )
        if isinstance(value, list):
            if not all(isinstance(v, str) for v in value):
                raise InvalidInput(f"{where}.{key}: a list may hold strings only", {"field": f"{where}.{key}"})
        elif not isinstance(value, str | int | float | bool) or value != value:  # NaN
            raise InvalidInput(
                f"{where}.{key}: a string, number, boolean or list of strings", {"field": f"{where}.{key}"}
            )
    if len(repr(metadata)) > MAX_METADATA_BYTES:
        raise PayloadTooLarge(f"{where}: at most {MAX_METADATA_BYTES} bytes", {"field": where})
    return dict(metadata)


def check_filter(value: Any, where: str = "filter") -> dict[str, dict[str, Any]]:
    """A metadata filter in the normal form `{field: {op: value}}`, or InvalidInput naming the field."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidInput(f"{where}: an object of metadata names to conditions", {"field": where})
    normal: dict[str, dict[str, Any]] = {}
    for key, condition in value.items():
        at = f"{where}.{key}"
        if not isinstance(key, str) or not _FIELD.match(key):
            raise InvalidInput(f"{at}: not a metadata name (operators such as $and are not supported)", {"field": at})
        if not isinstance(condition, dict):
            condition = {"$eq": condition}
        if not condition:
            raise InvalidInput(f"{at}: an empty condition", {"field": at})
        for op, operand in condition.items():
            if op not in _OPERATORS:
                raise InvalidInput(f"{at}.{op}: operators are {', '.join(_OPERATORS)}", {"field": f"{at}.{op}"})
            if op in ("$in", "$nin"):
                if not isinstance(operand, list) or not operand or not all(_scalar(v) for v in operand):
                    raise InvalidInput(f"{at}.{op}: a non-empty list of strings or numbers", {"field": f"{at}.{op}"})
            elif op in ("$gt", "$gte", "$lt", "$lte"):
                if isinstance(operand, bool) or not isinstance(operand, int | float):
                    raise InvalidInput(f"{at}.{op}: a number", {"field": f"{at}.{op}"})
            elif not _scalar(operand):
                raise InvalidInput(f"{at}.{op}: a string, number or boolean", {"field": f"{at}.{op}"})
        normal[key] = dict(condition)
    return normal


def _scalar(value: Any) -> bool:
    return isinstance(value, str | int | float | bool) and value == value


def matches(metadata: dict[str, Any], normal_filter: dict[str, dict[str, Any]]) -> bool:
    """Whether chunk metadata passes a filter (the meaning both stores implement; Pinecone's semantics:
    a list field matches `$eq`/`$in` when any of its elements does, and a missing field fails every
    operator except `$ne` and `$nin`)."""
    for key, condition in normal_filter.items():
        present = key in metadata
        value = metadata.get(key)
        values = value if isinstance(value, list) else [value]
        for op, operand in condition.items():
            if op == "$eq":
                ok = present and _holds(values, [operand])
            elif op == "$ne":
                ok = not present or not _holds(values, [operand])
            elif op == "$in":
                ok = present and _holds(values, operand)
            elif op == "$nin":
                ok = not present or not _holds(values, operand)
            else:
                if not present or isinstance(value, bool) or not isinstance(value, int | float):
                    ok = False
                else:
                    ok = {"$gt": value > operand, "$gte": value >= operand, "$lt": value < operand}.get(
                        op, value <= operand
                    )
            if not ok:
                return False
    return True


def _holds(values: list[Any], wanted: list[Any]) -> bool:
    """Whether any value equals any wanted one, booleans never equal to numbers (as in JSON)."""
    return any(isinstance(v, bool) is isinstance(w, bool) and v == w for v in values for w in wanted)


def chunk_text(text: str, size: int = CHUNK_CHARS, overlap: int = CHUNK_OVERLAP) -> list[str]:
    """Split text into chunks of at most `size` characters, each starting `overlap` characters before the
    previous one ended. Cuts fall on a paragraph break, else a sentence end, else a space, in the last
    third of the window, so chunks rarely cut words."""
    if overlap >= size:
        raise ValueError("overlap must be smaller than size")
    text = re.sub(r"[ \t]+\n", "\n", text).strip()
    if not text:
        return []
    chunks: list[str] = []
    start = 0
    while start < len(text):
        end = min(start + size, len(text))
        if end < len(text):
            end = _cut(text, start + (2 * size) // 3, end)
        piece = text[start:end].strip()
        if piece:
            chunks.append(piece)
        if end >= len(text):
            break
        start = max(end - overlap, start + 1)
        # Start the next chunk at a word boundary inside the overlap.
        space = text.find(" ", start, end)
        if space != -1 and space + 1 < end:
            start = space + 1
    return chunks


def _cut(text: str, lo: int, hi: int) -> int:
    for sep in ("\n\n", "\n", ". ", "? ", "! ", " "):
        at = text.rfind(sep, lo, hi)
        if at != -1:
            return at + len(sep)
    return hi


def chunk_id(document_id: str, ordinal: int) -> str:
    """A chunk's id in its namespace: the document's id and the chunk's position (`<doc>#<n>`), so one
    document's chunks share a prefix (Pinecone lists ids by prefix) and re-indexing overwrites them."""
    return f"{document_id}#{ordinal}"
