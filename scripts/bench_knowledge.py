#!/usr/bin/env python3
"""Benchmark: a bot's knowledge at its limits, what retrieval costs per message.

A bot with the most knowledge allowed (20 documents, 1,000,000 bytes in all by default) is indexed (SQLite
FTS5 in memory: done once per bot version per Lambda process, on the first message) and then searched the way
each message is. Prints the index build time, its peak Python memory (tracemalloc: SQLite's own pages are
outside it, so the process RSS growth is printed too) and the search time per message (median and p99).
"""

import argparse
import random
import resource
import statistics
import time
import tracemalloc

from bench_support import percentile, prepare

prepare()

WORDS = [
    *[
        "policy",
        "vacation",
        "salary",
        "office",
        "travel",
        "expense",
        "laptop",
        "badge",
        "parking",
        "holiday",
        "contract",
        "training",
    ],
    *[
        "manager",
        "review",
        "benefit",
        "pension",
        "insurance",
        "onboarding",
        "security",
        "password",
        "network",
        "printer",
    ],
    *[
        "meeting",
        "calendar",
        "budget",
        "invoice",
        "supplier",
        "project",
        "deadline",
        "customer",
        "support",
        "ticket",
        "release",
    ],
    *["deploy", "server", "database", "backup", "incident"],
]


def document(rng: random.Random, size: int) -> str:
    paragraphs, length = [], 0
    while length < size:
        sentence_count = rng.randint(2, 6)
        paragraph = " ".join(
            " ".join(rng.choices(WORDS, k=rng.randint(6, 18))).capitalize() + "."
            for _ in range(sentence_count)
        )
        paragraphs.append(paragraph)
        length += len(paragraph) + 2
    return "\n\n".join(paragraphs)[:size]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=20)
    parser.add_argument("--total-bytes", type=int, default=1_000_000)
    parser.add_argument("--searches", type=int, default=500)
    args = parser.parse_args()

    from gateway.services.knowledge import Document, KnowledgeIndex

    rng = random.Random(7)
    documents = [
        Document(name=f"doc-{n}.md", text=document(rng, args.total_bytes // args.documents))
        for n in range(args.documents)
    ]
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    tracemalloc.start()
    started = time.perf_counter()
    index = KnowledgeIndex(documents)
    build_ms = (time.perf_counter() - started) * 1000
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    samples = []
    for _ in range(args.searches):
        question = " ".join(rng.choices(WORDS, k=rng.randint(4, 12))) + "?"
        started = time.perf_counter()
        found = index.search(question, 4)
        samples.append((time.perf_counter() - started) * 1000)
        assert found, "every question shares words with the documents"

    total = sum(len(d.text.encode()) for d in documents)
    print(f"knowledge: {args.documents} documents, {total:,} bytes, {index.chunk_count} chunks")
    print(f"index build (first message of a bot version per process): {build_ms:.0f} ms")
    print(
        f"index build peak Python memory: {peak / 2**20:.1f} MiB; "
        f"max RSS growth: {(rss_after - rss_before) / 1024:.1f} MiB"
    )
    print(
        f"search per message ({args.searches} questions, top 4): median {statistics.median(samples):.2f} ms, "
        f"p99 {percentile(samples, 0.99):.2f} ms"
    )


if __name__ == "__main__":
    main()
