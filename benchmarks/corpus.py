"""A seeded generator of realistic site-gen corpora for benchmarks (issue 4).

`generate(root, n_articles, seed)` writes a complete project under `root`:
`site.yaml`, `content/articles/*.md` (about 800 words each: headings,
emphasis, links, lists, block quotes, `[[topic]]` links) with 3-6 annotations
on exact phrases of the text, and `content/topics/*.md` (200 topics), using
40 tags and dates spread over years. The same seed always gives the same bytes,
so figures from different runs (and different tools) compare like with like.

Run it directly to make a corpus by hand:
    python3 benchmarks/corpus.py /tmp/corpus-1k 1000
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import shutil
from dataclasses import dataclass
from pathlib import Path

N_TOPICS = 200
N_TAGS = 40
WORDS_PER_ARTICLE = 800

_SYLLABLES = ("ka", "lo", "mer", "tan", "vi", "dor", "sel", "ra", "quin", "bel", "os", "tor", "na",
              "zu", "fen", "gar", "li", "mon", "pra", "sta", "ul", "ven", "wex", "yar", "cor", "dri")
_KINDS = ("accord", "summit", "council", "pipeline", "treaty", "province", "ministry", "alliance",
          "corridor", "reform", "election", "tribunal", "sanctions", "initiative", "strait", "index")
_WORDS = ("the", "government", "said", "on", "that", "officials", "would", "review", "its", "plans",
          "after", "talks", "with", "regional", "partners", "in", "a", "statement", "late", "week",
          "ministers", "agreed", "to", "extend", "measures", "while", "critics", "argued", "for", "more",
          "oversight", "of", "budget", "spending", "and", "trade", "rules", "analysts", "expect", "further",
          "delays", "before", "parliament", "votes", "next", "month", "as", "negotiators", "meet", "again",
          "under", "pressure", "from", "markets", "observers", "noted", "which", "has", "been", "debated",
          "since", "early", "spring", "when", "first", "proposal", "emerged", "at", "conference", "held")
_SECTIONS = ("World", "Politics", "Economy", "Energy", "Security", "Science")


@dataclass(frozen=True)
class TopicSpec:
    """A generated topic: its slug and display title."""

    slug: str
    title: str


def generate(root: Path, n_articles: int, seed: int = 1, *, n_topics: int = N_TOPICS) -> None:
    """Write a whole project (site.yaml, content/articles, content/topics) under `root`.

    Existing `content/` under `root` is replaced, so a corpus never mixes two seeds or sizes.
    `n_topics` is for tests, which want small sites of the same shape.
    """
    rng = random.Random(seed)
    root.mkdir(parents=True, exist_ok=True)
    content = root / "content"
    if content.exists():
        shutil.rmtree(content)
    (content / "articles").mkdir(parents=True)
    (content / "topics").mkdir(parents=True)
    (root / "site.yaml").write_text(
        f"title: Benchmark Archive\ndescription: A generated corpus of {n_articles} annotated articles.\n"
        "language: en\ntheme: default\n", encoding="utf-8")
    topics = _topics(rng, n_topics)
    tags = _unique_names(rng, N_TAGS, 2)
    for topic in topics:
        (content / "topics" / f"{topic.slug}.md").write_text(_topic_text(rng, topic, topics), encoding="utf-8")
    start = dt.date(2012, 1, 1)
    for i in range(n_articles):
        slug = f"article-{i:05d}"
        date = start + dt.timedelta(days=rng.randrange(365 * 12))
        text = _article_text(rng, i, date, topics, tags)
        (content / "articles" / f"{slug}.md").write_text(text, encoding="utf-8")


def _name(rng: random.Random, syllables: int) -> str:
    return "".join(rng.choice(_SYLLABLES) for _ in range(syllables)).capitalize()


def _unique_names(rng: random.Random, count: int, syllables: int) -> list[str]:
    names: list[str] = []
    while len(names) < count:
        name = _name(rng, syllables).lower()
        if name not in names:
            names.append(name)
    return names


def _topics(rng: random.Random, count: int) -> list[TopicSpec]:
    seen: set[str] = set()
    topics: list[TopicSpec] = []
    while len(topics) < count:
        title = f"{_name(rng, 3)} {rng.choice(_KINDS)}"
        slug = title.lower().replace(" ", "-")
        if slug not in seen:
            seen.add(slug)
            topics.append(TopicSpec(slug, title))
    return topics


def _sentence(rng: random.Random, words: int) -> str:
    text = " ".join(rng.choice(_WORDS) for _ in range(words))
    return text[0].upper() + text[1:] + "."


def _paragraph(rng: random.Random, sentences: int) -> str:
    """Plain sentences with some emphasis, strong text and external links mixed in."""
    parts = []
    for _ in range(sentences):
        sentence = _sentence(rng, rng.randint(8, 16))
        roll = rng.random()
        if roll < 0.15:
            words = sentence.split(" ")
            k = rng.randrange(1, len(words) - 1)
            words[k] = f"*{words[k]}*"
            sentence = " ".join(words)
        elif roll < 0.25:
            words = sentence.split(" ")
            k = rng.randrange(1, len(words) - 1)
            words[k] = f"[{words[k]}](https://example.org/{rng.randrange(10_000)})"
            sentence = " ".join(words)
        elif roll < 0.30:
            sentence = sentence[:-1] + f", reported **{_name(rng, 2)} Daily**."
        parts.append(sentence)
    return " ".join(parts)


def _source(rng: random.Random) -> str:
    n = rng.randrange(100_000)
    return (f"      - title: \"Report {n} ({_name(rng, 2)} Press)\"\n"
            f"        url: \"https://news.example.com/{n}\"\n")


def _phrases(rng: random.Random, topics: list[TopicSpec], count: int) -> list[tuple[str, TopicSpec]]:
    """`count` phrases unique within one article ("envoy Kalomer of the X accord"), each with its topic."""
    names: set[str] = set()
    found: list[tuple[str, TopicSpec]] = []
    while len(found) < count:
        name = _name(rng, 3)
        if name in names:
            continue
        names.add(name)
        topic = rng.choice(topics)
        found.append((f"envoy {name} of the {topic.title}", topic))
    return found


def _quote_sentence(rng: random.Random, phrase: str) -> str:
    """A sentence holding `phrase`; sometimes the phrase spans emphasis, as real quotes do."""
    head, _, tail = phrase.partition(" of the ")
    shown = f"*{head}* of the {tail}" if rng.random() < 0.3 else phrase
    return f"{_sentence(rng, 6)[:-1]} when {shown} {_sentence(rng, 7).lower()}"


def _article_body(rng: random.Random, index: int, phrases: list[str], topics: list[TopicSpec]) -> str:
    """About 800 words: paragraphs, two headings, a list, a quote, topic and article links."""
    blocks = [_paragraph(rng, 5)]
    quotes = [_quote_sentence(rng, p) for p in phrases]
    for section in range(3):
        blocks.append(f"## {_sentence(rng, 4)[:-1]}")
        for _ in range(3):
            paragraph = _paragraph(rng, rng.randint(4, 6))
            if quotes:
                paragraph += " " + quotes.pop()
            blocks.append(paragraph)
        if section == 0:
            blocks.append("\n".join(f"- {_sentence(rng, rng.randint(5, 9))}" for _ in range(rng.randint(3, 5))))
        elif section == 1:
            blocks.append("> " + _sentence(rng, rng.randint(14, 22)))
        else:
            topic = rng.choice(topics)
            related = f" and [[article-{rng.randrange(index):05d}]]" if index else ""
            blocks.append(f"See also [[{topic.slug}|the {topic.title}]]{related}.")
    blocks.extend(quotes)
    return "\n\n".join(blocks) + "\n"


def _article_text(rng: random.Random, index: int, date: dt.date, topics: list[TopicSpec], tags: list[str]) -> str:
    phrases = _phrases(rng, topics, rng.randint(3, 6))
    lines = ["---", f'title: "{_sentence(rng, rng.randint(5, 9))[:-1]}"', f"date: {date.isoformat()}",
             f"section: {rng.choice(_SECTIONS)}", f'summary: "{_sentence(rng, 14)}"',
             f"tags: [{', '.join(rng.sample(tags, rng.randint(1, 4)))}]", "annotations:"]
    for n, (phrase, topic) in enumerate(phrases):
        lines.append(f"  - id: note-{n + 1}")
        lines.append(f'    quote: "{phrase}"')
        lines.append(f"    note: |\n      {_sentence(rng, rng.randint(15, 30))} See [[{topic.slug}]].")
        lines.append(f"    topic: {topic.slug}")
        lines.append("    sources:\n" + _source(rng).rstrip("\n"))
    lines.append("---")
    body = _article_body(rng, index, [p for p, _ in phrases], topics)
    return "\n".join(lines) + "\n\n" + body


def _topic_text(rng: random.Random, topic: TopicSpec, topics: list[TopicSpec]) -> str:
    other = rng.choice([t for t in topics if t is not topic])
    header = (f'---\ntitle: "{topic.title}"\naliases: ["{topic.title} process"]\n'
              f'summary: "{_sentence(rng, 16)}"\nsources:\n' + _source(rng).replace("      ", "  ") + "---\n\n")
    body = [_paragraph(rng, 4), f"## {_sentence(rng, 3)[:-1]}", _paragraph(rng, 5),
            "\n".join(f"- {_sentence(rng, 6)}" for _ in range(3)), f"Related: [[{other.slug}]]."]
    return header + "\n\n".join(body) + "\n"


def main() -> None:
    """Command line: write a corpus of N articles into a folder."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path)
    parser.add_argument("n_articles", type=int)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    generate(args.root, args.n_articles, args.seed)


if __name__ == "__main__":
    main()
