"""Templates over upstream outputs."""

from __future__ import annotations

import pytest

from nexod.domain.templating import TemplateError, as_reference, find_paths, render

DATA = {
    "input": {"city": "Oslo", "tags": ["a", "b"]},
    "nodes": {"fetch": {"output": {"status": 200, "body": {"title": "Hi", "items": [{"n": 1}]}}}},
    "run": {"id": "r1"},
}


def test_a_whole_template_keeps_the_value_type():
    assert render("{{ nodes.fetch.output.body }}", DATA) == {"title": "Hi", "items": [{"n": 1}]}
    assert render("{{ nodes.fetch.output.status }}", DATA) == 200


def test_templates_inside_text_are_interpolated():
    assert render("City {{ input.city }} said {{ nodes.fetch.output.body.items }}", DATA) == 'City Oslo said [{"n":1}]'


def test_indexes_and_nested_structures_render():
    value = {"q": ["{{ input.tags[1] }}", {"n": "{{ nodes.fetch.output.body.items[0].n }}"}]}
    assert render(value, DATA) == {"q": ["b", {"n": 1}]}


def test_a_missing_key_names_the_path_and_the_keys_that_exist():
    # Given a typo in the field name
    with pytest.raises(TemplateError) as caught:
        render("{{ nodes.fetch.output.body.titel }}", DATA)
    # Then the error says what was missing, where, and what exists
    assert "'titel' not found in nodes.fetch.output.body (keys: items, title)" in str(caught.value)


def test_a_node_without_output_is_explained():
    with pytest.raises(TemplateError, match="node 'other' has no output in this run"):
        render("{{ nodes.other.output }}", DATA)


def test_out_of_range_index():
    with pytest.raises(TemplateError, match=r"no index \[5\]"):
        render("{{ input.tags[5] }}", DATA)


def test_unknown_roots_and_bad_paths_are_rejected_at_parse_time():
    with pytest.raises(TemplateError, match="unknown root 'vault'"):
        find_paths("{{ vault.key }}")
    with pytest.raises(TemplateError, match="cannot parse"):
        find_paths("{{ input.a b }}")


def test_secrets_resolve_only_through_a_resolver():
    # Given a template naming a credential inside a longer string and alone
    template = {"url": "https://x/{{ secrets.gh.token }}?q={{ input.q }}", "key": "{{ secrets.k }}"}
    data = {"input": {"q": "nexod"}}
    # When rendered without a resolver / Then it is an error naming the reference
    with pytest.raises(TemplateError, match=r"'\{\{ secrets.gh.token \}\}': credentials cannot be used here"):
        render(template, data)
    # When rendered with one / Then each reference gets its value
    values = {"secrets.gh.token": "T0KEN", "secrets.k": "K3Y"}
    assert render(template, data, lambda p: values[p.text]) == {"url": "https://x/T0KEN?q=nexod", "key": "K3Y"}
    # And with the recording resolver the references stay as written
    assert render(template, data, as_reference) == {
        "url": "https://x/{{ secrets.gh.token }}?q=nexod",
        "key": "{{ secrets.k }}",
    }
