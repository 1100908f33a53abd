"""`{{ nodes.fetch.output.body.title }}` templates over a run's data, with errors that name the path."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

_TAG = re.compile(r"\{\{\s*(.*?)\s*\}\}", re.DOTALL)
_SEGMENT = re.compile(r"\.([A-Za-z_][A-Za-z0-9_\-]*)|\[(-?\d+)\]|\[\s*'([^']*)'\s*\]|\[\s*\"([^\"]*)\"\s*\]")
_ROOT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
ROOTS = ("input", "nodes", "run", "secrets")


class TemplateError(ValueError):
    """A template that cannot be parsed or a path that is missing from the data."""


@dataclass(frozen=True)
class TemplatePath:
    text: str
    parts: tuple[str | int, ...]

    @property
    def node(self) -> str | None:
        """The node id a `nodes.<id>...` path reads from."""
        if len(self.parts) >= 2 and self.parts[0] == "nodes" and isinstance(self.parts[1], str):
            return self.parts[1]
        return None


def parse_path(text: str) -> TemplatePath:
    root = _ROOT.match(text)
    if not root:
        raise TemplateError(f"'{{{{ {text} }}}}' must start with one of {', '.join(ROOTS)}")
    parts: list[str | int] = [root.group(0)]
    if parts[0] not in ROOTS:
        raise TemplateError(f"'{{{{ {text} }}}}': unknown root '{parts[0]}' (use {', '.join(ROOTS)})")
    i = root.end()
    while i < len(text):
        m = _SEGMENT.match(text, i)
        if not m:
            raise TemplateError(f"'{{{{ {text} }}}}': cannot parse the path at '{text[i:]}'")
        name, index, quoted1, quoted2 = m.groups()
        if index is not None:
            parts.append(int(index))
        else:
            parts.append(name if name is not None else (quoted1 if quoted1 is not None else quoted2))
        i = m.end()
    if parts[0] == "nodes" and (len(parts) < 2 or not isinstance(parts[1], str)):
        raise TemplateError(f"'{{{{ {text} }}}}': name a node, e.g. nodes.fetch.output")
    return TemplatePath(text, tuple(parts))


def find_paths(value: Any) -> list[TemplatePath]:
    """Every template path in a JSON value (strings anywhere inside lists and objects)."""
    found: list[TemplatePath] = []
    if isinstance(value, str):
        found.extend(parse_path(m.group(1)) for m in _TAG.finditer(value))
    elif isinstance(value, dict):
        for k, v in value.items():
            found.extend(find_paths(k))
            found.extend(find_paths(v))
    elif isinstance(value, list):
        for v in value:
            found.extend(find_paths(v))
    return found


# Resolves a `secrets.NAME[.field]` path to the credential's value, at the moment of use (the runtime's
# resolver; or one that writes the reference back, for the recorded copy of a node's input).
SecretResolver = Callable[[TemplatePath], str]


def resolve(path: TemplatePath, data: dict[str, Any], secrets: SecretResolver | None = None) -> Any:
    if path.parts[0] == "secrets":
        if secrets is None:
            raise TemplateError(f"'{{{{ {path.text} }}}}': credentials cannot be used here")
        return secrets(path)
    current: Any = data
    walked = str(path.parts[0])
    for j, part in enumerate(path.parts):
        if isinstance(part, int):
            if not isinstance(current, list) or not -len(current) <= part < len(current):
                size = len(current) if isinstance(current, list) else "not a list"
                raise TemplateError(f"'{{{{ {path.text} }}}}': no index [{part}] in {walked} ({size})")
            current = current[part]
            walked += f"[{part}]"
            continue
        if not isinstance(current, dict) or part not in current:
            if j == 1 and path.parts[0] == "nodes":
                raise TemplateError(
                    f"'{{{{ {path.text} }}}}': node '{part}' has no output in this run "
                    "(it was skipped, failed or is not upstream)"
                )
            keys = ", ".join(sorted(map(str, current))[:20]) if isinstance(current, dict) else ""
            hint = f" (keys: {keys})" if keys else f" ({walked} is {type(current).__name__})"
            raise TemplateError(f"'{{{{ {path.text} }}}}': '{part}' not found in {walked}{hint}")
        current = current[part]
        if j > 0:
            walked += f".{part}"
    return current


def render(value: Any, data: dict[str, Any], secrets: SecretResolver | None = None) -> Any:
    """Render every template in a JSON value.

    A string that is exactly one `{{ path }}` becomes the value itself (object, number, ...); templates
    inside longer strings are interpolated, non-strings as compact JSON. `secrets` resolves
    `{{ secrets... }}` paths; without it they are an error.
    """
    if isinstance(value, str):
        whole = _TAG.fullmatch(value.strip()) if "{{" in value else None
        if whole and value.strip().count("{{") == 1:
            return resolve(parse_path(whole.group(1)), data, secrets)

        def sub(m: re.Match[str]) -> str:
            v = resolve(parse_path(m.group(1)), data, secrets)
            return v if isinstance(v, str) else json.dumps(v, separators=(",", ":"), default=str)

        return _TAG.sub(sub, value) if "{{" in value else value
    if isinstance(value, dict):
        return {render(k, data, secrets): render(v, data, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [render(v, data, secrets) for v in value]
    return value


def as_reference(path: TemplatePath) -> str:
    """A secret resolver for recorded copies: the reference itself stands where the value would."""
    return f"{{{{ {path.text} }}}}"
