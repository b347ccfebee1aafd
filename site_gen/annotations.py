"""Anchoring: find each annotation's quote in the text a reader sees, and mark it.

A markdown-it core rule (run last, after inline parsing) reads the annotations
from `env["annotations"]`, builds the *reader text* of the document from its
inline tokens (text, code, wiki-link labels; markup contributes nothing), and
matches each quote there: whitespace runs (non-breaking spaces included) fold
to one space and curly quotes match straight ones. A quote may therefore span
`*emphasis*`, links and line breaks. Matching is under canonical equivalence
(both sides in NFC, so a precomposed "é" matches "e" + U+0301), ignores
invisible characters (soft hyphens, zero-width spaces and joiners), and never
parts a character from the combining marks after it. A `[[link]]` without a
label shows the linked page's title, known only once links are resolved (after
this per-document, cached step): it is no matchable text, and no quote spans
it. Matched text tokens are split and wrapped in `annotation_open`/`annotation_close` tokens (properly nested even when
annotations overlap), and an `annotation_note` token is placed after the
phrase, outside any link or emphasis it ends in. Results go to
`env["anchors"]`, problems to `env["anchor_problems"]`; nothing is printed.
"""

from __future__ import annotations

import bisect
import copy
import json
import re
import unicodedata
from dataclasses import dataclass, field
from typing import NamedTuple

from markdown_it import MarkdownIt
from markdown_it.renderer import RendererHTML
from markdown_it.rules_core import StateCore
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict

from site_gen.markdown import inline_text
from site_gen.model import Annotation

BLOCK_SEP = "\x00"
"""Separates blocks in the reader text: never whitespace, never in a quote, so no match spans two paragraphs."""
_WS_RUN = re.compile(r"[^\S\x00]+")
_FOLDED_RUN = re.compile(r"[^\S\x00]{2,}|[^\S \x00]")
"""Whitespace that folding changes: runs of two or more, or one character other than a plain
space. A lone space folds to itself, so it needs no breakpoint (most of the text: keeps the
position map short and the loop below fast on long articles)."""
_QUOTE_FOLD = str.maketrans({"‘": "'", "’": "'", "‚": "'", "‛": "'", "“": '"', "”": '"', "„": '"', "‟": '"'})
_ATOMIC = {"code_inline", "wikilink", "softbreak", "hardbreak"}
_WHITESPACE_TOKENS = {"softbreak": "\n", "hardbreak": "\n"}
_READ = frozenset({"text", *_ATOMIC} - {"wikilink"})
"""Inline tokens whose content a reader sees (of a wiki link, only its label: see build_reader_text)."""
_INVISIBLE = "\u00ad\u061c\u200b\u200c\u200d\u200e\u200f\u2060\ufeff"
"""Soft hyphen, Arabic letter mark, zero-width space, zero-width non-joiner and joiner, left-to-right
and right-to-left marks, word joiner, BOM: a reader sees none of them (a soft hyphen only at a line
end), so matching ignores them on both sides (a quote copied from a right-to-left page carries marks)."""
_INVISIBLE_RUN = re.compile(f"[{_INVISIBLE}]+")
_DROP_INVISIBLE = dict.fromkeys(map(ord, _INVISIBLE))


class Segment(NamedTuple):
    """A run of reader text that comes from one inline child token (a named tuple: an article has a
    hundred or more, and a frozen dataclass sets each field through `object.__setattr__`)."""

    block: int
    child: int
    start: int
    text: str
    line: int
    splittable: bool

    @property
    def end(self) -> int:
        return self.start + len(self.text)


class BareLink(NamedTuple):
    """A `[[slug]]` without a label: BLOCK_SEP at `at` in the reader text, so no quote spans it."""

    at: int
    target: str
    line: int
    """0-based body line."""


@dataclass
class PieceMap:
    """Positions of a text made from another -> positions in that other, piecewise: in a copied
    piece offsets carry over; every position of a rewritten one maps to the piece's start."""

    starts: list[int] = field(default_factory=list)
    sources: list[int] = field(default_factory=list)
    copied: list[bool] = field(default_factory=list)
    length: int = 0
    """Length of the made text; positions from it on map to `source_length`."""
    source_length: int = 0

    def at(self, index: int) -> int:
        """The source position of the made text's position `index`."""
        if index >= self.length:
            return self.source_length
        i = bisect.bisect_right(self.starts, index) - 1
        return self.sources[i] + (index - self.starts[i] if self.copied[i] else 0)


@dataclass
class ReaderText:
    """The visible text of a document, its folded form for matching, and the maps between them.

    raw --(clean: drop invisible characters, NFC)--> clean --(fold)--> folded. `clean` is `raw`
    itself, and `clean_map` None, for most texts (no invisible characters, already NFC)."""

    raw: str
    segments: list[Segment]
    folded: str
    first_line: int = 1
    """File line of the body's first line, so messages can name file lines."""
    breakpoints_folded: list[int] = field(default_factory=list)
    breakpoints_raw: list[int] = field(default_factory=list)
    """Positions in `clean` (which is `raw` in most texts)."""
    breakpoints_run: list[bool] = field(default_factory=list)
    """True where the breakpoint starts a folded whitespace run (all of it maps to one space)."""
    clean: str = ""
    clean_map: PieceMap | None = None
    bare_links: list[BareLink] = field(default_factory=list)

    def clean_index(self, folded_index: int) -> int:
        """Position in `clean` of the character at `folded_index` in `folded`."""
        i = bisect.bisect_right(self.breakpoints_folded, folded_index) - 1
        offset = folded_index - self.breakpoints_folded[i]
        if self.breakpoints_run[i]:
            return self.breakpoints_raw[i]
        return self.breakpoints_raw[i] + offset

    def raw_index(self, folded_index: int) -> int:
        """Position in `raw` of the character at `folded_index` in `folded`."""
        index = self.clean_index(folded_index)
        return index if self.clean_map is None else self.clean_map.at(index)

    def raw_range(self, start: int, end: int) -> tuple[int, int]:
        """Raw [start, end) of the folded range [start, end)."""
        text = self.clean
        last = self.clean_index(end - 1)
        while last + 1 < len(text) and text[last].isspace() and text[last + 1].isspace() \
                and text[last + 1] != BLOCK_SEP:
            last += 1  # a folded space stands for the whole whitespace run
        first = self.clean_index(start)
        if self.clean_map is None:
            return first, last + 1
        raw_start, raw_end = self.clean_map.at(first), self.clean_map.at(last + 1)
        while raw_end > raw_start and self.raw[raw_end - 1] in _INVISIBLE:
            raw_end -= 1  # invisible characters inside the phrase are marked with it, not those after it
        return raw_start, max(raw_start, raw_end)

    def segment_at(self, raw_index: int) -> Segment:
        """The segment holding a raw position (the next one when it falls between segments)."""
        starts = [s.start for s in self.segments]
        i = max(bisect.bisect_right(starts, raw_index) - 1, 0)
        return self.segments[i]


class Anchor(NamedTuple):
    """Where an annotation landed: its number on the page and its place in the reader text (a
    named tuple: a big site's cache holds one per annotation, read back by every build)."""

    annotation: Annotation
    number: int
    start: int
    """Start in the reader text (`ReaderText.raw`, blocks joined by BLOCK_SEP)."""
    end: int
    line: int
    """0-based body line of the phrase (add the page's body_line for a file line)."""
    exact: str
    """The phrase as the text has it. (The words around it, as the page shows them, are found
    when the page's annotation file is rendered: see jsonld.py.)"""


@dataclass(frozen=True)
class AnchorProblem:
    """Why an annotation could not be anchored, with the places involved."""

    annotation: Annotation
    message: str
    hint: str = ""


def fold(text: str) -> str:
    """The matching form of a text: whitespace runs -> one space, curly quotes -> straight."""
    return _WS_RUN.sub(" ", text).translate(_QUOTE_FOLD)


def clean(text: str) -> str:
    """`text` without invisible characters, in NFC: what canonically equivalent texts share."""
    return text if text.isascii() else unicodedata.normalize("NFC", text.translate(_DROP_INVISIBLE))


def match_form(text: str) -> str:
    """The form a quote (or prefix, suffix) is matched in: cleaned, then folded."""
    return fold(clean(text))


def _attaches(char: str) -> bool:
    """Does `char` belong to the character before it: a combining mark (Mn, Mc, Me), or a Hangul
    vowel or final jamo, which NFC composes with the consonant before it into one syllable?"""
    return unicodedata.category(char)[0] == "M" or "\u1161" <= char <= "\u1175" or "\u11a8" <= char <= "\u11c2"


def _splits_cluster(text: str, at: int) -> bool:
    """Would a match starting or ending at `at` part a character from the marks that follow it?"""
    return 0 < at < len(text) and not text[at].isascii() and _attaches(text[at])


def build_reader_text(tokens: list[Token]) -> ReaderText:
    """Collect the visible text of every inline token, blocks separated by BLOCK_SEP."""
    raw_parts: list[str] = []
    segments: list[Segment] = []
    bare_links: list[BareLink] = []
    position = 0
    for block_index, block in enumerate(tokens):
        if block.type != "inline" or not block.children:
            continue
        if raw_parts:
            raw_parts.append(BLOCK_SEP)
            position += 1
        line = block.map[0] if block.map else 0
        for child_index, child in enumerate(block.children):
            text = _WHITESPACE_TOKENS.get(child.type, child.content if child.type in _READ else "")
            if not text and child.type == "wikilink":
                text = child.meta.get("label", "")
                if not text:  # shows its target's title, unknown here (see the module doc): no quote spans it
                    bare_links.append(BareLink(position, child.meta.get("target", ""), line))
                    raw_parts.append(BLOCK_SEP)
                    position += 1
            if text:
                segments.append(Segment(block_index, child_index, position, text, line, child.type == "text"))
                raw_parts.append(text)
                position += len(text)
            if child.type in _WHITESPACE_TOKENS:
                line += 1
    raw = "".join(raw_parts)
    reader = _with_folding(raw, segments)
    reader.bare_links = bare_links
    return reader


def _cleaned(raw: str) -> tuple[str, PieceMap | None]:
    """`clean(raw)` and the map back to `raw`; (raw, None) when they are the same, as in most texts
    (found by C-speed scans, with no loop over characters or tokens)."""
    if raw.isascii() or (not any(c in raw for c in _INVISIBLE) and unicodedata.is_normalized("NFC", raw)):
        return raw, None
    if unicodedata.is_normalized("NFC", raw.translate(_DROP_INVISIBLE)):
        return _joined(_pieces_between_invisibles(raw), len(raw))
    return _joined(_clusters(raw), len(raw))


Piece = tuple[int, int, str, bool]
"""(start, end) in the source, the text made from it, and whether that is the source's own text."""


def _pieces_between_invisibles(raw: str) -> list[Piece]:
    """The text between runs of invisible characters (an NFC text with some: no per-character loop)."""
    pieces: list[Piece] = []
    at = 0
    for match in _INVISIBLE_RUN.finditer(raw):
        pieces.append((at, match.start(), raw[at:match.start()], True))
        at = match.end()
    pieces.append((at, len(raw), raw[at:], True))
    return pieces


def _clusters(raw: str) -> list[Piece]:
    """Each character with the marks and invisible characters after it, cleaned (a text not in NFC:
    rare, and slower)."""
    pieces: list[Piece] = []
    start = 0
    for i in range(1, len(raw) + 1):
        if i < len(raw) and not raw[i].isascii() and (raw[i] in _INVISIBLE or _attaches(raw[i])):
            continue
        source = raw[start:i]
        text = clean(source)
        pieces.append((start, i, text, text == source))
        start = i
    return pieces


def _joined(pieces: list[Piece], source_length: int) -> tuple[str, PieceMap]:
    """The made text of `pieces` and its map back to the source (unchanged neighbours share one entry)."""
    mapping = PieceMap(source_length=source_length)
    parts: list[str] = []
    at = 0
    for start, _end, text, copied in pieces:
        if not text:
            continue
        if not (copied and mapping.copied and mapping.copied[-1]
                and mapping.sources[-1] + at - mapping.starts[-1] == start):
            mapping.starts.append(at)
            mapping.sources.append(start)
            mapping.copied.append(copied)
        parts.append(text)
        at += len(text)
    mapping.length = at
    return "".join(parts), mapping


def _with_folding(raw: str, segments: list[Segment]) -> ReaderText:
    """The reader text with its folded form and the maps folded -> clean (-> raw)."""
    text, clean_map = _cleaned(raw)
    reader = ReaderText(raw, segments, "", clean=text, clean_map=clean_map)
    folded_parts: list[str] = []
    folded_pos = 0
    clean_pos = 0
    for match in _FOLDED_RUN.finditer(text):
        start = match.start()
        if start > clean_pos:
            reader.breakpoints_folded.append(folded_pos)
            reader.breakpoints_raw.append(clean_pos)
            reader.breakpoints_run.append(False)
            folded_parts.append(text[clean_pos:start])
            folded_pos += start - clean_pos
        reader.breakpoints_folded.append(folded_pos)
        reader.breakpoints_raw.append(start)
        reader.breakpoints_run.append(True)
        folded_parts.append(" ")
        folded_pos += 1
        clean_pos = match.end()
    if clean_pos < len(text) or not reader.breakpoints_raw:
        reader.breakpoints_folded.append(folded_pos)
        reader.breakpoints_raw.append(clean_pos)
        reader.breakpoints_run.append(False)
        folded_parts.append(text[clean_pos:])
    reader.folded = "".join(folded_parts).translate(_QUOTE_FOLD)
    return reader


def find_occurrences(reader: ReaderText, annotation: Annotation) -> tuple[list[int], list[int]]:
    """All folded start positions of the quote, and those that also fit prefix/suffix."""
    quote = match_form(annotation.quote.strip())
    if not quote or BLOCK_SEP in quote:
        return [], []
    found = _all_at(reader.folded, quote)
    prefix, suffix = match_form(annotation.prefix).rstrip(), match_form(annotation.suffix).lstrip()
    folded, end = reader.folded, len(quote)
    # Whitespace is folded to one space, so the prefix (suffix) is within its length and one space of
    # the quote: a window that long, not the text before (after) each occurrence, which made a
    # quote found 80,000 times in a long text take minutes.
    fitting = [s for s in found
               if folded[max(0, s - len(prefix) - 2):s].rstrip().endswith(prefix)
               and folded[s + end:s + end + len(suffix) + 2].lstrip().startswith(suffix)]
    return found, fitting


def anchor_all(reader: ReaderText, annotations: list[Annotation]) -> tuple[list[Anchor], list[AnchorProblem]]:
    """Anchor each annotation once; number anchors in reading order."""
    placed: list[tuple[int, int, Annotation]] = []
    problems: list[AnchorProblem] = []
    starts = [segment.start for segment in reader.segments]
    for annotation in annotations:
        found, fitting = find_occurrences(reader, annotation)
        if len(fitting) == 1:
            start = fitting[0]
            start, end = reader.raw_range(start, start + len(match_form(annotation.quote.strip())))
            whole = _whole_piece_cut(reader, starts, start, end)
            if whole is None:
                placed.append((start, end, annotation))
            else:
                problems.append(_cut_problem(reader, annotation, whole))
        else:
            problems.append(_problem(reader, annotation, found, fitting))
    placed.sort(key=lambda item: (item[0], -item[1]))
    anchors = [_anchor(reader, number, start, end, annotation)
               for number, (start, end, annotation) in enumerate(placed, start=1)]
    return anchors, problems


def _whole_piece_cut(reader: ReaderText, starts: list[int], start: int, end: int) -> Segment | None:
    """The inline code or link label a quote starts or ends inside of, if any: it can only be marked
    whole, so the mark would show more than the quote ("Use `foo bar`" all marked for "Use foo").
    `starts`: the segments' starts, in order."""
    for at, is_start in ((start, True), (end, False)):
        index = bisect.bisect_right(starts, at) - 1
        segment = reader.segments[index] if index >= 0 else None
        if segment is not None and not segment.splittable and segment.start < at < segment.end:
            cut = at - segment.start
            left_out = segment.text[:cut] if is_start else segment.text[cut:]
            if left_out.translate(_DROP_INVISIBLE):  # more than the invisible marks a mark leaves out ("\u200fTehran\u200f")
                return segment
    return None


def _cut_problem(reader: ReaderText, annotation: Annotation, piece: Segment) -> AnchorProblem:
    return AnchorProblem(annotation, f"quote \"{annotation.quote.strip()}\" starts or ends inside \"{piece.text}\" "
                                     f"(line {reader.first_line + piece.line}), inline code or a link's label, which is marked whole",
                         "quote all of it, or none of it")


def _anchor(reader: ReaderText, number: int, start: int, end: int, annotation: Annotation) -> Anchor:
    segment = reader.segment_at(start)
    line = segment.line + reader.raw.count("\n", segment.start, start)
    exact = reader.raw[start:end]
    return Anchor(annotation, number, start, end, line, annotation.quote if exact == annotation.quote else exact)  # one string held, not two


def line_of(reader: ReaderText, raw_index: int) -> int:
    """File line (1-based) of a raw reader-text position."""
    segment = reader.segment_at(raw_index)
    return reader.first_line + segment.line + reader.raw.count("\n", segment.start, max(raw_index, segment.start))


def _problem(reader: ReaderText, annotation: Annotation, found: list[int], fitting: list[int]) -> AnchorProblem:
    """Why an annotation did not anchor, with a re-anchoring suggestion where there is one."""
    quote = annotation.quote.strip()
    if not found:
        suggestion, link = closest_passage(reader, annotation), _bare_link_hint(reader, annotation)
        hints = [link] if link else []
        if suggestion is not None or not link:  # a link without a label says enough where nothing is close
            hints.append(_closest_hint(suggestion))
        return AnchorProblem(annotation, f"quote not found in the text: \"{quote}\"", "\n".join(hints))
    if not fitting:
        suggestion = closest_passage(reader, annotation)
        paste = "\n" + _paste_text(suggestion) if suggestion else ""
        return AnchorProblem(annotation, f"quote \"{quote}\" is in the text, but not with the given prefix/suffix",
                             "it occurs at " + _places(reader, found) + "; correct prefix/suffix" + paste)
    return AnchorProblem(annotation, f"quote \"{quote}\" occurs {len(fitting)} times",
                         f"it occurs at {_places(reader, fitting)}; add prefix: or suffix: "
                         "(the words just before or after it) to pick one")


PLACES_SHOWN = 5
"""Occurrences a message lists; a quote such as "the" occurs thousands of times in a long text."""


def _places(reader: ReaderText, starts: list[int]) -> str:
    places = []
    for start in starts[:PLACES_SHOWN]:
        raw = reader.raw_index(start)
        context = reader.raw[max(0, raw - 20):raw + 20].replace(BLOCK_SEP, " ")
        places.append(f"line {line_of(reader, raw)} (\"…{match_form(context).strip()}…\")")
    more = len(starts) - PLACES_SHOWN
    return ", ".join(places) + (f" and {more:,} more place{'s' if more > 1 else ''}" if more > 0 else "")


def _bare_link_hint(reader: ReaderText, annotation: Annotation) -> str:
    """Why a quote may be missing: it needs the text of a `[[link]]` without a label, which anchoring
    cannot know (the linked page's title); empty if it seems not to."""
    quote = match_form(annotation.quote.strip())
    for link in reader.bare_links:
        before = match_form(_block_part(reader.raw, link.at, before=True))
        after = match_form(_block_part(reader.raw, link.at + 1, before=False))
        name = link.target.partition("#")[0].strip().replace("-", " ").casefold()
        if (name and name in quote.casefold()) or _runs_into_link(before, after, quote):
            return (f"a quote cannot include a [[link]] without a label, like [[{link.target}]] on line "
                    f"{reader.first_line + link.line} (it shows the title of the page it links to, which quotes are "
                    f"not matched against); to quote it, write [[{link.target}|label]] with the words to show")
    return ""


def _runs_into_link(before: str, after: str, quote: str) -> bool:
    """Does the quote start with the words just before a link, or end with the words just after it?"""
    for size in range(1, len(quote)):
        head, tail = quote[:size], quote[-size:]
        if before.endswith(head) and any(c.isalnum() for c in head) \
                and (size == len(before) or not before[-size - 1].isalnum()):
            return True
        if after.startswith(tail) and any(c.isalnum() for c in tail) \
                and (size == len(after) or not after[size].isalnum()):
            return True
    return False


# --- re-anchoring: the closest passage to a quote that no longer matches (#6) ------------------
# The passage is searched on the folded reader text. If the quote still occurs but its
# prefix/suffix fit no occurrence, the occurrence whose surroundings are most like the old
# prefix/suffix wins. Otherwise rapidfuzz's partial_ratio_alignment (C++, fast on long texts;
# difflib is quadratic) finds the best window case-insensitively, whose ends are then snapped
# to word edges by keeping the nearby pair most similar to the quote by Levenshtein distance
# (a replaced word costs less than a dropped one, so "hosted X" -> "welcomed X", not "X"). That
# similarity, 0-100, is the score; below REANCHOR_THRESHOLD nothing is suggested. A passage that occurs more
# than once gets the fewest words before (else after) it that make it unique as prefix (suffix).

REANCHOR_THRESHOLD = 70.0
"""Minimum similarity (normalized Levenshtein, 0-100) of a passage to the old quote to be suggested;
below it the quote was rewritten too much for a guess to be useful."""
REANCHOR_FIX_THRESHOLD = 80.0
"""Minimum similarity for `check --fix` to apply a suggestion without a person looking at it
("in Tehran on Tuesday" -> "in Ankara on Tuesday" scores 75: a hint, never an automatic edit)."""
_MAX_CONTEXT_WORDS = 8


@dataclass(frozen=True)
class Suggestion:
    """What to paste to re-anchor a note: the new quote, and prefix/suffix when they must change."""

    quote: str
    prefix: str | None
    """The new prefix, or None to leave the annotation's prefix as it is (absent, or still fitting)."""
    suffix: str | None
    line: int
    """File line of the passage."""
    score: float

    def yaml_lines(self) -> list[str]:
        """The front-matter lines to paste, e.g. `quote: "..."` (JSON strings are valid YAML)."""
        pairs = [("quote", self.quote), ("prefix", self.prefix), ("suffix", self.suffix)]
        return [f"{key}: {json.dumps(value, ensure_ascii=False)}" for key, value in pairs if value is not None]


def closest_passage(reader: ReaderText, annotation: Annotation,
                    threshold: float = REANCHOR_THRESHOLD) -> Suggestion | None:
    """Where the annotation's quote most likely went, as values to paste; None when nothing is close."""
    quote, prefix, suffix = (match_form(annotation.quote).strip(), match_form(annotation.prefix),
                             match_form(annotation.suffix))
    if not quote or not reader.folded.strip(BLOCK_SEP):
        return None
    exact = _all_at(reader.folded, quote)
    if exact:
        start = _best_by_context(reader.folded, exact, len(quote), prefix, suffix)
        found = ((start, start + len(quote)), 100.0) if start is not None else None
    else:
        found = _in_context(reader.folded, _fuzzy_span(reader.folded, quote), prefix, suffix)
    if found is None or found[1] < threshold:
        return None
    spans = _context_spans(reader.folded, found[0], prefix, suffix)
    if spans is None:
        return None
    (start, end), new_prefix, new_suffix = found[0], *spans
    return Suggestion(_as_written(_raw_words(reader, start, end), annotation.quote.strip()),
                      _raw_words(reader, *new_prefix) if new_prefix else None,
                      _raw_words(reader, *new_suffix) if new_suffix else None,
                      line_of(reader, reader.raw_index(start)), found[1])


def _in_context(folded: str, found: tuple[tuple[int, int], float] | None, prefix: str,
                suffix: str) -> tuple[tuple[int, int], float] | None:
    """The fuzzy search's passage, moved to the occurrence of the same words that the author's
    prefix/suffix point to (of equal passages the search takes the first: the note would move to
    another place of the phrase); None when they point to two alike."""
    if found is None or not (prefix.strip() or suffix.strip()):
        return found
    (start, end), score = found
    occurrences = _all_at(folded, folded[start:end])
    if len(occurrences) < 2:
        return found
    chosen = _best_by_context(folded, occurrences, end - start, prefix, suffix)
    return ((chosen, chosen + end - start), score) if chosen is not None else None


def _closest_hint(suggestion: Suggestion | None) -> str:
    if suggestion is None:
        return (f"no passage of the text is {REANCHOR_THRESHOLD:.0f}% similar to it; check that the note belongs "
                "to this article, or quote the phrase again from the text")
    return (f"closest passage (line {suggestion.line}): \"{suggestion.quote}\" ({suggestion.score:.0f}% similar)\n"
            + _paste_text(suggestion))


def _paste_text(suggestion: Suggestion) -> str:
    lines = "\n".join("  " + line for line in suggestion.yaml_lines())
    if suggestion.score >= REANCHOR_FIX_THRESHOLD:
        return f"to re-anchor the note there, set in its front matter:\n{lines}\nor run `site-gen check --fix` to do it"
    return (f"if the note is about that passage, set in its front matter:\n{lines}\n"
            f"(too different for `site-gen check --fix`, which needs {REANCHOR_FIX_THRESHOLD:.0f}%)")


def _raw_words(reader: ReaderText, start: int, end: int) -> str:
    """The text a reader sees for a folded span (curly quotes kept), whitespace runs as one space."""
    if end <= start:
        return ""
    raw_start, raw_end = reader.raw_range(start, end)
    return _WS_RUN.sub(" ", clean(reader.raw[raw_start:raw_end]))  # no invisible characters: they match nothing


def _as_written(passage: str, quote: str) -> str:
    """The author's own quote where the passage differs from it only in Unicode normalisation, so a
    hint never asks for a change nobody can see."""
    return quote if clean(quote) == passage else passage


def _all_at(text: str, needle: str) -> list[int]:
    """Every start of `needle` in `text`, except where it would part a character from its marks."""
    found, at = [], text.find(needle)
    while at != -1:
        if not (_splits_cluster(text, at) or _splits_cluster(text, at + len(needle))):
            found.append(at)
        at = text.find(needle, at + 1)
    return found


def _best_by_context(folded: str, starts: list[int], length: int, prefix: str, suffix: str) -> int | None:
    """The occurrence whose surroundings are most like the old prefix/suffix; None on a tie."""
    from rapidfuzz import fuzz  # pylint: disable=import-outside-toplevel  # see _fuzzy_span

    def closeness(start: int) -> float:
        before = _block_part(folded, start, before=True)[-len(prefix) - 8:]
        after = _block_part(folded, start + length, before=False)[:len(suffix) + 8]
        return ((fuzz.partial_ratio(prefix.strip(), before) if prefix.strip() else 0.0)
                + (fuzz.partial_ratio(suffix.strip(), after) if suffix.strip() else 0.0))
    ranked = sorted(starts, key=closeness, reverse=True)
    if len(ranked) > 1 and closeness(ranked[0]) == closeness(ranked[1]):
        return None
    return ranked[0]


def _block_part(folded: str, at: int, before: bool) -> str:
    """The text of `at`'s block before (or after) `at`."""
    if before:
        return folded[folded.rfind(BLOCK_SEP, 0, at) + 1:at]
    end = folded.find(BLOCK_SEP, at)
    return folded[at:len(folded) if end == -1 else end]


def _fuzzy_span(folded: str, quote: str) -> tuple[tuple[int, int], float] | None:
    """The span most like `quote` (case-insensitively), snapped to word edges, and its ratio."""
    # Imported here: only a note that lost its phrase needs it, and importing it was a tenth of
    # the start of every `site-gen build` (13 ms; issue 4).
    from rapidfuzz import fuzz  # pylint: disable=import-outside-toplevel
    from rapidfuzz.distance import Levenshtein  # pylint: disable=import-outside-toplevel
    lowered, lowered_quote = _same_length_lower(folded), _same_length_lower(quote)
    match = fuzz.partial_ratio_alignment(lowered_quote, lowered, processor=None)
    if match is None or match.dest_end <= match.dest_start:
        return None
    inside = match.dest_start  # the block the window is in: not the separator it may start on
    while inside + 1 < match.dest_end and folded[inside] == BLOCK_SEP:
        inside += 1
    block_start = folded.rfind(BLOCK_SEP, 0, inside) + 1
    block_end = folded.find(BLOCK_SEP, inside)
    block_end = len(folded) if block_end == -1 else block_end
    slack = min(40, max(12, len(quote) // 3))  # bounded: the pairs tried grow with its square
    starts = _edges(folded, max(block_start, match.dest_start - slack), min(block_end, match.dest_start + slack))
    ends = _edges(folded, max(block_start, match.dest_end - slack), min(block_end, match.dest_end + slack))
    best: tuple[float, int, int, int, int] | None = None
    for s in (e for e in starts if e < block_end and _word_edge(folded, e, forward=True)
              and not _splits_cluster(folded, e)):
        for e in (e for e in ends if e > s and _word_edge(folded, e - 1, forward=False)
                  and not _splits_cluster(folded, e)):
            score = 100 * Levenshtein.normalized_similarity(lowered_quote, lowered[s:e])
            same_edges = (folded[s].isalnum() == quote[0].isalnum()) + (folded[e - 1].isalnum() == quote[-1].isalnum())
            key = (score, same_edges, -abs(e - s - len(quote)), -s, e)
            best = key if best is None or key > best else best
    return ((-best[3], best[4]), best[0]) if best else None


def _same_length_lower(text: str) -> str:
    """Lower case without changing the length (a few characters lower-case to two)."""
    return "".join(c.lower() if len(c.lower()) == 1 else c for c in text)


def _word_edge(text: str, at: int, forward: bool) -> bool:
    """Can a passage start (end) with the character at `at`? Not with a space or a lone dash."""
    step = 1 if forward else -1
    while 0 <= at < len(text) and not text[at].isalnum():
        if text[at].isspace() or text[at] == BLOCK_SEP:
            return False
        at += step
    return 0 <= at < len(text)


def _edges(text: str, lo: int, hi: int) -> list[int]:
    """Positions in [lo, hi] where the kind of character changes (letter/digit, space, other)."""
    def kind(c: str) -> int:
        return 0 if c.isalnum() else 1 if c.isspace() else 2
    return [i for i in range(lo, hi + 1) if i in (lo, hi) or kind(text[i - 1]) != kind(text[i])]


Span = tuple[int, int]


def _context_spans(folded: str, span: Span, prefix: str, suffix: str) -> tuple[Span | None, Span | None] | None:
    """New prefix/suffix spans for a passage: None where the old value can stay; None overall if ambiguous."""
    start, end = span
    others = [s for s in _all_at(folded, folded[start:end]) if s != start]
    prefix_fits, suffix_fits = _fits_before(folded, start, prefix), _fits_after(folded, end, suffix)
    new_prefix = None if prefix_fits else _words_span(folded, start, 3, before=True)
    new_suffix = None if suffix_fits else _words_span(folded, end, 3, before=False)
    if not others:
        return new_prefix, new_suffix
    if prefix_fits and suffix_fits and (prefix.strip() or suffix.strip()) and not any(
            _fits_before(folded, o, prefix) and _fits_after(folded, o + end - start, suffix) for o in others):
        return None, None
    chosen = _disambiguating(folded, span, others)
    if chosen is None:
        return None
    # an old value that no longer fits is replaced even where the new passage does not need one
    return (chosen[0] if chosen[0] is not None else new_prefix, chosen[1] if chosen[1] is not None else new_suffix)


def _disambiguating(folded: str, span: Span, others: list[int]) -> tuple[Span | None, Span | None] | None:
    """The fewest words before (else after, else both) that tell this occurrence from the others."""
    start, end = span
    for words in range(2, _MAX_CONTEXT_WORDS + 1):
        before, after = _words_span(folded, start, words, before=True), _words_span(folded, end, words, before=False)
        before_text, after_text = folded[before[0]:before[1]], folded[after[0]:after[1]]
        unique_before = before_text.strip() and not any(_fits_before(folded, o, before_text) for o in others)
        unique_after = after_text.strip() and not any(_fits_after(folded, o + end - start, after_text) for o in others)
        if unique_before or unique_after:
            return (before, None) if unique_before else (None, after)
        if before_text.strip() and after_text.strip() and not any(
                _fits_before(folded, o, before_text) and _fits_after(folded, o + end - start, after_text)
                for o in others):
            return before, after
    return None


def _fits_before(folded: str, start: int, prefix: str) -> bool:
    """The rule `find_occurrences` applies to a prefix."""
    return folded[:start].rstrip().endswith(prefix.rstrip())


def _fits_after(folded: str, end: int, suffix: str) -> bool:
    """The rule `find_occurrences` applies to a suffix."""
    return folded[end:].lstrip().startswith(suffix.lstrip())


def _words_span(folded: str, at: int, words: int, before: bool) -> Span:
    """The span of up to `words` words just before (or after) `at`, within its block."""
    text = _block_part(folded, at, before)
    stripped = text.rstrip() if before else text.lstrip()
    pieces = stripped.split(" ")
    taken = (" ".join(pieces[-words:]) if before else " ".join(pieces[:words])) if stripped else ""
    gap = len(text) - len(stripped)
    return (at - gap - len(taken), at) if before else (at, at + gap + len(taken))


# --- the markdown-it plugin --------------------------------------------------------------

def annotations_plugin(md: MarkdownIt) -> None:
    """Anchor `env["annotations"]` in the parsed tokens; render marks and note slots."""
    md.core.ruler.push("anchor_annotations", _anchor_rule)
    md.add_render_rule("annotation_note", _render_note)
    md.add_render_rule("heading_open", _render_heading_open)


def _anchor_rule(state: StateCore) -> None:
    annotations = state.env.get("annotations") if isinstance(state.env, dict) else None
    if not annotations:
        return
    reader = build_reader_text(state.tokens)
    reader.first_line = int(state.env.get("first_line", 1))
    anchors, problems = anchor_all(reader, list(annotations))
    state.env["reader_text"] = reader
    state.env["anchors"] = anchors
    state.env["anchor_problems"] = problems
    for block_index, cuts in _cuts_by_block(reader, anchors).items():
        block = state.tokens[block_index]
        block.children = _mark_children(block.children or [], cuts, anchors)


Cut = tuple[int, int, Anchor]
"""(local start, local end, anchor) within one child token."""


def _cuts_by_block(reader: ReaderText, anchors: list[Anchor]) -> dict[int, dict[int, list[Cut]]]:
    cuts: dict[int, dict[int, list[Cut]]] = {}
    for anchor in anchors:
        for segment in reader.segments:
            if segment.end <= anchor.start or segment.start >= anchor.end:
                continue
            local = (max(anchor.start, segment.start) - segment.start, min(anchor.end, segment.end) - segment.start)
            if not segment.splittable:
                local = (0, len(segment.text))
            cuts.setdefault(segment.block, {}).setdefault(segment.child, []).append((*local, anchor))
    return cuts


def _mark_children(children: list[Token], cuts: dict[int, list[Cut]], anchors: list[Anchor]) -> list[Token]:
    """Rebuild one inline token's children with marks around cut pieces and notes after phrases."""
    out: list[Token] = []
    remaining = {id(a): _pieces_left(a, cuts) for a in anchors}
    started: set[int] = set()
    pending: list[Anchor] = []
    depth = 0
    for index, child in enumerate(children):
        if index not in cuts:
            out.append(child)
            depth += child.nesting
        else:
            for piece, active in _pieces(child, cuts[index]):
                out.extend(_open(a, id(a) not in started) for a in active)
                started.update(id(a) for a in active)
                out.append(piece)
                out.extend(_close(a) for a in reversed(active))
                for anchor in active:
                    remaining[id(anchor)] -= 1
                    if remaining[id(anchor)] == 0:
                        pending.append(anchor)
                _flush_notes(out, pending, depth)
        _flush_notes(out, pending, depth)
    _flush_notes(out, pending, 0)
    return out


def _flush_notes(out: list[Token], pending: list[Anchor], depth: int) -> None:
    """Place waiting notes, but never inside a link or emphasis the phrase ended in."""
    if depth == 0 and pending:
        out.extend(_note(a) for a in pending)
        pending.clear()


def _pieces_left(anchor: Anchor, cuts: dict[int, list[Cut]]) -> int:
    count = 0
    for child_cuts in cuts.values():
        bounds = sorted({b for s, e, _ in child_cuts for b in (s, e)})
        mine = [(s, e) for s, e, a in child_cuts if a is anchor]
        for s, e in mine:
            count += sum(1 for p, q in zip(bounds, bounds[1:]) if s <= p and q <= e)
    return count


def _pieces(child: Token, child_cuts: list[Cut]) -> list[tuple[Token, list[Anchor]]]:
    """Split a child at every cut boundary; each piece with the anchors covering it, outermost first."""
    bounds = sorted({b for s, e, _ in child_cuts for b in (s, e)})
    pieces: list[tuple[Token, list[Anchor]]] = []
    for p, q in zip(bounds, bounds[1:]):
        active = sorted((a for s, e, a in child_cuts if s <= p and q <= e), key=lambda a: (a.start, -a.end))
        if not active:
            pieces.append((_slice(child, p, q), []))
            continue
        pieces.append((_slice(child, p, q), active))
    if bounds and bounds[0] > 0:
        pieces.insert(0, (_slice(child, 0, bounds[0]), []))
    if bounds and bounds[-1] < len(child.content) and child.type == "text":
        pieces.append((_slice(child, bounds[-1], len(child.content)), []))
    return pieces


def _slice(child: Token, start: int, end: int) -> Token:
    if child.type != "text":
        return child
    piece = Token("text", "", 0)
    piece.content = child.content[start:end]
    return piece


def _open(anchor: Anchor, first: bool) -> Token:
    token = Token("annotation_open", "mark", 1)
    token.attrSet("class", "annotation")
    token.attrSet("data-note", str(anchor.number))
    if first:
        token.attrSet("id", f"ann-{anchor.annotation.id}")
    token.meta = {"anchor": anchor}
    return token


def _close(anchor: Anchor) -> Token:
    token = Token("annotation_close", "mark", -1)
    token.meta = {"anchor": anchor}
    return token


def _note(anchor: Anchor) -> Token:
    token = Token("annotation_note", "", 0)
    token.meta = {"anchor": anchor}
    return token


def _render_note(self: RendererHTML, tokens: list[Token], idx: int, options: OptionsDict, env: EnvType) -> str:
    note_html = env.get("note_html")
    return note_html(tokens[idx].meta["anchor"]) if note_html else ""


def _render_heading_open(self: RendererHTML, tokens: list[Token], idx: int, options: OptionsDict, env: EnvType) -> str:
    """A heading that holds a note is named by its own words (`aria-label`): the note inside it,
    its number and its checkbox's name were all read out as the heading's name ("The nuclear
    deal Note 1: “nuclear deal” Note 1 talks") in a screen reader's list of headings."""
    heading = tokens[idx]
    inline = tokens[idx + 1] if idx + 1 < len(tokens) else None
    if not env.get("note_html") or inline is None or not any(c.type == "annotation_note" for c in inline.children or ()):
        return self.renderToken(tokens, idx, options, env)
    named = copy.copy(heading)
    named.attrs = {**heading.attrs, "aria-label": " ".join(inline_text(inline.children).split())}
    return self.renderToken([named, inline], 0, options, env)

