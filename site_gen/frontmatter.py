"""Front matter: split a page file into YAML header and Markdown body, then read
the header into an `Article` or `Topic` with every problem located.

The header is the block between a first line `---` and the next line `---`.
YAML errors are reported at file lines (header line + offset), never swallowed.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from site_gen.diagnostics import Diagnostic, DiagnosticError, SourceLocation, error
from site_gen.model import Annotation, Article, Image, Provenance, SourceRef, Topic
from site_gen.schema import MappingReader
from site_gen.yamlfile import LocatedYaml, load_yaml

FENCE = "---"
ARTICLE_KEYS = ("title", "date", "slug", "summary", "tags", "section", "image", "source", "draft", "annotations")
TOPIC_KEYS = ("title", "slug", "aliases", "summary", "sources")
ANNOTATION_KEYS = ("id", "quote", "prefix", "suffix", "note", "topic", "sources")
SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


@dataclass(frozen=True)
class SplitPage:
    """A page file cut in two: the YAML text and the body, with the body's first file line."""

    header: str
    body: str
    body_line: int


def split_front_matter(text: str, path: str) -> SplitPage:
    """Cut `text` at its `---` fences; raise DiagnosticError if the header is malformed."""
    lines = text.split("\n")
    if not lines or lines[0].rstrip() != FENCE:
        raise DiagnosticError([error(SourceLocation(path, 1, 1), "missing front matter: the file must start with a line '---'",
                                     "start the file with ---, then title: and date:, then --- and the text")])
    for index in range(1, len(lines)):
        if lines[index].rstrip() == FENCE:
            return SplitPage("\n".join(lines[1:index]), "\n".join(lines[index + 1:]), index + 2)
    raise DiagnosticError([error(SourceLocation(path, 1, 1), "front matter is never closed",
                                 "did you forget the closing '---' line after the front matter?")])


def slugify(text: str) -> str:
    """A URL-safe slug: ASCII lower case words joined by hyphens (Erdoğan -> erdogan)."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


def _header(split: SplitPage, path: str) -> tuple[LocatedYaml, dict]:
    doc = load_yaml(split.header, path, line_offset=1)
    if doc.value is None:
        doc.value = {}
    if not isinstance(doc.value, dict):
        raise DiagnosticError([error(doc.where(), "front matter must be a mapping of keys (title: ..., date: ...)")])
    return doc, doc.value


def _slug(reader: MappingReader, file_stem: str) -> str:
    slug = reader.string("slug") or slugify(file_stem)
    if not SLUG_RE.match(slug):
        reader.fail("slug" if reader.has("slug") else None, f"invalid slug '{slug}'",
                    "use lower-case letters, digits and single hyphens, e.g. slug: " + (slugify(slug) or "my-page"))
    return slug


def _sources(reader: MappingReader) -> tuple[SourceRef, ...]:
    refs = []
    for item in reader.mapping_list("sources"):
        item.reject_unknown(("title", "url"), "a source")
        refs.append(SourceRef(item.string("title", required=True), item.string("url", required=True), item.where()))
    return tuple(refs)


def parse_article(text: str, path: str, file_stem: str) -> Article:
    """Read an article file; raise DiagnosticError with every problem in its header."""
    split = split_front_matter(text, path)
    doc, value = _header(split, path)
    diagnostics: list[Diagnostic] = []
    reader = MappingReader(doc, (), value, diagnostics)
    reader.reject_unknown(ARTICLE_KEYS, "article front matter")
    article = Article(
        slug=_slug(reader, file_stem), title=reader.string("title", required=True), body=split.body,
        path=path, body_line=split.body_line, location=SourceLocation(path, 1, 1),
        date=reader.date("date", required=True) or Article.date, summary=reader.string("summary"),
        tags=reader.string_list("tags"), section=reader.string("section"), image=_image(reader),
        provenance=_provenance(reader), draft=reader.boolean("draft"), annotations=_annotations(reader),
    )
    if diagnostics:
        raise DiagnosticError(diagnostics)
    return article


def parse_topic(text: str, path: str, file_stem: str) -> Topic:
    """Read a topic file; raise DiagnosticError with every problem in its header."""
    split = split_front_matter(text, path)
    doc, value = _header(split, path)
    diagnostics: list[Diagnostic] = []
    reader = MappingReader(doc, (), value, diagnostics)
    reader.reject_unknown(TOPIC_KEYS, "topic front matter")
    topic = Topic(
        slug=_slug(reader, file_stem), title=reader.string("title", required=True), body=split.body,
        path=path, body_line=split.body_line, location=SourceLocation(path, 1, 1),
        summary=reader.string("summary"), aliases=reader.string_list("aliases"), sources=_sources(reader),
    )
    if diagnostics:
        raise DiagnosticError(diagnostics)
    return topic


def _image(reader: MappingReader) -> Image | None:
    image = reader.mapping("image")
    if image is None:
        return None
    image.reject_unknown(("caption", "credit", "src", "alt"), "image")
    return Image(image.string("caption"), image.string("credit"), image.string("src"), image.string("alt"))


def _provenance(reader: MappingReader) -> Provenance:
    source = reader.mapping("source")
    if source is None:
        return Provenance()
    source.reject_unknown(("seed", "publisher", "url"), "source")
    return Provenance(source.string("seed"), source.string("publisher"), source.string("url"))


def _annotations(reader: MappingReader) -> tuple[Annotation, ...]:
    annotations: list[Annotation] = []
    seen: dict[str, SourceLocation] = {}
    for item in reader.mapping_list("annotations"):
        item.reject_unknown(ANNOTATION_KEYS, "an annotation")
        quote = item.string("quote", required=True)
        ann_id = item.string("id") or slugify(quote)[:40].strip("-") or "note"
        if item.has("id") and not SLUG_RE.match(ann_id):
            item.fail("id", f"invalid annotation id '{ann_id}'", "use lower-case letters, digits and hyphens")
        if ann_id in seen:
            item.fail("id" if item.has("id") else "quote", f"duplicate annotation id '{ann_id}' (first used on line {seen[ann_id].line})",
                      "give each annotation its own id")
        seen.setdefault(ann_id, item.where())
        annotations.append(Annotation(
            id=ann_id, quote=quote, note=item.string("note", required=True), location=item.where(),
            prefix=item.string("prefix"), suffix=item.string("suffix"), topic=item.string("topic"),
            sources=_sources(item), topic_location=item.where("topic") if item.has("topic") else None,
        ))
    return tuple(annotations)
