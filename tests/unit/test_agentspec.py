"""AgentSpec: the model, its markdown form (front matter + headed sections) and the round trips.

Property: for every spec hypothesis generates, markdown -> JSON -> markdown is byte-stable and
JSON -> markdown -> JSON gives the same spec. Malformed markdown names the line and the section.
"""

from __future__ import annotations

import json
import string
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nexod.domain.agents import CATALOGUE, AgentSpec, AgentSpecInvalid, from_json, parse, render, tool_catalog
from nexod.domain.agents.spec import check_section_text

UUIDS = st.uuids().map(str)
# Text of a section: words, punctuation and markdown (lists, emphasis, code, sub-headings), many lines.
LINE = st.text(alphabet=string.ascii_letters + string.digits + " .,;:!?*_`-+>#()[]'\"/\\|~é漢😀\t", max_size=60)
TEXT = st.lists(LINE, min_size=1, max_size=6).map("\n".join)


def _valid_text(text: str) -> bool:
    text = text.replace("\r", "\n").strip()
    if not text:
        return False
    try:
        check_section_text(text)
    except ValueError:
        return False
    return True


SECTION_TEXT = TEXT.filter(_valid_text)
MODELS = st.sampled_from(["default", "openai/gpt-4o-mini", "anthropic/claude-3-5-haiku", "ollama/llama3"])
NAMES = (
    st.text(alphabet=string.ascii_letters + string.digits + " -_:'\"#é", min_size=1, max_size=40)
    .map(str.strip)
    .filter(bool)
)
JSON_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**9), 10**9),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
)
SCHEMAS = st.one_of(
    st.none(),
    st.builds(
        lambda props, required: {
            "type": "object",
            "properties": {k: {"type": t} for k, t in props.items()},
            "required": sorted(set(required) & set(props)),
        },
        st.dictionaries(st.text(min_size=1, max_size=10), st.sampled_from(["string", "number", "boolean"]), max_size=4),
        st.lists(st.text(min_size=1, max_size=10), max_size=3),
    ),
    st.fixed_dictionaries(
        {"type": st.just("string"), "enum": st.lists(JSON_SCALARS, min_size=1, max_size=3, unique_by=repr)}
    ),
)
TOOL_CONFIGS: dict[str, st.SearchStrategy[dict[str, Any]]] = {
    "http": st.fixed_dictionaries(
        {},
        optional={
            "credential": st.from_regex(r"[A-Za-z][A-Za-z0-9_-]{0,10}", fullmatch=True),
            "base_url": st.sampled_from(["https://api.example.com/", "http://intranet.local/v1"]),
            "methods": st.lists(st.sampled_from(["GET", "POST", "PUT"]), min_size=1, max_size=3),
            "timeout_seconds": st.integers(1, 300),
        },
    ),
    "web_fetch": st.fixed_dictionaries({}, optional={"max_chars": st.integers(500, 200_000)}),
    "knowledge_search": st.fixed_dictionaries({}, optional={"knowledge_base": UUIDS, "top_k": st.integers(1, 50)}),
    "run_flow": st.fixed_dictionaries({"flow": UUIDS}, optional={"timeout_seconds": st.integers(1, 3600)}),
    "calculator": st.just({}),
}


@st.composite
def specs(draw: st.DrawFn) -> AgentSpec:
    tool_names = draw(st.lists(st.sampled_from(sorted(CATALOGUE)), unique=True, max_size=5))
    return AgentSpec.model_validate(
        {
            "name": draw(NAMES),
            "role": draw(SECTION_TEXT),
            "goal": draw(SECTION_TEXT),
            "backstory": draw(SECTION_TEXT),
            "model": draw(MODELS),
            "fallback_models": draw(st.lists(MODELS, unique=True, max_size=3)),
            "tools": [{"name": n, "config": draw(TOOL_CONFIGS[n])} for n in tool_names],
            "knowledge_bases": draw(st.lists(UUIDS, unique=True, max_size=3)),
            "memory": draw(st.sampled_from(["none", "run", "long_term"])),
            "max_iterations": draw(st.integers(1, 100)),
            "max_execution_seconds": draw(st.integers(10, 3600)),
            "temperature": draw(st.none() | st.floats(0, 2, allow_nan=False)),
            "allow_delegation": draw(st.booleans()),
            "output_schema": draw(SCHEMAS),
        }
    )


EXAMPLE = {
    "name": "Researcher",
    "role": "Senior researcher",
    "goal": "Find three facts about {topic}.",
    "backstory": "You check every source.\n\n## Habits\n\n- cite\n- be brief",
    "model": "default",
    "tools": [{"name": "http", "config": {"credential": "github"}}, {"name": "calculator", "config": {}}],
    "output_schema": {"type": "object", "properties": {"facts": {"type": "array"}}, "required": ["facts"]},
}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(specs())
def test_markdown_json_markdown_is_byte_stable(spec: AgentSpec) -> None:
    # Given the markdown of a spec
    markdown = render(spec)
    # When it is parsed to JSON, the JSON sent over the wire and read back, and rendered again
    document = json.loads(json.dumps(parse(markdown).document()))
    again = render(from_json(document))
    # Then the bytes are the same and so is the spec
    assert again == markdown
    assert from_json(document) == spec


def test_the_markdown_reads_as_a_document_with_front_matter_and_sections() -> None:
    # Given a spec with tools and an output schema
    spec = from_json(EXAMPLE)
    # When it is rendered
    markdown = render(spec)
    # Then the scalars are YAML front matter and each part is a headed section, in order
    assert markdown.startswith("---\nname: Researcher\nmodel: default\n")
    headings = [line for line in markdown.splitlines() if line.startswith("#")]
    assert headings == [
        "# Role",
        "# Goal",
        "# Backstory",
        "## Habits",
        "# Tools",
        "## http",
        "## calculator",
        "# Output schema",
    ]
    assert '```json\n{\n  "credential": "github"\n}\n```' in markdown
    assert parse(markdown) == spec


def _problem(markdown: str) -> dict[str, Any]:
    with pytest.raises(AgentSpecInvalid) as caught:
        parse(markdown)
    first: dict[str, Any] = caught.value.details[0]
    assert caught.value.message == first["message"]
    return first


def test_a_bad_front_matter_value_names_its_line() -> None:
    markdown = render(from_json(EXAMPLE)).replace("max_iterations: 15", "max_iterations: many")
    problem = _problem(markdown)
    assert (problem["line"], problem["section"], problem["field"]) == (7, "front matter", "max_iterations")
    assert problem["message"].startswith("line 7 (front matter): max_iterations:")


def test_yaml_that_does_not_parse_names_its_line() -> None:
    markdown = render(from_json(EXAMPLE)).replace("memory: none", "memory: [none")
    problem = _problem(markdown)
    assert problem["section"] == "front matter" and problem["line"] in (7, 8)


def test_unknown_and_duplicate_front_matter_keys_are_refused() -> None:
    markdown = render(from_json(EXAMPLE)).replace("memory: none\n", "memory: none\ncolour: blue\nmodel: x\n")
    with pytest.raises(AgentSpecInvalid) as caught:
        parse(markdown)
    messages = [p["message"] for p in caught.value.details]
    assert "line 7 (front matter): unknown key 'colour'" in messages[0]
    assert "line 8 (front matter): 'model' appears twice" in messages[1]


def test_a_missing_section_and_an_unknown_one_are_named() -> None:
    markdown = render(from_json(EXAMPLE)).replace("# Goal\n", "# Aim\n")
    with pytest.raises(AgentSpecInvalid) as caught:
        parse(markdown)
    by_section = {p["section"]: p for p in caught.value.details}
    assert "unknown section 'Aim'" in by_section["Aim"]["message"]
    assert by_section["Aim"]["line"] == markdown.splitlines().index("# Aim") + 1
    assert "the '# Goal' section is missing" in by_section["Goal"]["message"]


def test_a_bad_tool_config_names_the_tool_heading_line() -> None:
    markdown = render(from_json(EXAMPLE)).replace('"credential": "github"', '"credential": "no spaces allowed"')
    problem = _problem(markdown)
    assert problem["section"] == "Tools"
    assert problem["line"] == markdown.splitlines().index("## http") + 1
    assert "http config credential" in problem["message"]


def test_an_unknown_tool_is_refused_naming_the_catalogue() -> None:
    markdown = render(from_json(EXAMPLE)).replace("## calculator", "## shell")
    problem = _problem(markdown)
    assert problem["line"] == markdown.splitlines().index("## shell") + 1
    assert "'http'" in problem["message"] and "'calculator'" in problem["message"]


def test_invalid_json_in_the_output_schema_names_the_line_inside_the_block() -> None:
    markdown = render(from_json(EXAMPLE)).replace('"required": [', '"required": [,')
    problem = _problem(markdown)
    assert problem["section"] == "Output schema"
    assert problem["line"] == next(i for i, line in enumerate(markdown.splitlines(), 1) if '"required": [,' in line)
    assert "not valid JSON" in problem["message"]


def test_an_output_schema_that_is_not_a_json_schema_is_refused() -> None:
    markdown = render(from_json(EXAMPLE)).replace('"type": "array"', '"type": "list"')
    problem = _problem(markdown)
    assert problem["section"] == "Output schema" and "not a valid JSON Schema" in problem["message"]


def test_text_before_the_first_section_is_refused() -> None:
    markdown = render(from_json(EXAMPLE)).replace("---\n\n# Role", "---\n\nHello\n\n# Role")
    problem = _problem(markdown)
    assert (problem["line"], problem["section"]) == (13, "front matter")


def test_a_document_without_front_matter_is_refused_on_line_1() -> None:
    problem = _problem("# Role\n\nx\n")
    assert (problem["line"], problem["section"]) == (1, "front matter")


def test_a_heading_inside_a_code_block_is_text_not_a_section() -> None:
    spec = from_json({**EXAMPLE, "backstory": "Example:\n\n```\n# Goal\n```"})
    assert parse(render(spec)) == spec


@pytest.mark.parametrize(
    "text",
    ["a\n# Goal", "Title\n=====", "```\nnever closed", "<pre>\nopen"],
    ids=["atx", "setext", "fence", "html"],
)
def test_text_that_would_break_the_sections_is_refused(text: str) -> None:
    with pytest.raises(AgentSpecInvalid) as caught:
        from_json({**EXAMPLE, "role": text})
    assert caught.value.details[0]["field"] == "spec.role"


def test_json_specs_are_strict_and_name_the_field() -> None:
    with pytest.raises(AgentSpecInvalid) as caught:
        from_json({**EXAMPLE, "max_iterations": "10", "tools": [{"name": "http"}, {"name": "http"}]})
    fields = {p["field"] for p in caught.value.details}
    assert fields == {"spec.max_iterations", "spec.tools"}


def test_equal_specs_hash_equal_whatever_the_key_order() -> None:
    a = from_json(EXAMPLE)
    b = from_json(dict(reversed(list(EXAMPLE.items()))))
    assert a.spec_hash() == b.spec_hash()
    assert from_json({**EXAMPLE, "goal": "other"}).spec_hash() != a.spec_hash()


def test_the_catalogue_is_data_with_a_schema_per_tool() -> None:
    catalogue = {t["name"]: t for t in tool_catalog()}
    assert list(catalogue) == ["http", "web_fetch", "knowledge_search", "run_flow", "calculator"]
    assert "credential" in catalogue["http"]["config_schema"]["properties"]
    assert catalogue["run_flow"]["config_schema"]["required"] == ["flow"]
    assert catalogue["calculator"]["arguments_schema"]["required"] == ["expression"]
