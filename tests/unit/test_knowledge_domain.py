"""Knowledge bases without a database: chunking with overlap, the filter language, metadata rules, and the
document reader's fallbacks."""

from __future__ import annotations

import itertools

import pytest

from nexod.adapters.documents import DocumentTextReader, visible_text
from nexod.domain.errors import InvalidInput
from nexod.domain.knowledge import check_filter, check_metadata, chunk_text, dimensions_of, matches


def test_chunks_overlap_and_cut_at_sentence_ends():
    text = " ".join(f"Sentence {n} is here." for n in range(300))
    chunks = chunk_text(text, size=200, overlap=50)
    assert all(len(c) <= 200 for c in chunks)
    assert all(c.endswith(".") for c in chunks[:-1])  # cut after a sentence, not inside a word
    for first, second in itertools.pairwise(chunks):
        assert second[:20] in first  # each chunk starts inside the previous one
    assert "Sentence 299 is here." in chunks[-1]
    assert chunk_text("   \n ") == []


def test_a_filter_is_normalised_and_a_bad_one_names_its_place():
    assert check_filter({"a": 1, "b": {"$in": ["x"]}}) == {"a": {"$eq": 1}, "b": {"$in": ["x"]}}
    for bad, place in [
        ({"a": {"$regex": "x"}}, "filter.a.$regex"),
        ({"$and": []}, "filter.$and"),
        ({"a": {"$gt": "1"}}, "filter.a.$gt"),
        ({"a": {"$in": []}}, "filter.a.$in"),
        ([1], "filter"),
    ]:
        with pytest.raises(InvalidInput) as raised:
            check_filter(bad)
        assert raised.value.message.startswith(place)


def test_matching_treats_lists_missing_fields_and_booleans_like_pinecone():
    meta = {"tags": ["a", "b"], "n": 3, "flag": True}
    assert matches(meta, check_filter({"tags": "a"}))
    assert matches(meta, check_filter({"missing": {"$ne": "x"}}))
    assert not matches(meta, check_filter({"missing": "x"}))
    assert not matches(meta, check_filter({"flag": 1}))
    assert matches(meta, check_filter({"n": {"$gte": 3, "$lt": 4}}))


def test_metadata_is_flat_and_dimensions_are_known_or_said():
    assert check_metadata({"a": ["x"], "b": 1.5}) == {"a": ["x"], "b": 1.5}
    with pytest.raises(InvalidInput):
        check_metadata({"a": {"b": 1}})
    assert dimensions_of("wordllama", None) == 256
    assert dimensions_of("acme/embed", 768) == 768
    with pytest.raises(InvalidInput):
        dimensions_of("acme/embed", None)
    with pytest.raises(InvalidInput):
        dimensions_of("wordllama", 512)


def test_html_without_an_article_keeps_the_visible_text_only():
    html = "<html><head><title>T</title><style>p{}</style></head><body><nav>Menu</nav><p>Hello <b>world</b></p>"
    html += "<script>track()</script><div>Second block</div><footer>(c)</footer></body></html>"
    assert visible_text(html) == "Hello world\nSecond block"
    assert DocumentTextReader().text_of(b"<script>x()</script>", "text/html") == ""
