"""Ready-to-edit new pages: `site-gen new article "Title"` and `site-gen new topic "Name"`.

The page text carries today's date and commented front matter, so an author
sees every key they may fill in without opening the docs; the file parses and
builds as written. Nothing here touches files: `commands_new` writes the page.
"""

from __future__ import annotations

import datetime as dt
import json

from site_gen.frontmatter import slugify

MAX_SLUG_LENGTH = 60
"""Derived slugs are cut at a word boundary to stay readable in URLs."""


def derive_slug(title: str, max_length: int = MAX_SLUG_LENGTH) -> str:
    """The slug of a title: ASCII words joined by hyphens, cut at a word boundary ("untitled" if empty)."""
    slug = slugify(title)
    if len(slug) > max_length:
        cut = slug.rfind("-", 0, max_length + 1)
        slug = slug[:cut if cut > 0 else max_length].strip("-")
    return slug or "untitled"


def _quoted(text: str) -> str:
    """A YAML double-quoted scalar (a JSON string is one)."""
    return json.dumps(text, ensure_ascii=False)


def article_page(title: str, today: dt.date) -> str:
    """A new article: title and date set, every other key shown in comments, a placeholder body."""
    return f"""---
# A new article. Every key is described in docs/authoring.md.
title: {_quoted(title)}
date: {today.isoformat()}  # publication date, YYYY-MM-DD
summary: ""  # one sentence for the index and link previews
tags: []  # e.g. [russia, iran]
# section: World
# updated: {today.isoformat()}  # day of the last real revision
# draft: true  # leave it out of the site until you are done
# image:
#   caption: "What the photo shows."
#   credit: "Photographer/Agency"
#   src: images/photo.jpg  # a file under content/
# source:
#   publisher: "Where the text first appeared"
#   url: "https://example.org/the-article"
annotations: []
# annotations:  # notes anchored to exact phrases of the text below
#   - id: first-note
#     quote: "the exact phrase of the text"
#     prefix: "words just before it "  # only when the phrase occurs more than once
#     note: |
#       What a reader should know about it. Link topics with [[topic-slug]].
#     topic: topic-slug  # content/topics/topic-slug.md
#     as_of: {today.isoformat()}  # the day these facts were checked
#     sources:
#       - title: "A source"
#         url: "https://example.org/source"
---

Write the article here: paragraphs separated by blank lines.
"""


def topic_page(name: str, today: dt.date) -> str:
    """A new topic: title, `as_of` today, aliases/summary/sources to fill in, a placeholder body."""
    return f"""---
# A new topic page. Every key is described in docs/authoring.md.
title: {_quoted(name)}
aliases: []  # other names notes may use, e.g. ["Iran nuclear deal"]
summary: ""  # one sentence, shown in previews and on the topic index
as_of: {today.isoformat()}  # the day these facts were checked
sources: []
# sources:
#   - title: "A source"
#     url: "https://example.org/source"
---

Background on {name}: what a reader needs to know, with sources.
"""
