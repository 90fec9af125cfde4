"""Knowledge at every limit the knowledge format allows, for the tests at the edges: the
unit tests check each payload built from it against Discord's spec, the end-to-end tests
send them through the stand-in.

Every entry has the longest id, question and answer, the most sources with the longest
titles and URLs, long passages and the most tags; the main entry has four related ones.
"""

from __future__ import annotations

from typing import Any

from bot.core.knowledge import DEFAULT_LIMITS as LIMITS


def pad(text: str, size: int, filler: str) -> str:
    """``text`` lengthened to exactly ``size`` characters with words from ``filler``."""
    out = text
    words = filler.split()
    i = 0
    while len(out) < size:
        out += " " + words[i % len(words)]
        i += 1
    return out[: size - 1].rstrip() + "?" if text.endswith("?") else out[:size]


def longest_id(stem: str) -> str:
    return (stem + "-" + "x" * 64)[:64]


def longest_url(n: int) -> str:
    return (f"https://example.org/{n}/?n={n}&p=" + "very-long-path-segment/" * 40)[: LIMITS.max_url]


MAIN = longest_id("edge-main")
RELATED = [longest_id(f"edge-related-{n}") for n in range(4)]
TAGS = [(f"t{n}-" + "long-topic-name-" * 4)[: LIMITS.max_tag] for n in range(LIMITS.max_tags)]
#: Half the titles are markdown from end to end: shown as typed, each mark takes two characters.
MARKS = "*b* _i_ ~s~ |p| `c` <a> [l]"
SOURCES = [
    {
        "title": pad(
            f"Source {n} [with brackets]",
            LIMITS.max_source_title,
            MARKS if n % 2 else "title words",
        ),
        "url": longest_url(n),
    }
    for n in range(LIMITS.max_sources)
]
FILLER = "zebra quokka narwhal axolotl pangolin okapi capybara wombat"


def entry(eid: str, question: str, n: int) -> dict[str, Any]:
    return {
        "id": eid,
        "question": pad(question, LIMITS.max_question, FILLER),
        "alternates": [f"{question} variant {k} {FILLER.split()[k]}" for k in range(6)],
        "answer": pad(f"Answer {n}.", LIMITS.max_answer, "lorem ipsum dolor sit amet"),
        "passage": [
            {"text": pad(f"Passage {n} part {k}.", LIMITS.max_passage, FILLER), "source": url}
            for k, url in enumerate(longest_url(k) for k in range(6))
        ],
        "sources": SOURCES,
        "tags": TAGS,
    }


EDGE_DOC: dict[str, Any] = {
    "version": 1,
    "title": "Knowledge at the limits",
    "entries": [
        {**entry(MAIN, "What is the edge case of all edge cases?", 0), "related": RELATED},
        *(
            {**entry(rid, f"What is related edge case number {n}?", n + 1), "related": [MAIN]}
            for n, rid in enumerate(RELATED)
        ),
    ],
}
EDGE_QUESTION: str = EDGE_DOC["entries"][0]["question"]
