"""Importing a raw text article (a "seed", as copied from a news page) as an article page.

A seed is plain text in blocks separated by blank lines. `read_seed` sorts the
blocks into site chrome (dropped), section labels, the headline, a byline, a
date line, a photo caption with its credit, and the body paragraphs, whose
characters are kept exactly (curly quotes, non-breaking spaces, accents). The
rules, in the order they apply, are documented with examples in
docs/importing.md; each has a fixture under tests/fixtures/seeds/. Nothing
here touches files: `commands_import` reads the seed and writes the page.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass

from markdown_it import MarkdownIt

from site_gen.diagnostics import DiagnosticError, SourceLocation, error
from site_gen.markdown import make_parser

CHROME_RE = re.compile(
    r"(exit mobile version|skip to (main )?content|advertisement|ad|sponsored( content)?|subscribe( now)?"
    r"|sign (in|up)|log ?in|menu|search|close|back to top|share( this( article| story)?)?|share on \w+|tweet"
    r"|email|print|copy link|comments?( \(\d+\))?|read more|related( articles| stories| content)?|recommended"
    r"|most (popular|read)|trending( now)?|newsletter|listen to (this )?article|\d+ min(ute)?s? read"
    r"|click to share on .*|(photo|image) \d+ of \d+|continue reading|follow us|cookie settings)[:.]?",
    re.IGNORECASE)
"""Whole blocks that are the page around the article, not the article."""
MONTH = (r"(?P<month>Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?"
         r"|Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\.?")
DATE_RES = (
    re.compile(r"\b(?P<year>\d{4})-(?P<mon>\d{2})-(?P<day>\d{2})\b"),
    re.compile(r"\b" + MONTH + r"\s+(?P<day>\d{1,2})(?:st|nd|rd|th)?,?\s+(?P<year>\d{4})\b"),
    re.compile(r"\b(?P<day>\d{1,2})(?:st|nd|rd|th)?\s+" + MONTH + r",?\s+(?P<year>\d{4})\b"),
)
BYLINE_RE = re.compile(r"^(?:[Bb][Yy]|[Ww]ritten [Bb]y)\s+[A-Z]")
DATE_LINE_RE = re.compile(r"^(?:(?:first |last )?(?:published|updated|posted|date)\s*:?\s*(?:on\s+)?)?"
                          r"(?:(?:mon|tues|wednes|thurs|fri|satur|sun)day,?\s+)?", re.IGNORECASE)
DATELINE_RE = re.compile(r"^(?P<place>[A-Z][A-Z.'’ -]*[A-Z.])(?:,\s*[^—–(\n]{0,40}?)?\s*(?:\([^)\n]{1,40}\))?\s*(?:—|–|--?)\s")
CREDIT_WORDS_RE = re.compile(r"\b(photo|photograph|picture|image|credit|via|handout|courtesy|reuters|ap|afp|epa"
                             r"|getty|pool|file|shutterstock|press|agency|images)\b", re.IGNORECASE)
CREDIT_MARKER_RE = re.compile(r"(?:^|(?<=[.!?”\"]) )(?:photo(?:graph)?|picture|image|credit)s?(?: credit)?\s*(?::|by)\s*"
                              r"(?P<credit>\S.*)$", re.IGNORECASE)
AGENCY_CREDIT_RE = re.compile(r"(?:^|(?<=[.!?”\"]) )(?P<credit>(?:[A-Z]{2,}(?: [A-Z]{2,})*)/\S.*)$")
_CREDIT_PREFIX_RE = re.compile(r"^(?:photo(?:graph)?|picture|image|credit)s?(?: credit)?\s*(?::|by)\s*", re.IGNORECASE)
_INLINE_SPECIAL_RE = re.compile(r"([\\`*_\[\]<>&|~])")
_LINE_START_RE = re.compile(r"^([ \t]*(?:\d{1,9}(?=[.)]))?)([#+=>.)-])", re.MULTILINE)


@dataclass(frozen=True)
class Block:
    """A run of non-blank lines of the seed, ends trimmed of spaces and tabs, with its first line."""

    text: str
    line: int


@dataclass(frozen=True)
class SeedDate:
    """A date found in the seed and the block kind it came from (shown to the author)."""

    date: dt.date
    found_in: str
    line: int


@dataclass(frozen=True)
class ImportedText:
    """What `read_seed` found in a seed: the article's parts and what it dropped."""

    title: str
    title_line: int
    paragraphs: tuple[str, ...]
    labels: tuple[str, ...] = ()
    date: SeedDate | None = None
    caption: str = ""
    credit: str = ""
    byline: str = ""
    dateline: str = ""
    dropped: tuple[Block, ...] = ()
    escaped: tuple[int, ...] = ()
    """Seed lines of paragraphs whose Markdown characters had to be backslash-escaped."""
    unsafe: tuple[int, ...] = ()
    """Seed lines of paragraphs that even escaped would not show as written (kept as they are)."""

    @property
    def section(self) -> str:
        """The most specific section label: the last one ("News", "World" -> "World")."""
        return self.labels[-1] if self.labels else ""

    @property
    def body(self) -> str:
        """The Markdown body as written after the front matter: a blank line, then the paragraphs."""
        return "\n" + "\n\n".join(self.paragraphs) + "\n"


def split_blocks(text: str) -> list[Block]:
    """Blocks of non-blank lines; a line of spaces and tabs is blank (a non-breaking space is text)."""
    blocks: list[Block] = []
    current: list[str] = []
    start = 1
    for number, line in enumerate(text.split("\n"), start=1):
        if line.strip(" \t"):
            if not current:
                start = number
            current.append(line.rstrip(" \t"))
        elif current:
            blocks.append(Block("\n".join(current).strip(" \t"), start))
            current = []
    if current:
        blocks.append(Block("\n".join(current).strip(" \t"), start))
    return blocks


def read_seed(text: str, path: str) -> ImportedText:
    """Sort a seed's blocks into headline, labels, byline, date, caption, body; raise on an empty seed."""
    blocks = split_blocks(text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n"))
    dropped = tuple(b for b in blocks if is_chrome(b.text))
    kept = [b for b in blocks if not is_chrome(b.text)]
    if not kept:
        raise DiagnosticError([error(SourceLocation(path, 1, 1), "the seed has no text to import")])
    labels, meta, at = _head(kept)
    title = kept[at]
    at = _metadata(kept, at + 1, meta)
    body = kept[at:]
    if not body:
        raise DiagnosticError([error(SourceLocation(path, title.line, 1), "no body paragraphs after the headline",
                                     "a seed is the headline, then paragraphs separated by blank lines")])
    paragraphs, escaped, unsafe = _markdown_paragraphs(body)
    dateline = DATELINE_RE.match(body[0].text)
    if dateline:
        meta["dateline"] = Block(dateline.group(0).strip(), body[0].line)
    empty = Block("", 0)
    return ImportedText(
        title=title.text.replace("\n", " "), title_line=title.line, paragraphs=paragraphs,
        labels=tuple(b.text for b in labels), date=_pick_date(meta), caption=meta.get("caption", empty).text,
        credit=meta.get("credit", empty).text, byline=meta.get("byline", empty).text,
        dateline=meta.get("dateline", empty).text, dropped=dropped, escaped=escaped, unsafe=unsafe)


def is_chrome(text: str) -> bool:
    """A whole block that is site navigation or widgets ("Exit mobile version", "Share", "5 min read")."""
    return len(text) <= 60 and CHROME_RE.fullmatch(" ".join(text.split())) is not None


def _is_label(text: str) -> bool:
    """A section label: one line of at most three capitalised words, no sentence punctuation."""
    words = text.split()
    if "\n" in text or not 1 <= len(words) <= 3 or len(text) > 30 or not text[0].isupper():
        return False
    if _is_byline(text) or find_date(text):
        return False
    return not re.search(r"[!?,;:]$", text) and (not text.endswith(".") or "." in words[-1][:-1])


def _looks_like_body(text: str) -> bool:
    """A sentence-like paragraph: more than twelve words ending in sentence punctuation."""
    return len(text.split()) > 12 and re.search(r"[.!?\"”’)]$", text) is not None


def _is_byline(text: str) -> bool:
    """"By Jane Doe", "BY JANE DOE and JOHN ROE, Reuters", "Written by …": a short line naming authors."""
    return BYLINE_RE.match(text) is not None and len(text.split()) <= 15 and not _looks_like_body(text)


def _head(blocks: list[Block]) -> tuple[list[Block], dict[str, Block], int]:
    """Leading labels (and a date line among them), and the index of the headline.

    When the block after the labels reads like body text or a byline, the last
    "label" was in fact a short headline ("Markets Tumble").
    """
    labels: list[Block] = []
    meta: dict[str, Block] = {}
    at = 0
    while at < len(blocks) - 1 and (_is_label(blocks[at].text) or _is_date_line(blocks[at].text)):
        if _is_label(blocks[at].text):
            labels.append(blocks[at])
        else:
            meta.setdefault("date_line", blocks[at])
        at += 1
    following = blocks[at].text
    if labels and labels[-1] is blocks[at - 1] and (_looks_like_body(following) or _is_byline(following)):
        labels.pop()
        at -= 1
    return labels, meta, at


def _metadata(blocks: list[Block], at: int, found: dict[str, Block]) -> int:
    """Byline, date line and caption blocks right after the headline, in any order; stops at the body."""
    while at < len(blocks) - 1:
        block = blocks[at]
        if "byline" not in found and _is_byline(block.text):
            found["byline"] = block
        elif "date_line" not in found and _is_date_line(block.text):
            found["date_line"] = block
        elif "caption" not in found and (parts := split_caption(block.text)):
            found["caption"], found["credit"] = Block(parts[0], block.line), Block(parts[1], block.line)
        else:
            break
        at += 1
    return at


def _is_date_line(text: str) -> bool:
    """A short block that starts with a date, maybe after "Published"/"Updated" and a weekday."""
    if len(text.split()) > 12:
        return False
    rest = text[DATE_LINE_RE.match(text).end():]  # type: ignore[union-attr]  # the pattern matches any text
    return any(pattern.match(rest) for pattern in DATE_RES)


def split_caption(text: str) -> tuple[str, str] | None:
    """(caption, credit) when the block ends with a photo credit, else None.

    A credit is a final parenthesised group that names a photo source ("(Reuters)",
    "(Office …/Handout via Reuters)", "(AP Photo/Jane Doe)"), a final "Photo: …" /
    "Credit: …" / "Photograph by …", or a final agency credit like "REUTERS/Jane Doe".
    """
    if text.endswith(")"):
        opening = _matching_open(text)
        if opening > 0 and (CREDIT_WORDS_RE.search(text[opening:]) or "/" in text[opening:]):
            return text[:opening].rstrip(), _CREDIT_PREFIX_RE.sub("", text[opening + 1:-1].strip())
    for pattern in (CREDIT_MARKER_RE, AGENCY_CREDIT_RE):
        match = pattern.search(text)
        if match and match.start() > 0:
            return text[:match.start()].rstrip(), match.group("credit").strip()
    return None


def _matching_open(text: str) -> int:
    """Index of the "(" that the final ")" closes (nested groups allowed), or -1."""
    depth = 0
    for index in range(len(text) - 1, -1, -1):
        depth += {")": 1, "(": -1}.get(text[index], 0)
        if depth == 0:
            return index
    return -1


def find_date(text: str) -> dt.date | None:
    """The first real calendar date written in `text` (2022-07-19, July 19, 2022, 19 July 2022)."""
    found: list[tuple[int, dt.date]] = []
    for pattern in DATE_RES:
        for match in pattern.finditer(text):
            parts = match.groupdict()
            month = int(parts["mon"]) if "mon" in parts and parts.get("mon") else _month(parts.get("month") or "")
            try:
                found.append((match.start(), dt.date(int(parts["year"]), month, int(parts["day"]))))
            except ValueError:
                continue
    return min(found)[1] if found else None


def _month(name: str) -> int:
    months = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
    return months.index(name[:3].lower()) + 1 if name[:3].lower() in months else 0


def _pick_date(meta: dict[str, Block]) -> SeedDate | None:
    """The publication date: a date line, else the byline, else the body's dateline, else the caption."""
    for key, name in (("date_line", "date line"), ("byline", "byline"), ("dateline", "dateline"),
                      ("caption", "photo caption")):
        block = meta.get(key)
        date = find_date(block.text) if block else None
        if block and date:
            return SeedDate(date, name, block.line)
    return None


def _markdown_paragraphs(body: list[Block]) -> tuple[tuple[str, ...], tuple[int, ...], tuple[int, ...]]:
    """Each paragraph as Markdown that shows exactly its text, escaped only where Markdown would not.

    Checked with raw HTML allowed, so the page reads the same whatever `allow_html` says.
    Returns the paragraphs, the seed lines of escaped ones, and those no escaping could save.
    """
    md = make_parser(allow_html=True)
    paragraphs: list[str] = []
    escaped: list[int] = []
    unsafe: list[int] = []
    for block in body:
        if _renders_as_text(md, block.text):
            paragraphs.append(block.text)
            continue
        safe = _LINE_START_RE.sub(r"\1\\\2", _INLINE_SPECIAL_RE.sub(r"\\\1", block.text))
        good = _renders_as_text(md, safe, block.text)
        paragraphs.append(safe if good else block.text)
        (escaped if good else unsafe).append(block.line)
    return tuple(paragraphs), tuple(escaped), tuple(unsafe)


def _renders_as_text(md: MarkdownIt, markdown: str, text: str | None = None) -> bool:
    """True when `markdown` renders as one plain paragraph showing `text` (default: itself)."""
    tokens = md.parse(markdown)
    if [t.type for t in tokens] != ["paragraph_open", "inline", "paragraph_close"]:
        return False
    children = tokens[1].children or []
    if any(c.type not in ("text", "softbreak") for c in children):
        return False
    shown = "".join(c.content if c.type == "text" else "\n" for c in children)
    expected = "\n".join(line.strip(" \t") for line in (text if text is not None else markdown).split("\n"))
    return shown == expected


def article_text(imported: ImportedText, seed_name: str) -> str:
    """The new page: front matter (title, date or TODO, section, image, source.seed, annotations), body."""
    def q(value: str) -> str:
        return json.dumps(value, ensure_ascii=False)  # a JSON string is a valid YAML double-quoted scalar

    lines = ["---", f"title: {q(imported.title)}"]
    if imported.date:
        lines.append(f"date: {imported.date.date.isoformat()}  # from the {imported.date.found_in}: check it")
    else:
        lines.append("date: TODO  # no date found in the text: write the publication date as YYYY-MM-DD")
    lines.append(f"section: {q(imported.section)}" if imported.section else "# section: none found in the text")
    if imported.caption:
        lines += ["image:", f"  caption: {q(imported.caption)}", f"  credit: {q(imported.credit)}"]
    lines += ["source:", f"  seed: {q(seed_name)}"]
    if imported.byline:
        lines.append("# byline in the text: " + " ".join(imported.byline.split()))
    lines += ["annotations: []", "---"]
    return "\n".join(lines) + "\n" + imported.body
