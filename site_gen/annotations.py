"""Anchoring: find each annotation's quote in the text a reader sees, and mark it.

A markdown-it core rule (run last, after inline parsing) reads the annotations
from `env["annotations"]`, builds the *reader text* of the document from its
inline tokens (text, code, wiki-link labels; markup contributes nothing), and
matches each quote there: whitespace runs (non-breaking spaces included) fold
to one space and curly quotes match straight ones. A quote may therefore span
`*emphasis*`, links and line breaks. Matched text tokens are split and wrapped
in `annotation_open`/`annotation_close` tokens (properly nested even when
annotations overlap), and an `annotation_note` token is placed after the
phrase, outside any link or emphasis it ends in. Results go to
`env["anchors"]`, problems to `env["anchor_problems"]`; nothing is printed.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field

from markdown_it import MarkdownIt
from markdown_it.renderer import RendererHTML
from markdown_it.rules_core import StateCore
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict
from rapidfuzz import fuzz

from site_gen.model import Annotation

BLOCK_SEP = "\x00"
"""Separates blocks in the reader text: never whitespace, never in a quote, so no match spans two paragraphs."""
_WS_RUN = re.compile(r"[^\S\x00]+")
_QUOTE_FOLD = str.maketrans({"‘": "'", "’": "'", "‚": "'", "‛": "'", "“": '"', "”": '"', "„": '"', "‟": '"'})
_ATOMIC = {"code_inline", "wikilink", "softbreak", "hardbreak"}
_WHITESPACE_TOKENS = {"softbreak": "\n", "hardbreak": "\n"}


@dataclass(frozen=True)
class Segment:
    """A run of reader text that comes from one inline child token."""

    block: int
    child: int
    start: int
    text: str
    line: int
    splittable: bool

    @property
    def end(self) -> int:
        return self.start + len(self.text)


@dataclass
class ReaderText:
    """The visible text of a document, its folded form for matching, and the maps between them."""

    raw: str
    segments: list[Segment]
    folded: str
    first_line: int = 1
    """File line of the body's first line, so messages can name file lines."""
    breakpoints_folded: list[int] = field(default_factory=list)
    breakpoints_raw: list[int] = field(default_factory=list)

    def raw_index(self, folded_index: int) -> int:
        """Position in `raw` of the character at `folded_index` in `folded`."""
        i = bisect.bisect_right(self.breakpoints_folded, folded_index) - 1
        offset = folded_index - self.breakpoints_folded[i]
        if self.raw[self.breakpoints_raw[i]].isspace() and self.raw[self.breakpoints_raw[i]] != BLOCK_SEP:
            return self.breakpoints_raw[i]
        return self.breakpoints_raw[i] + offset

    def raw_range(self, start: int, end: int) -> tuple[int, int]:
        """Raw [start, end) of the folded range [start, end)."""
        last = self.raw_index(end - 1)
        while last + 1 < len(self.raw) and self.raw[last].isspace() and self.raw[last + 1].isspace() \
                and self.raw[last + 1] != BLOCK_SEP:
            last += 1  # a folded space stands for the whole whitespace run
        return self.raw_index(start), last + 1

    def segment_at(self, raw_index: int) -> Segment:
        """The segment holding a raw position (the next one when it falls between segments)."""
        starts = [s.start for s in self.segments]
        i = max(bisect.bisect_right(starts, raw_index) - 1, 0)
        return self.segments[i]


@dataclass(frozen=True)
class Anchor:
    """Where an annotation landed: its number on the page and its place in the reader text."""

    annotation: Annotation
    number: int
    start: int
    """Start in the reader text (`ReaderText.raw`, blocks joined by BLOCK_SEP)."""
    end: int
    line: int
    """0-based body line of the phrase (add the page's body_line for a file line)."""
    exact: str
    prefix: str
    suffix: str


@dataclass(frozen=True)
class AnchorProblem:
    """Why an annotation could not be anchored, with the places involved."""

    annotation: Annotation
    message: str
    hint: str = ""


def fold(text: str) -> str:
    """The matching form of a text: whitespace runs -> one space, curly quotes -> straight."""
    return _WS_RUN.sub(" ", text).translate(_QUOTE_FOLD)


def build_reader_text(tokens: list[Token]) -> ReaderText:
    """Collect the visible text of every inline token, blocks separated by BLOCK_SEP."""
    raw_parts: list[str] = []
    segments: list[Segment] = []
    position = 0
    for block_index, block in enumerate(tokens):
        if block.type != "inline" or not block.children:
            continue
        if raw_parts:
            raw_parts.append(BLOCK_SEP)
            position += 1
        line = block.map[0] if block.map else 0
        for child_index, child in enumerate(block.children):
            text = _WHITESPACE_TOKENS.get(child.type, child.content if child.type in ("text", *_ATOMIC) else "")
            if text:
                segments.append(Segment(block_index, child_index, position, text, line, child.type == "text"))
                raw_parts.append(text)
                position += len(text)
            if child.type in _WHITESPACE_TOKENS:
                line += 1
    raw = "".join(raw_parts)
    return _with_folding(raw, segments)


def _with_folding(raw: str, segments: list[Segment]) -> ReaderText:
    reader = ReaderText(raw, segments, "")
    folded_parts: list[str] = []
    folded_pos = 0
    raw_pos = 0
    for match in _WS_RUN.finditer(raw):
        if match.start() > raw_pos:
            reader.breakpoints_folded.append(folded_pos)
            reader.breakpoints_raw.append(raw_pos)
            folded_parts.append(raw[raw_pos:match.start()])
            folded_pos += match.start() - raw_pos
        reader.breakpoints_folded.append(folded_pos)
        reader.breakpoints_raw.append(match.start())
        folded_parts.append(" ")
        folded_pos += 1
        raw_pos = match.end()
    if raw_pos < len(raw) or not reader.breakpoints_raw:
        reader.breakpoints_folded.append(folded_pos)
        reader.breakpoints_raw.append(raw_pos)
        folded_parts.append(raw[raw_pos:])
    reader.folded = "".join(folded_parts).translate(_QUOTE_FOLD)
    return reader


def find_occurrences(reader: ReaderText, annotation: Annotation) -> tuple[list[int], list[int]]:
    """All folded start positions of the quote, and those that also fit prefix/suffix."""
    quote = fold(annotation.quote.strip())
    if not quote:
        return [], []
    found: list[int] = []
    at = reader.folded.find(quote)
    while at != -1:
        found.append(at)
        at = reader.folded.find(quote, at + 1)
    prefix, suffix = fold(annotation.prefix).rstrip(), fold(annotation.suffix).lstrip()
    fitting = [s for s in found
               if reader.folded[:s].rstrip().endswith(prefix)
               and reader.folded[s + len(quote):].lstrip().startswith(suffix)]
    return found, fitting


def anchor_all(reader: ReaderText, annotations: list[Annotation]) -> tuple[list[Anchor], list[AnchorProblem]]:
    """Anchor each annotation once; number anchors in reading order."""
    placed: list[tuple[int, int, Annotation]] = []
    problems: list[AnchorProblem] = []
    for annotation in annotations:
        found, fitting = find_occurrences(reader, annotation)
        if len(fitting) == 1:
            start = fitting[0]
            placed.append((*reader.raw_range(start, start + len(fold(annotation.quote.strip()))), annotation))
        else:
            problems.append(_problem(reader, annotation, found, fitting))
    placed.sort(key=lambda item: (item[0], -item[1]))
    anchors = [_anchor(reader, number, start, end, annotation)
               for number, (start, end, annotation) in enumerate(placed, start=1)]
    return anchors, problems


def _anchor(reader: ReaderText, number: int, start: int, end: int, annotation: Annotation) -> Anchor:
    block_start = reader.raw.rfind(BLOCK_SEP, 0, start) + 1
    block_end = reader.raw.find(BLOCK_SEP, end)
    block_end = len(reader.raw) if block_end == -1 else block_end
    segment = reader.segment_at(start)
    line = segment.line + reader.raw.count("\n", segment.start, start)
    return Anchor(annotation, number, start, end, line, reader.raw[start:end],
                  reader.raw[max(block_start, start - 32):start], reader.raw[end:min(block_end, end + 32)])


def line_of(reader: ReaderText, raw_index: int) -> int:
    """File line (1-based) of a raw reader-text position."""
    segment = reader.segment_at(raw_index)
    return reader.first_line + segment.line + reader.raw.count("\n", segment.start, max(raw_index, segment.start))


def _problem(reader: ReaderText, annotation: Annotation, found: list[int], fitting: list[int]) -> AnchorProblem:
    quote = annotation.quote.strip()
    if not found:
        return AnchorProblem(annotation, f"quote not found in the text: \"{quote}\"", _closest_hint(reader, quote))
    if not fitting:
        return AnchorProblem(annotation, f"quote \"{quote}\" is in the text, but not with the given prefix/suffix",
                             "it occurs at " + _places(reader, found) + "; correct prefix/suffix")
    return AnchorProblem(annotation, f"quote \"{quote}\" occurs {len(fitting)} times",
                         f"it occurs at {_places(reader, fitting)}; add prefix: or suffix: "
                         "(the words just before or after it) to pick one")


def _places(reader: ReaderText, starts: list[int]) -> str:
    places = []
    for start in starts:
        raw = reader.raw_index(start)
        context = reader.raw[max(0, raw - 20):raw + 20].replace(BLOCK_SEP, " ")
        places.append(f"line {line_of(reader, raw)} (\"…{fold(context).strip()}…\")")
    return ", ".join(places)


def closest_passage(reader: ReaderText, quote: str) -> tuple[str, int, float]:
    """The passage of the text most like `quote`, its raw start, and a 0-100 score."""
    folded_quote = fold(quote)
    if not reader.folded or not folded_quote:
        return "", 0, 0.0
    match = fuzz.partial_ratio_alignment(folded_quote, reader.folded, processor=None)
    passage = reader.folded[match.dest_start:match.dest_end]
    return passage.replace(BLOCK_SEP, " ").strip(), reader.raw_index(min(match.dest_start, len(reader.folded) - 1)), match.score


def _closest_hint(reader: ReaderText, quote: str) -> str:
    passage, raw_start, score = closest_passage(reader, quote)
    if score < 50:
        return "no similar passage in the text; check that the annotation belongs to this article"
    return f"closest passage (line {line_of(reader, raw_start)}): \"{passage}\""


# --- the markdown-it plugin --------------------------------------------------------------

def annotations_plugin(md: MarkdownIt) -> None:
    """Anchor `env["annotations"]` in the parsed tokens; render marks and note slots."""
    md.core.ruler.push("anchor_annotations", _anchor_rule)
    md.add_render_rule("annotation_note", _render_note)


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
    pieces = []
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
