"""A page's markdown-it tokens as compact bytes, and back.

Pages keep their parse as a compressed pickle rather than as token objects (issue 4: a
10,000-article site's tokens did not fit the memory target), in memory and in the disk cache,
and read it back when they render. Pickling a `Token`, a slotted dataclass, calls its Python
`__getstate__` and `__setstate__` for each of the 150-odd tokens of an article: a fifth of a
cold build went to packing and unpacking them. As plain tuples pickle packs and unpacks in C;
an article's tokens pack 3.5 times as fast, unpack twice as fast, and take a quarter less room.

The tuples hold a token's fields in `_FIELDS` order. Should markdown-it's `Token` ever have
other fields, the tokens are pickled whole, as before (a blob says which way it was made).
"""

from __future__ import annotations

import dataclasses
import pickle
import zlib
from typing import Any

from markdown_it.token import Token

_FIELDS = ("type", "tag", "nesting", "attrs", "map", "level", "children", "content", "markup", "info", "meta", "block", "hidden")
_AS_ROWS = tuple(field.name for field in dataclasses.fields(Token)) == _FIELDS
_new = object.__new__

Notes = dict[str, list[Token]]


def pack(tokens: list[Token], notes: Notes) -> bytes:
    """The body's tokens and the notes' as one compressed pickle (zlib's fastest level: a fifth of
    the size for a fifth of a millisecond)."""
    data: Any = (_rows(tokens), {key: _rows(note) for key, note in notes.items()}) if _AS_ROWS else (tokens, notes)
    return zlib.compress(pickle.dumps((_AS_ROWS, data), protocol=pickle.HIGHEST_PROTOCOL), 1)


def unpack(blob: bytes) -> tuple[list[Token], Notes]:
    """The tokens and notes `pack` was given: equal to them, new objects."""
    as_rows, data = pickle.loads(zlib.decompress(blob))
    if not as_rows:
        return data
    tokens, notes = data
    return _tokens(tokens), {key: _tokens(note) for key, note in notes.items()}


def _rows(tokens: list[Token]) -> list[tuple]:
    return [(t.type, t.tag, t.nesting, t.attrs, t.map, t.level, _rows(t.children) if t.children else t.children,
             t.content, t.markup, t.info, t.meta, t.block, t.hidden) for t in tokens]


def _tokens(rows: list[tuple]) -> list[Token]:
    made = []
    for row in rows:
        token = _new(Token)
        (token.type, token.tag, token.nesting, token.attrs, token.map, token.level, children,
         token.content, token.markup, token.info, token.meta, token.block, token.hidden) = row
        token.children = _tokens(children) if children else children
        made.append(token)
    return made
