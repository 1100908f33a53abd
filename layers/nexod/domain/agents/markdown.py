"""An AgentSpec as markdown: YAML front matter for the scalars, one level-1 heading per section.

    ---
    name: researcher
    model: default
    ...
    ---

    # Role

    Senior researcher

    # Goal
    ...
    # Tools

    ## http

    ```json
    {
      "credential": "github"
    }
    ```

    # Output schema

    ```json
    {...}
    ```

`render` writes the canonical form and `parse` reads it back: `render(parse(text)) == text` for every
text `render` wrote, and `parse(render(spec)) == spec` (tests/unit/test_agentspec.py, with hypothesis).
Parsing uses PyYAML (front matter) and markdown-it-py (CommonMark block structure, so a `#` inside a code
block is not a heading). Only the `---` delimiters of the front matter are found by hand: two lines.
A malformed document raises `AgentSpecInvalid` naming the line and the section of every problem.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from ..errors import InvalidInput
from .spec import FRONT_MATTER, SECTIONS, AgentSpec, commonmark

if TYPE_CHECKING:
    from markdown_it.token import Token

# PyYAML and markdown-it are imported where they are used (about 25 ms and 60 ms here): only the agent
# routes need them, and every other route of the API Lambda keeps its cold start.

FENCE_INFO = "json"
FRONT = "front matter"


class AgentSpecInvalid(InvalidInput):
    """A spec (markdown or JSON) failed validation; `details` lists each problem with where it is."""

    code = "invalid_agent_spec"


def _json_block(value: Any) -> str:
    return f"```{FENCE_INFO}\n{json.dumps(value, indent=2, ensure_ascii=False)}\n```\n"


def render(spec: AgentSpec) -> str:
    """The canonical markdown of a spec."""
    import yaml

    doc = spec.document()
    front = {key: doc[key] for key in FRONT_MATTER}
    text = yaml.safe_dump(front, sort_keys=False, allow_unicode=True, default_flow_style=False, width=1_000_000)
    parts = [f"---\n{text}---\n"]
    for title, field in SECTIONS.items():
        value = doc[field]
        if field == "tools":
            if value:
                tools = [f"## {t['name']}\n" + (f"\n{_json_block(t['config'])}" if t["config"] else "") for t in value]
                parts.append(f"# {title}\n\n" + "\n".join(tools))
        elif field == "output_schema":
            if value is not None:
                parts.append(f"# {title}\n\n{_json_block(value)}")
        else:
            parts.append(f"# {title}\n\n{value}\n")
    return "\n".join(parts)


def _problem(line: int | None, section: str, message: str, field: str | None = None) -> dict[str, Any]:
    where = f"line {line} ({section})" if line is not None else f"({section})"
    return {"field": field or section, "in": "body", "line": line, "section": section, "message": f"{where}: {message}"}


def _fail(problems: list[dict[str, Any]]) -> AgentSpecInvalid:
    return AgentSpecInvalid(problems[0]["message"], problems)


class _Reader:
    """One parse: the document's lines, and where each field came from (for errors)."""

    def __init__(self, text: str) -> None:
        self.lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        self.problems: list[dict[str, Any]] = []
        self.where: dict[str, tuple[int, str]] = {}  # field (or "tools.N") -> (line, section)
        self.values: dict[str, Any] = {}

    def problem(self, line: int | None, section: str, message: str, field: str | None = None) -> None:
        self.problems.append(_problem(line, section, message, field))

    # -- front matter ---------------------------------------------------------------------------
    def front_matter(self) -> int:
        """Read the front matter; returns the index of the first line after it."""
        if not self.lines or self.lines[0].rstrip() != "---":
            self.problem(1, FRONT, "a spec starts with '---' and YAML front matter (name, model, ...)")
            return 0
        end = next((i for i in range(1, len(self.lines)) if self.lines[i].rstrip() == "---"), None)
        if end is None:
            self.problem(1, FRONT, "the front matter is not closed by a '---' line")
            return len(self.lines)
        text = "\n".join(self.lines[1:end])
        import yaml

        try:
            node = yaml.compose(text, Loader=yaml.SafeLoader)
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = mark.line + 2 if mark is not None else 2
            reason = getattr(exc, "problem", None) or str(exc)
            self.problem(line, FRONT, f"not valid YAML: {reason}")
            return end + 1
        if data is None:
            data, node = {}, None
        if not isinstance(data, dict) or not isinstance(node, yaml.MappingNode | type(None)):
            self.problem(2, FRONT, "the front matter is a YAML mapping of keys (name: ..., model: ...)")
            return end + 1
        seen: set[str] = set()
        for key_node, _ in node.value if node is not None else []:
            key, line = key_node.value, key_node.start_mark.line + 2
            if key in seen:
                self.problem(line, FRONT, f"'{key}' appears twice", key)
            elif key not in FRONT_MATTER:
                self.problem(line, FRONT, f"unknown key '{key}'; the front matter holds {', '.join(FRONT_MATTER)}", key)
            seen.add(key)
            self.where[key] = (line, FRONT)
        self.values.update({k: v for k, v in data.items() if k in FRONT_MATTER})
        return end + 1

    # -- sections -------------------------------------------------------------------------------
    def body(self, start: int) -> None:
        text = "\n".join(self.lines[start:])
        tokens = commonmark().parse(text)
        headings = [(i, t) for i, t in enumerate(tokens) if t.type == "heading_open" and t.tag == "h1" and t.level == 0]
        first = headings[0][1].map[0] if headings and headings[0][1].map else len(self.lines) - start
        for t in tokens:
            if t.level == 0 and t.nesting >= 0 and t.map and t.map[0] < first:
                self.problem(start + t.map[0] + 1, FRONT, "text after the front matter must be under a section heading")
                break
        seen: set[str] = set()
        for n, (i, token) in enumerate(headings):
            assert token.map is not None
            title = tokens[i + 1].content.strip()
            line = start + token.map[0] + 1
            content_start = start + token.map[1]
            nxt = headings[n + 1][1].map if n + 1 < len(headings) else None
            content_end = start + nxt[0] if nxt else len(self.lines)
            if title not in SECTIONS:
                self.problem(line, title, f"unknown section '{title}'; sections are {', '.join(SECTIONS)}")
                continue
            if title in seen:
                self.problem(line, title, f"section '{title}' appears twice")
                continue
            seen.add(title)
            field = SECTIONS[title]
            self.where[field] = (line, title)
            section_tokens = tokens[headings[n][0] + 3 : headings[n + 1][0] if n + 1 < len(headings) else len(tokens)]
            if field == "tools":
                self.tools(section_tokens, start, title, line)
            elif field == "output_schema":
                self.values[field] = self.json_section(section_tokens, start, title, line, field)
            else:
                self.values[field] = "\n".join(self.lines[content_start:content_end]).strip("\n")
        for title in ("Role", "Goal", "Backstory"):
            if title not in seen:
                self.problem(len(self.lines), title, f"the '# {title}' section is missing", SECTIONS[title])

    def json_section(self, tokens: list[Token], start: int, title: str, line: int, field: str) -> Any:
        blocks = [t for t in tokens if t.level == 0]
        if len(blocks) != 1 or blocks[0].type != "fence":
            at = start + blocks[0].map[0] + 1 if blocks and blocks[0].map else line
            self.problem(at, title, f"'# {title}' holds one ```{FENCE_INFO} code block and nothing else", field)
            return None
        return self.json_block(blocks[0], start, title, field)

    def json_block(self, fence: Token, start: int, title: str, field: str) -> Any:
        assert fence.map is not None
        at = start + fence.map[0] + 1
        if fence.info.strip() != FENCE_INFO:
            self.problem(at, title, f"the code block is marked ```{FENCE_INFO}", field)
            return None

        def refuse(constant: str) -> Any:
            raise ValueError(f"{constant} is not a JSON number")

        try:
            return json.loads(fence.content, parse_constant=refuse)
        except ValueError as exc:
            lineno = getattr(exc, "lineno", 0)
            self.problem(at + lineno, title, f"not valid JSON: {getattr(exc, 'msg', str(exc))}", field)
            return None

    def tools(self, tokens: list[Token], start: int, title: str, line: int) -> None:
        tools: list[dict[str, Any]] = []
        top = [n for n, t in enumerate(tokens) if t.level == 0 and t.nesting >= 0]
        k = 0
        while k < len(top):
            token = tokens[top[k]]
            at = start + (token.map[0] if token.map else 0) + 1
            if token.type != "heading_open" or token.tag != "h2":
                self.problem(
                    at, title, "'# Tools' lists '## <tool>' headings, each with an optional ```json config block"
                )
                return
            tool: dict[str, Any] = {"name": tokens[top[k] + 1].content.strip(), "config": {}}
            self.where[f"tools.{len(tools)}"] = (at, title)
            k += 1
            if k < len(top) and tokens[top[k]].type == "fence":
                tool["config"] = self.json_block(tokens[top[k]], start, title, f"tools.{len(tools)}")
                k += 1
            tools.append(tool)
        self.values["tools"] = tools

    # -- the model ------------------------------------------------------------------------------
    def locate(self, loc: tuple[int | str, ...]) -> tuple[int | None, str]:
        for depth in (2, 1):
            key = ".".join(str(p) for p in loc[:depth])
            if key in self.where:
                return self.where[key]
        field = str(loc[0]) if loc else ""
        if field in FRONT_MATTER:
            return (1, FRONT)
        title = next((t for t, f in SECTIONS.items() if f == field), FRONT)
        return (None, title)


def parse(text: str) -> AgentSpec:
    """The spec a markdown document describes, or AgentSpecInvalid naming the line and section of each problem."""
    reader = _Reader(text)
    start = reader.front_matter()
    if not reader.problems:
        reader.body(start)
    if reader.problems:
        raise _fail(reader.problems)
    try:
        return AgentSpec.model_validate(reader.values)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = tuple(err["loc"])
            line, section = reader.locate(loc)
            field = ".".join(str(p) for p in loc) or section
            message = err["msg"].removeprefix("Value error, ")
            if err["type"] == "missing" and section == FRONT:
                message = f"'{loc[0]}' is required"
            problems.append(_problem(line, section, f"{field}: {message}", field))
        raise _fail(problems) from None


def from_json(document: Any) -> AgentSpec:
    """The spec a JSON document describes, or AgentSpecInvalid naming each field."""
    try:
        return AgentSpec.model_validate(document)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            field = ".".join(str(p) for p in err["loc"]) or "(spec)"
            message = err["msg"].removeprefix("Value error, ")
            problems.append({"field": f"spec.{field}", "in": "body", "message": f"spec.{field}: {message}"})
        raise AgentSpecInvalid(problems[0]["message"], problems) from None
