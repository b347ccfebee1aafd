"""Front matter: split a page file into YAML header and Markdown body, then read
the header into an `Article` or `Topic` with every problem located.

The header is the block between a first line `---` and the next line `---`.
YAML errors are reported at file lines (header line + offset), never swallowed.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass
from urllib.parse import urlsplit

from anyascii import anyascii

from site_gen.diagnostics import Diagnostic, DiagnosticError, SourceLocation, error
from site_gen.model import Annotation, Article, Image, Provenance, SourceRef, Topic
from site_gen.schema import MappingReader, printable
from site_gen.yamlfile import LocatedYaml, load_yaml

FENCE = "---"
ARTICLE_KEYS = ("title", "date", "slug", "summary", "tags", "section", "image", "source", "draft", "annotations",
                "updated")
TOPIC_KEYS = ("title", "slug", "aliases", "summary", "sources", "as_of")
ANNOTATION_KEYS = ("id", "quote", "prefix", "suffix", "note", "topic", "sources", "as_of")
SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
RESERVED_SLUGS = ("index",)
"""topics/index.html and tags/index.html are the index pages; a topic or tag of that slug would overwrite them."""
MAX_NAME_LENGTH = 200
"""Bytes a slug or a tag's page name may take: file names hold 255, and an article's outputs add up
to 20 to its slug (`.annotations.jsonld`); a longer one failed at the write, "File name too long",
with no place in the sources."""
WEB_SCHEMES = ("http", "https")
"""The only schemes a source URL may have: no javascript:, data: or file: link reaches a page (#8)."""


@dataclass(frozen=True)
class SplitPage:
    """A page file cut in two: the YAML text and the body, with the body's first file line."""

    header: str
    body: str
    body_line: int


def split_front_matter(text: str, path: str) -> SplitPage:
    """Cut `text` at its `---` fences; raise DiagnosticError if the header is malformed."""
    lines = text.split("\n")
    if not text.strip():
        raise DiagnosticError([error(SourceLocation(path, 1, 1), "the file is empty",
                                     "write ---, title: (and date: for an article), then --- and the text; or delete the file")])
    if lines[0].rstrip() != FENCE:
        raise DiagnosticError([error(SourceLocation(path, 1, 1), "missing front matter: the file must start with a line '---'",
                                     "start the file with ---, then title: and date:, then --- and the text")])
    for index in range(1, len(lines)):
        if lines[index].rstrip() == FENCE:
            return SplitPage("\n".join(lines[1:index]), "\n".join(lines[index + 1:]), index + 2)
    raise DiagnosticError([error(SourceLocation(path, 1, 1), "front matter is never closed",
                                 "did you forget the closing '---' line after the front matter?")])


@functools.lru_cache(maxsize=1 << 16)
def slugify(text: str) -> str:
    """A URL-safe slug: ASCII lower case words joined by hyphens (Erdoğan -> erdogan, Đoković ->
    dokovic, Straße -> strasse).

    Accents go with Unicode's decomposition; Latin letters that have none (ß, ł, ø, đ, æ, þ) are
    spelled by anyascii's transliteration tables, which were dropped before ("Łódź" was "odz").
    Letters of other scripts are still dropped here: `readable_slug` keeps them as written.
    Remembered: every build slugs every tag of every article again (issue 4).
    """
    if not text.isascii():
        text = "".join(anyascii(ch) if _is_latin_letter(ch) else ch for ch in unicodedata.normalize("NFKD", text))
    ascii_text = text.encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


def _is_latin_letter(char: str) -> bool:
    """A non-ASCII letter of the Latin script that anyascii spells with ASCII letters or digits (ʔ
    and ꜥ, spelled "'" and "`", are not: `readable_slug` keeps those as written)."""
    return (not char.isascii() and char.isalpha() and unicodedata.name(char, "").startswith("LATIN ")
            and any(c.isalnum() for c in anyascii(char)))


@functools.lru_cache(maxsize=1 << 16)
def readable_slug(text: str) -> str:
    """`slugify`, unless that would drop letters no ASCII spelling exists for (日本, Россия, Ωμέγα):
    then the words as written, lower case, joined by hyphens. For tag pages and heading ids, which
    need no ASCII: every non-Latin tag shared one page "tags/tag.html", a heading got `id=""`."""
    if text.isascii() or not any(_unspellable(ch) for ch in text):
        return slugify(text)
    return re.sub(r"[\W_]+", "-", unicodedata.normalize("NFKC", text).casefold()).strip("-")


def _unspellable(char: str) -> bool:
    """A letter that `slugify` would drop (not Latin, and its decomposition holds no ASCII letter)."""
    return (char.isalpha() and not char.isascii() and not _is_latin_letter(char)
            and not unicodedata.normalize("NFKD", char).encode("ascii", "ignore"))


def _header(split: SplitPage, path: str) -> tuple[LocatedYaml, dict]:
    doc = load_yaml(split.header, path, line_offset=1)
    if doc.value is None:
        doc.value = {}
    if not isinstance(doc.value, dict):
        raise DiagnosticError([error(doc.where(), "front matter must be a mapping of keys (title: ..., date: ...)",
                                     "write one 'key: value' per line, e.g. title: Summit in Tehran")])
    return doc, doc.value


def file_slug(file_stem: str) -> str:
    """The slug of a page that sets no `slug:`, from its file name."""
    return slugify(file_stem)


def _slug(reader: MappingReader, file_stem: str) -> str:
    slug = reader.string("slug") or file_slug(file_stem)
    if not slug and not reader.has("slug"):  # "invalid slug ''" did not say the file's name was the cause
        reader.fail(None, f"no address can be made of the file name '{printable(file_stem)}': it has no Latin letters or digits",
                    "rename the file, or give the page an address with slug: my-page")
    elif not SLUG_RE.match(slug):
        reader.fail("slug" if reader.has("slug") else None, f"invalid slug '{printable(slug)}'",
                    "use lower-case letters, digits and single hyphens, e.g. slug: " + (slugify(slug) or "my-page"))
    elif too_long := slug_length_problem(slug):
        reader.fail("slug" if reader.has("slug") else None, too_long, "give a shorter slug: or file name")
    return slug


def slug_length_problem(slug: str) -> str:
    """Why `slug` is too long to name a page's files, or "" when it is not."""
    if fits_a_file_name(slug):
        return ""
    return f"the slug is {len(slug)} characters long, too long to name the page's files (at most {MAX_NAME_LENGTH})"


def fits_a_file_name(name: str) -> bool:
    """Whether `name` (a slug, a tag's page name) leaves room in a file name for its outputs' endings."""
    return len(name.encode()) <= MAX_NAME_LENGTH


def reserved_topic_slug_problem(slug: str) -> str:
    """Why a topic may not have `slug`, or "" when it may."""
    return f"the topic slug '{slug}' is reserved for the topic index" if slug in RESERVED_SLUGS else ""


def _topic_slug(reader: MappingReader, file_stem: str) -> str:
    slug = _slug(reader, file_stem)
    if reserved := reserved_topic_slug_problem(slug):
        reader.fail("slug" if reader.has("slug") else None, reserved,
                    "rename the file or set another slug:, e.g. slug: " + slug + "-topic")
    return slug


def _tags(reader: MappingReader) -> tuple[str, ...]:
    """The tags; one whose page would be tags/index.html (the list of all tags) is an error."""
    tags = reader.string_list("tags")
    written = reader.value.get("tags")
    for index, tag in enumerate(written if isinstance(written, list) else []):
        if isinstance(tag, str) and slugify(tag) in RESERVED_SLUGS:
            reader.fail_at(("tags", index), f"the tag '{printable(tag)}' would overwrite the list of all tags (tags/index.html)",
                           "use another word for this tag")
        elif isinstance(tag, str) and not fits_a_file_name(readable_slug(tag)):
            reader.fail_at(("tags", index), f"the tag is too long to name its page (at most {MAX_NAME_LENGTH} bytes)",
                           "use a shorter tag")
    return tags


def _web_url(reader: MappingReader, key: str, required: bool = False) -> str:
    """An absolute http(s) URL, or "" with a located error for anything else (javascript:, data:, relative)."""
    url = reader.string(key, required=required)
    if url and not is_web_url(url):
        reader.fail(key, f"'{key}' must be a web address (http:// or https://), not '{printable(url)}'",
                    f"write the full address, e.g. {key}: https://example.org/report (spaces as %20)")
        return ""
    return url


def is_web_url(url: str) -> bool:
    """True for an absolute http(s) URL with a host and no spaces or control characters."""
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. an unclosed IPv6 bracket
        return False
    return parts.scheme.lower() in WEB_SCHEMES and bool(parts.netloc) and url.isprintable() and " " not in url


def _sources(reader: MappingReader) -> tuple[SourceRef, ...]:
    refs = []
    for item in reader.mapping_list("sources"):
        item.reject_unknown(("title", "url"), "a source")
        refs.append(SourceRef(item.string("title", required=True), _web_url(item, "url", required=True), item.where()))
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
        slug_location=reader.given_at("slug"), summary_location=reader.given_at("summary"),
        date=reader.date("date", required=True) or Article.date, summary=reader.string("summary"),
        tags=_tags(reader), tags_location=reader.given_at("tags"), section=reader.string("section"), image=_image(reader),
        provenance=_provenance(reader), draft=reader.boolean("draft"), annotations=_annotations(reader),
        updated=reader.date("updated"),
    )
    _check_revision(reader, article)
    if diagnostics:
        raise DiagnosticError(diagnostics)
    return article


def _check_revision(reader: MappingReader, article: Article) -> None:
    """`updated:` is optional, but a revision cannot come before the first publication."""
    if article.updated and reader.has("date") and article.updated < article.date:
        reader.fail("updated", f"'updated' ({article.updated.isoformat()}) is before 'date' ({article.date.isoformat()})",
                    "updated: is the day of the last revision, on or after date:")


def parse_topic(text: str, path: str, file_stem: str) -> Topic:
    """Read a topic file; raise DiagnosticError with every problem in its header."""
    split = split_front_matter(text, path)
    doc, value = _header(split, path)
    diagnostics: list[Diagnostic] = []
    reader = MappingReader(doc, (), value, diagnostics)
    reader.reject_unknown(TOPIC_KEYS, "topic front matter")
    topic = Topic(
        slug=_topic_slug(reader, file_stem), title=reader.string("title", required=True), body=split.body,
        path=path, body_line=split.body_line, location=SourceLocation(path, 1, 1),
        slug_location=reader.given_at("slug"), summary_location=reader.given_at("summary"),
        summary=reader.string("summary"), aliases=reader.string_list("aliases"), sources=_sources(reader),
        as_of=reader.date("as_of"), as_of_location=reader.given_at("as_of"), aliases_location=reader.given_at("aliases"),
    )
    if diagnostics:
        raise DiagnosticError(diagnostics)
    return topic


def _image(reader: MappingReader) -> Image | None:
    image = reader.mapping("image")
    if image is None:
        return None
    image.reject_unknown(("caption", "credit", "src", "alt"), "image")
    src = image.string("src")
    if ":" in src.split("/", 1)[0] or src.strip().startswith(("/", "\\")):  # a scheme (data:, http:) or absolute
        image.fail("src", f"image 'src' must be a file path relative to this page, not '{printable(src)}'",
                   "put the image in content/ and give its path from this file, e.g. src: ../media/port.jpg")
        src = ""
    return Image(image.string("caption"), image.string("credit"), src, image.string("alt"),
                 image.given_at("src"))


def _provenance(reader: MappingReader) -> Provenance:
    source = reader.mapping("source")
    if source is None:
        return Provenance()
    source.reject_unknown(("seed", "publisher", "url"), "source")
    return Provenance(source.string("seed"), source.string("publisher"), _web_url(source, "url"))


def derived_annotation_id(quote: str) -> str:
    """The id of an annotation that gives none: its quote as a slug, or, for a quote with no
    letters of Latin script ("طهران"), its words as written; "note" for a quote of neither."""
    return slugify(quote)[:40].strip("-") or readable_slug(quote)[:40].strip("-") or "note"


def _annotations(reader: MappingReader) -> tuple[Annotation, ...]:
    annotations: list[Annotation] = []
    seen: dict[str, SourceLocation] = {}
    for item in reader.mapping_list("annotations"):
        item.reject_unknown(ANNOTATION_KEYS, "an annotation")
        quote = item.string("quote", required=True)
        ann_id = item.string("id") or derived_annotation_id(quote)
        if item.has("id") and readable_slug(ann_id) != ann_id:  # a slug, or words in any script as a derived id has them
            item.fail("id", f"invalid annotation id '{ann_id}'", "use lower-case letters, digits and hyphens")
        if ann_id in seen:
            item.fail("id" if item.has("id") else "quote", f"duplicate annotation id '{ann_id}' (first used on line {seen[ann_id].line})",
                      "give each annotation its own id")
        seen.setdefault(ann_id, item.where())
        annotations.append(Annotation(
            id=ann_id, quote=quote, note=item.string("note", required=True), location=item.where(),
            prefix=item.string("prefix"), suffix=item.string("suffix"), topic=item.string("topic"),
            sources=_sources(item), topic_location=item.given_at("topic"),
            as_of=item.date("as_of"), note_location=item.given_at("note"), note_lines_kept=item.lines_kept("note"),
        ))
    return tuple(annotations)
