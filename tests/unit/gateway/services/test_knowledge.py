import itertools
import re
import threading

import pytest

from gateway.errors import BadRequestError
from gateway.services.knowledge import (
    Document,
    KnowledgeCache,
    KnowledgeIndex,
    KnowledgeLimits,
    Passage,
    augment,
    chunk,
    fts_query,
    validate_documents,
)

LIMITS = KnowledgeLimits(max_documents=3, max_document_bytes=100, max_total_bytes=150, max_name_chars=10)


def _code(documents, limits=LIMITS):
    with pytest.raises(BadRequestError) as raised:
        validate_documents(documents, limits)
    return raised.value


# --- validation -------------------------------------------------------------------------------------------


def test_valid_documents_pass():
    validate_documents([Document("a.md", "x" * 100), Document("b.md", "y" * 50)], LIMITS)


def test_too_many_documents():
    error = _code([Document(f"d{i}", "text") for i in range(4)])
    assert error.code == "too_many_documents"
    assert "3" in error.message
    assert error.status_code == 400


def test_document_too_large_counts_utf8_bytes():
    validate_documents([Document("a.md", "x" * 100)], LIMITS)
    # 34 characters, 102 bytes: the limit is on bytes.
    error = _code([Document("ok.md", "hi"), Document("big.md", "€" * 34)])
    assert error.code == "document_too_large"
    assert "big.md" in error.message
    assert "100" in error.message
    assert error.details["document"] == "big.md"


def test_knowledge_too_large_sums_every_document():
    error = _code([Document("a", "x" * 80), Document("b", "y" * 80)])
    assert error.code == "knowledge_too_large"
    assert "150" in error.message


def test_duplicate_document_name():
    error = _code([Document("a.md", "one"), Document("a.md", "two")])
    assert error.code == "duplicate_document_name"
    assert "a.md" in error.message


def test_duplicate_names_differing_only_by_surrounding_space():
    assert _code([Document("a.md", "one"), Document(" a.md ", "two")]).code == "duplicate_document_name"


@pytest.mark.parametrize("text", ["", "   ", "\n\n\t"])
def test_empty_document(text):
    error = _code([Document("blank.md", text)])
    assert error.code == "empty_document"
    assert "blank.md" in error.message


@pytest.mark.parametrize("name", ["", "   ", "x" * 11])
def test_invalid_document_name(name):
    error = _code([Document(name, "text")])
    assert error.code == "invalid_document_name"
    assert "10" in error.message


def test_a_name_at_the_limit_is_fine():
    validate_documents([Document("x" * 10, "text")], LIMITS)


# --- chunking ---------------------------------------------------------------------------------------------


def _words(text):
    return re.findall(r"\S+", text)


def test_short_paragraphs_are_packed_together():
    paragraphs = [f"Paragraph {i} says something short." for i in range(6)]
    passages = chunk(Document("doc.md", "\n\n".join(paragraphs)), max_chars=100, overlap_chars=20)
    assert all(isinstance(p, Passage) and p.source == "doc.md" for p in passages)
    assert all(len(p.text) <= 100 for p in passages)
    # 34 characters each: two fit (34 + 2 + 34), three do not.
    assert [p.text for p in passages] == [
        "\n\n".join(paragraphs[0:2]),
        "\n\n".join(paragraphs[2:4]),
        "\n\n".join(paragraphs[4:6]),
    ]


def test_paragraphs_are_never_split_when_they_fit():
    text = "Alpha beta gamma.\n\nDelta epsilon.\r\n\r\nZeta eta theta iota."
    passages = chunk(Document("d", text), max_chars=30, overlap_chars=5)
    assert [p.text for p in passages] == ["Alpha beta gamma.", "Delta epsilon.", "Zeta eta theta iota."]


def test_a_whole_small_document_is_one_chunk():
    text = "First paragraph.\n\nSecond paragraph.\nStill second."
    assert [p.text for p in chunk(Document("d", text))] == [text]


def test_a_long_paragraph_is_split_on_word_boundaries_with_overlap():
    words = [f"word{i:03d}" for i in range(300)]
    text = " ".join(words)
    passages = chunk(Document("d", text), max_chars=200, overlap_chars=50)
    assert len(passages) > 1
    for passage in passages:
        assert len(passage.text) <= 200
        # Never mid-word: every piece is made of whole input words.
        assert set(_words(passage.text)) <= set(words)
    for previous, current in itertools.pairwise(passages):
        before, after = _words(previous.text), _words(current.text)
        shared = [w for w in after if w in before]
        assert shared, "consecutive pieces of a split paragraph overlap"
        assert after[: len(shared)] == before[-len(shared) :]
        overlap = len(" ".join(shared))
        assert 50 - len("word000 ") <= overlap <= 50
    covered = {w for p in passages for w in _words(p.text)}
    assert covered == set(words)


def test_a_long_paragraph_prefers_sentence_ends():
    sentences = [f"Sentence number {i} has a few words in it." for i in range(20)]
    passages = chunk(Document("d", " ".join(sentences)), max_chars=150, overlap_chars=0)
    assert len(passages) > 1
    for passage in passages:
        assert passage.text.endswith("."), passage.text
        assert len(passage.text) <= 150


def test_without_overlap_pieces_do_not_repeat():
    words = [f"w{i}" for i in range(200)]
    passages = chunk(Document("d", " ".join(words)), max_chars=60, overlap_chars=0)
    assert [w for p in passages for w in _words(p.text)] == words


def test_a_word_longer_than_a_chunk_is_cut():
    giant = "x" * 250
    passages = chunk(Document("d", f"before {giant} after"), max_chars=100, overlap_chars=10)
    assert all(len(p.text) <= 100 for p in passages)
    joined = "".join(p.text for p in passages)
    assert joined.count("x") >= 250
    assert "before" in joined
    assert "after" in joined


def test_every_word_of_a_mixed_document_is_in_some_chunk():
    long_paragraph = " ".join(f"lorem{i} ipsum{i}." for i in range(150))
    text = "\n\n".join(["Intro line.", long_paragraph, "Middle.", "x" * 10, long_paragraph[:500], "Outro."])
    passages = chunk(Document("d", text), max_chars=300, overlap_chars=40)
    assert all(len(p.text) <= 300 for p in passages)
    assert set(_words(text)) == {w for p in passages for w in _words(p.text)}


def test_chunk_rejects_impossible_settings():
    with pytest.raises(ValueError, match="overlap"):
        chunk(Document("d", "text"), max_chars=100, overlap_chars=100)


def test_an_empty_document_has_no_chunks():
    assert chunk(Document("d", "  \n\n  ")) == []


# --- search -----------------------------------------------------------------------------------------------

DISTRACTORS = [
    Document(
        "recipes.md",
        "Bake the bread for forty minutes.\n\nKnead the dough until it is smooth and elastic.",
    ),
    Document(
        "travel.md",
        "Trains leave every hour.\n\nThe museum is open on weekdays. Tickets are sold at the door.",
    ),
    Document("hr.md", "Employees accrue vacation monthly.\n\nSick leave requires a note after three days."),
]
FACT = Document(
    "geography.md",
    "Rivers flow to the sea.\n\n" + "Filler text about hills and valleys. " * 40 + "\n\n"
    "Canberra is the capital of Australia.",
)


def test_search_ranks_the_chunk_with_the_fact_first():
    index = KnowledgeIndex([*DISTRACTORS, FACT], max_chars=200, overlap_chars=20)
    results = index.search("What is the capital of Australia?", limit=3)
    assert results
    assert results[0].source == "geography.md"
    assert "Canberra" in results[0].text
    assert [r.score for r in results] == sorted((r.score for r in results), reverse=True)


def test_search_finds_the_document_about_the_question():
    index = KnowledgeIndex([*DISTRACTORS, FACT])
    assert index.search("how many days of sick leave before a note?", limit=1)[0].source == "hr.md"
    assert index.search("when is the museum open", limit=1)[0].source == "travel.md"


def test_search_stems_words():
    index = KnowledgeIndex([*DISTRACTORS, FACT])
    results = index.search("capitals", limit=5)
    assert [r.source for r in results] == ["geography.md"]
    assert index.search("baking breads", limit=1)[0].source == "recipes.md"


def test_search_respects_the_limit():
    index = KnowledgeIndex([*DISTRACTORS, FACT], max_chars=60, overlap_chars=10)
    assert len(index.search("the hills and valleys", limit=2)) == 2
    assert index.search("hills", limit=0) == []


def test_search_is_not_matched_on_source_names():
    index = KnowledgeIndex([*DISTRACTORS, FACT])
    assert index.search("recipes", limit=5) == []


@pytest.mark.parametrize(
    "query",
    [
        '"AND OR NEAR( * -:',
        "AND",
        "NOT bread",
        "bread OR",
        'NEAR(bread dough, 3) "unterminated',
        "col:bread",
        "^bread*",
        "a_b_c",
        "'; DROP TABLE chunks; --",
        "bread\x00dough",
        "{bread dough}",
        "héllo wörld 北京 capital",
    ],
)
def test_hostile_queries_never_raise(query):
    index = KnowledgeIndex([*DISTRACTORS, FACT])
    assert isinstance(index.search(query, limit=5), list)


def test_operator_words_are_searched_as_words():
    index = KnowledgeIndex([Document("ops.md", "Use NEAR and NOT with care."), *DISTRACTORS])
    assert [r.source for r in index.search("NEAR", limit=5)] == ["ops.md"]


@pytest.mark.parametrize("query", ["", "   ", "?!.,;", "___", '""'])
def test_a_query_without_words_finds_nothing(query):
    assert KnowledgeIndex([*DISTRACTORS, FACT]).search(query, limit=5) == []


def test_fts_query_quotes_and_limits_tokens():
    assert fts_query('capital "of" NEAR(') == '"capital" OR "near"'
    assert fts_query("the of") == '"the" OR "of"'
    many = " ".join(f"t{i}" for i in range(100))
    assert fts_query(many).count(" OR ") == 63
    assert fts_query("Bread bread BREAD") == '"bread"'


def test_an_index_is_safe_to_share_between_threads():
    index = KnowledgeIndex([*DISTRACTORS, FACT])
    failures = []

    def search():
        try:
            for _ in range(50):
                assert index.search("capital of Australia", limit=1)[0].source == "geography.md"
        except Exception as exc:
            failures.append(exc)

    threads = [threading.Thread(target=search) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []


# --- cache ------------------------------------------------------------------------------------------------


def test_the_cache_loads_once_per_key():
    cache = KnowledgeCache(max_entries=4)
    loads = []

    def load():
        loads.append(1)
        return [FACT]

    first = cache.index_for(("bot", 1), load)
    assert cache.index_for(("bot", 1), load) is first
    assert len(loads) == 1
    # A new knowledge version is a new key: the documents are loaded again.
    assert cache.index_for(("bot", 2), load) is not first
    assert len(loads) == 2
    assert first.search("capital", limit=1)[0].source == "geography.md"


def test_the_cache_evicts_the_least_recently_used_beyond_max_entries():
    cache = KnowledgeCache(max_entries=2)
    loads = []

    def loader(name):
        def load():
            loads.append(name)
            return [Document(name, "text")]

        return load

    cache.index_for("a", loader("a"))
    cache.index_for("b", loader("b"))
    cache.index_for("a", loader("a"))  # a is now the most recently used
    cache.index_for("c", loader("c"))  # evicts b
    assert len(cache) == 2
    assert "a" in cache
    assert "b" not in cache
    assert "c" in cache
    cache.index_for("b", loader("b"))
    assert loads == ["a", "b", "c", "b"]


def test_a_failed_load_is_not_cached():
    cache = KnowledgeCache()

    def broken():
        raise RuntimeError("storage down")

    with pytest.raises(RuntimeError):
        cache.index_for("k", broken)
    assert "k" not in cache
    assert cache.index_for("k", lambda: [FACT]).chunk_count >= 1


def test_concurrent_misses_load_once():
    cache = KnowledgeCache()
    loads = []
    gate = threading.Event()

    def load():
        loads.append(1)
        gate.wait(timeout=5)
        return [FACT]

    results = []
    threads = [threading.Thread(target=lambda: results.append(cache.index_for("k", load))) for _ in range(6)]
    for thread in threads:
        thread.start()
    gate.set()
    for thread in threads:
        thread.join()
    assert len(loads) == 1
    assert len({id(index) for index in results}) == 1


def test_the_cache_needs_room_for_one():
    with pytest.raises(ValueError, match="max_entries"):
        KnowledgeCache(max_entries=0)


# --- augment ----------------------------------------------------------------------------------------------


def test_augment_puts_the_documents_before_the_question():
    passages = [Passage("handbook.md", "Staff get 25 vacation days."), Passage("faq.md", "Ask HR.")]
    text = augment("How many vacation days?", passages)
    assert text.startswith("<documents>\n")
    assert text.index("</documents>") < text.index("<question>")
    assert '<document source="handbook.md">\nStaff get 25 vacation days.\n</document>' in text
    assert text.index("handbook.md") < text.index("faq.md")
    assert text.endswith("<question>\nHow many vacation days?\n</question>")
    assert "name the source" in text


def test_augment_escapes_source_names():
    text = augment("q", [Passage('a"b<c>&d.md', "body")])
    assert '<document source="a&quot;b&lt;c&gt;&amp;d.md">' in text
    assert 'a"b' not in text


def test_augment_without_passages_is_the_question():
    assert augment("Just chatting", []) == "Just chatting"
