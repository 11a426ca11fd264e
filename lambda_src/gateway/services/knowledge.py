"""A bot's knowledge: its documents, chunked and ranked against the user's message, then put in the prompt.

Ranking is SQLite FTS5's `bm25()` (standard library, Porter stemming), not a hand-written score: it is a
well-tested implementation of the usual lexical relevance measure and needs no new dependency.
"""

import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape

from gateway.errors import BadRequestError


@dataclass(frozen=True)
class Document:
    name: str
    text: str


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk and the name of the document it came from; a higher score is more relevant."""

    source: str
    text: str
    score: float = 0.0


@dataclass(frozen=True)
class KnowledgeLimits:
    max_documents: int = 20
    max_document_bytes: int = 200_000
    max_total_bytes: int = 1_000_000
    max_name_chars: int = 200


def _shown(name: str, width: int = 60) -> str:
    # A name in a message is cut short: the message must stay readable even when the name is the problem.
    return name if len(name) <= width else name[: width - 1] + "…"


def validate_documents(documents: Sequence[Document], limits: KnowledgeLimits) -> None:
    """Refuse knowledge that cannot be stored or indexed, naming the document and the limit it breaks."""
    if len(documents) > limits.max_documents:
        raise BadRequestError(
            f"A bot can have at most {limits.max_documents} documents; {len(documents)} were given.",
            code="too_many_documents",
            details={"limit": limits.max_documents, "count": len(documents)},
        )
    seen: set[str] = set()
    total = 0
    for position, document in enumerate(documents):
        name = document.name.strip()
        if not name or len(document.name) > limits.max_name_chars:
            raise BadRequestError(
                f"Document {position + 1} needs a name of 1 to {limits.max_name_chars} characters.",
                code="invalid_document_name",
                details={"index": position, "limit": limits.max_name_chars},
            )
        if name in seen:
            raise BadRequestError(
                f'Two documents are named "{_shown(name)}"; document names must be unique.',
                code="duplicate_document_name",
                details={"document": name},
            )
        seen.add(name)
        if not document.text.strip():
            raise BadRequestError(
                f'Document "{_shown(name)}" has no text.', code="empty_document", details={"document": name}
            )
        size = len(document.text.encode("utf-8"))
        if size > limits.max_document_bytes:
            raise BadRequestError(
                f'Document "{_shown(name)}" is {size} bytes; the limit is {limits.max_document_bytes} bytes.',
                code="document_too_large",
                details={"document": name, "bytes": size, "limit": limits.max_document_bytes},
            )
        total += size
    if total > limits.max_total_bytes:
        raise BadRequestError(
            f"The documents total {total} bytes; a bot's limit is {limits.max_total_bytes} bytes.",
            code="knowledge_too_large",
            details={"bytes": total, "limit": limits.max_total_bytes},
        )


_PARAGRAPH_BREAK = re.compile(r"\n[ \t\r\f\v]*\n\s*")
_WORD = re.compile(r"\S+\s*")
_SENTENCE_END = re.compile(r"[.!?…][\"')\]]*$")


def _words(paragraph: str, max_chars: int) -> list[str]:
    """The paragraph's words, each with its trailing whitespace; a word longer than a chunk is cut."""
    words = []
    for match in _WORD.finditer(paragraph):
        word = match.group()
        while len(word.rstrip()) > max_chars:
            words.append(word[:max_chars])
            word = word[max_chars:]
        words.append(word)
    return words


def _split_paragraph(paragraph: str, max_chars: int, overlap_chars: int) -> list[str]:
    """Pieces of at most max_chars that end at a sentence end when one is near, else at a word end.

    Each piece repeats about overlap_chars of the previous one's last words, so a fact that straddles a
    cut is still whole in one piece.
    """
    words = _words(paragraph, max_chars)
    # ends[i] = length of words[:i] joined; a span's text length is ends[j] - ends[i] minus trailing space.
    ends = [0]
    for word in words:
        ends.append(ends[-1] + len(word))

    def length(start: int, stop: int) -> int:
        return ends[stop] - ends[start] - (len(words[stop - 1]) - len(words[stop - 1].rstrip()))

    pieces: list[str] = []
    start, covered = 0, 0
    while covered < len(words):
        stop = start + 1
        while stop < len(words) and length(start, stop + 1) <= max_chars:
            stop += 1
        if stop < len(words):
            # Prefer ending on a sentence, if that still keeps the piece at least half full.
            for cut in range(stop, max(start, covered), -1):
                if length(start, cut) < max_chars // 2:
                    break
                if _SENTENCE_END.search(words[cut - 1].rstrip()):
                    stop = cut
                    break
        pieces.append("".join(words[start:stop]).strip())
        covered = stop
        if stop >= len(words):
            break
        following = stop
        while following > start + 1 and length(following - 1, stop) <= overlap_chars:
            following -= 1
        # The next piece must have room for at least one new word.
        while following < stop and length(following, stop + 1) > max_chars:
            following += 1
        start = following
    return pieces


def chunk(document: Document, max_chars: int = 1200, overlap_chars: int = 150) -> list[Passage]:
    """The document in passages of at most max_chars, packed from whole paragraphs where they fit.

    Paragraphs keep related sentences together, which is what makes a passage answer a question; only a
    paragraph too long for one passage is cut, on sentence or word boundaries, with overlap.
    """
    if max_chars < 1 or not 0 <= overlap_chars < max_chars:
        raise ValueError("need max_chars >= 1 and 0 <= overlap_chars < max_chars")
    chunks: list[str] = []
    packed: list[str] = []
    packed_length = 0
    for raw in _PARAGRAPH_BREAK.split(document.text):
        paragraph = raw.strip()
        if not paragraph:
            continue
        added = len(paragraph) + (2 if packed else 0)
        if packed and packed_length + added > max_chars:
            chunks.append("\n\n".join(packed))
            packed, packed_length, added = [], 0, len(paragraph)
        if len(paragraph) > max_chars:
            chunks.extend(_split_paragraph(paragraph, max_chars, overlap_chars))
            continue
        packed.append(paragraph)
        packed_length += added
    if packed:
        chunks.append("\n\n".join(packed))
    return [Passage(source=document.name, text=text) for text in chunks]


# Tokens as FTS5's unicode61 tokenizer sees them (it splits on "_"), so no quoted phrase is empty.
_QUERY_TOKEN = re.compile(r"[^\W_]+")
MAX_QUERY_TOKENS = 64
# Words so common that matching only them says nothing; dropped unless nothing else is left.
_STOP_WORD_LIST = (
    "a an and are as at be but by can could do does did for from had has have how i if in into is it its "
    "me my of on or our so than that the their them then there these they this to was we were what when "
    "where which who why will with would you your"
)
_STOP_WORDS = frozenset(_STOP_WORD_LIST.split())


def fts_query(text: str, max_tokens: int = MAX_QUERY_TOKENS) -> str:
    """Free text as an FTS5 query that cannot fail: every word quoted as a literal, joined with OR.

    Quoting makes FTS5 syntax in the user's text (AND, NEAR(, *, -, :, quotes) plain words. Returns "" when
    the text has no words.
    """
    tokens = list(dict.fromkeys(token.lower() for token in _QUERY_TOKEN.findall(text)))
    meaningful = [token for token in tokens if token not in _STOP_WORDS]
    chosen = (meaningful or tokens)[:max_tokens]
    return " OR ".join('"' + token.replace('"', '""') + '"' for token in chosen)


class KnowledgeIndex:
    """A bot's documents as chunks in an in-memory FTS5 table, searched by bm25.

    One connection shared by worker threads (check_same_thread=False), serialized by a lock.
    """

    def __init__(
        self, documents: Sequence[Document], max_chars: int = 1200, overlap_chars: int = 150
    ) -> None:
        self._lock = threading.Lock()
        import sqlite3  # only bots with documents need it: not loaded at cold start

        self._connection = sqlite3.connect(":memory:", check_same_thread=False)
        # The source is stored, not ranked: a file name must not outrank the passage holding the answer.
        self._connection.execute(
            "CREATE VIRTUAL TABLE chunks USING fts5(source UNINDEXED, text, tokenize='porter unicode61')"
        )
        rows = [
            (passage.source, passage.text)
            for document in documents
            for passage in chunk(document, max_chars, overlap_chars)
        ]
        with self._connection:
            self._connection.executemany("INSERT INTO chunks (source, text) VALUES (?, ?)", rows)
        self.chunk_count = len(rows)

    def search(self, query: str, limit: int) -> list[Passage]:
        """The limit best chunks for the query, best first; [] when the query has no words."""
        match = fts_query(query)
        if not match or limit < 1:
            return []
        with self._lock:
            rows = self._connection.execute(
                "SELECT source, text, bm25(chunks) FROM chunks WHERE chunks MATCH ? "
                "ORDER BY bm25(chunks), rowid LIMIT ?",
                (match, limit),
            ).fetchall()
        # bm25() is lower-is-better; Passage.score is higher-is-better.
        return [Passage(source=source, text=text, score=-rank) for source, text, rank in rows]


class KnowledgeCache:
    """Built indexes per process, least recently used dropped first, so a warm Lambda skips re-chunking.

    The key should change whenever the documents do (e.g. (bot_id, knowledge_version)).
    """

    def __init__(
        self, max_entries: int = 32, build: Callable[[Sequence[Document]], KnowledgeIndex] = KnowledgeIndex
    ) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self._max_entries = max_entries
        self._build = build
        self._entries: OrderedDict[Hashable, KnowledgeIndex] = OrderedDict()
        self._building: dict[Hashable, threading.Lock] = {}
        self._lock = threading.Lock()

    def _cached(self, key: Hashable) -> KnowledgeIndex | None:
        with self._lock:
            index = self._entries.get(key)
            if index is not None:
                self._entries.move_to_end(key)
            return index

    def index_for(self, key: Hashable, load: Callable[[], Sequence[Document]]) -> KnowledgeIndex:
        """The key's index; load is called (outside the cache lock) only when it is not cached."""
        index = self._cached(key)
        if index is not None:
            return index
        with self._lock:
            building = self._building.setdefault(key, threading.Lock())
        # One build per key at a time: threads missing the same key wait for the first one's result.
        with building:
            index = self._cached(key)
            if index is not None:
                return index
            try:
                index = self._build(load())
            finally:
                with self._lock:
                    self._building.pop(key, None)
            with self._lock:
                self._entries[key] = index
                while len(self._entries) > self._max_entries:
                    self._entries.popitem(last=False)
        return index

    def __contains__(self, key: Hashable) -> bool:
        with self._lock:
            return key in self._entries

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)


# escape() handles & < >; the name sits in a double-quoted attribute, so " too.
_ATTRIBUTE_QUOTE = {'"': "&quot;"}
INSTRUCTION = "Answer using the documents above where they are relevant and name the source you used."


def augment(question: str, passages: Sequence[Passage]) -> str:
    """The user turn sent to the model: the passages first, in tags, then the question.

    Documents above the question is Anthropic's long-context guidance; the source names let the model cite.
    """
    if not passages:
        return question
    documents = "\n".join(
        f'<document source="{escape(passage.source, _ATTRIBUTE_QUOTE)}">\n{passage.text}\n</document>'
        for passage in passages
    )
    return f"<documents>\n{documents}\n</documents>\n\n{INSTRUCTION}\n\n<question>\n{question}\n</question>"
