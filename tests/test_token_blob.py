"""A page's tokens packed as tuples (`site_gen.token_blob`) come back as the very parse: equal
tokens, notes, anchors and link marks, and the same HTML (issue 4: cold builds)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from conftest import PROJECT
from site_gen import token_blob
from site_gen.annotations import annotations_plugin
from site_gen.config import load_config
from site_gen.library import parse_document
from site_gen.loader import load_library
from site_gen.markdown import make_parser

from benchmarks.corpus import generate  # noqa: E402

EDGE_CASES = """# Heading {#custom}

Text with *emphasis*, **strong**, `code`, [a link](https://example.org "title"), ![an image](img.png),
[[wiki-target|a label]] and a footnote-like [^1] & entities &amp; &lt;.

> A quote
> - with a list
>   1. nested *deeply*

| a | b |
|---|:-:|
| 1 | 2 |

```python
print("fenced")
```

    indented code

---
"""


def _documents(root: Path) -> list:
    return [*load_library(load_config(root / "site.yaml")).articles, *load_library(load_config(root / "site.yaml")).topics]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("corpus") / "site"
    generate(root, 30, seed=9, n_topics=8)
    return root


@pytest.mark.parametrize("rows", [True, False], ids=["as tuples", "whole tokens (another markdown-it)"])
def test_packed_tokens_unpack_to_an_equal_parse_that_renders_the_same(corpus: Path, rows: bool,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(token_blob, "_AS_ROWS", rows)
    md, note_md = make_parser(False).use(annotations_plugin), make_parser(False)
    documents = _documents(PROJECT) + _documents(corpus)
    assert len(documents) > 40
    for document in documents:
        body = parse_document(md, note_md, document)
        for link in body.links:  # what linking writes into a token, as a packed page carries it
            link.token.meta = {**link.token.meta, "page": "articles/x", "fragment": "#y"}
        tokens, notes = token_blob.unpack(token_blob.pack(body.tokens, body.notes))
        assert tokens == body.tokens and notes == body.notes, document.path
        assert tokens is not body.tokens and all(a is not b for a, b in zip(tokens, body.tokens))
        assert md.renderer.render(tokens, md.options, {}) == md.renderer.render(body.tokens, md.options, {})
        for note_id, note in notes.items():
            assert note_md.renderer.render(note, note_md.options, {}) == note_md.renderer.render(body.notes[note_id], note_md.options, {})


def test_packed_tokens_of_any_markdown_come_back_equal() -> None:
    md = make_parser(False)
    rng = random.Random(4)
    lines = EDGE_CASES.splitlines()
    for _ in range(200):
        text = "\n".join(rng.choice(lines) for _ in range(rng.randrange(1, 30)))
        tokens = md.parse(text)
        back, notes = token_blob.unpack(token_blob.pack(tokens, {"n": md.parse(text[::-1])}))
        assert back == tokens and notes == {"n": md.parse(text[::-1])}
        assert md.renderer.render(back, md.options, {}) == md.render(text)
