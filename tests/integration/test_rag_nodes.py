"""The `rag_upsert` and `rag_search` node kinds in real runs on the local stack (moto's interpreter, the
LLM runner, wordllama embeddings, pgvector)."""

from __future__ import annotations

import pytest

from tests.support.api import Api
from tests.unit.flows import edge, node

from .conftest import publish, run, saved_but_unpublishable

pytestmark = pytest.mark.integration

NOTE = "The office coffee machine is descaled every Friday. Ask Dana for the key to the supply cupboard."


def test_a_flow_writes_text_into_a_knowledge_base_and_searches_it(alice: Api, workspace: str):
    # Given a knowledge base and a flow that writes the run's note into it, then searches it
    kb = alice.ok("POST", f"/v1/workspaces/{workspace}/knowledge-bases", {"name": "notes"})["id"]
    flow = publish(
        alice,
        workspace,
        {
            "nodes": [
                node("start", "input"),
                node(
                    "remember",
                    "rag_upsert",
                    knowledge_base="notes",
                    text="{{ input.note }}",
                    document_name="note of {{ input.author }}",
                    metadata={"author": "ops"},
                ),
                node(
                    "recall",
                    "rag_search",
                    knowledge_base=kb,
                    query="{{ input.question }}",
                    top_k=2,
                    filter={"author": "ops"},
                ),
                node("end", "output", value="{{ nodes.recall.output.context }}"),
            ],
            "edges": [edge("start", "remember"), edge("remember", "recall"), edge("recall", "end")],
        },
    )
    # When it runs
    done = run(
        alice, workspace, flow, {"note": NOTE, "author": "sam", "question": "when is the espresso maker cleaned?"}
    )
    # Then the search found the note the run wrote, with its score and metadata, and the output is its text
    assert done["status"] == "SUCCEEDED", done
    nodes = alice.nodes(workspace, done["id"])
    written = nodes["remember"]["output"]
    assert written["chunks"] == 1 and written["knowledge_base"] == kb
    match = nodes["recall"]["output"]["matches"][0]
    assert match["document_id"] == written["document_id"] and match["score"] > 0.3
    assert match["metadata"]["author"] == "ops" and match["metadata"]["run_id"] == done["id"]
    assert "descaled" in done["output"]
    # And the embedding model is recorded on the node runs like an LLM call's
    assert nodes["recall"]["model"] == "wordllama" and nodes["recall"]["tokens_in"] > 0
    # And the document shows in the knowledge base, named as the flow said
    docs = alice.ok("GET", f"/v1/workspaces/{workspace}/knowledge-bases/{kb}/documents")["items"]
    assert [d["name"] for d in docs] == ["note of sam"]


def test_a_missing_knowledge_base_fails_the_node_naming_it(alice: Api, workspace: str):
    flow = publish(
        alice,
        workspace,
        {
            "nodes": [node("start", "input"), node("recall", "rag_search", knowledge_base="nowhere", query="x")],
            "edges": [edge("start", "recall")],
        },
    )
    done = run(alice, workspace, flow, {})
    assert done["status"] == "FAILED"
    error = alice.nodes(workspace, done["id"])["recall"]["error"]
    assert "knowledge_base" in str(error) and "nowhere" in str(error)


def test_a_bad_filter_is_a_draft_problem_and_refused_at_publish(alice: Api, workspace: str):
    definition = {
        "nodes": [
            node("start", "input"),
            node("recall", "rag_search", knowledge_base="k", query="x", filter={"a": {"$regex": "x"}}),
        ],
        "edges": [edge("start", "recall")],
    }
    problems = saved_but_unpublishable(alice, workspace, definition, "bad")
    assert "recall" in problems and "$regex" in problems
