"""The Markdown dialect: CommonMark + tables + strikethrough + heading ids + `[[wiki links]]`.

One parser factory, so every page kind (article bodies, topic bodies, notes)
is read by the same rules. Wiki links become `wikilink` tokens whose target is
resolved at render time through `env["link_url"]`, never by rewriting HTML.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.renderer import RendererHTML
from markdown_it.rules_core import StateCore
from markdown_it.rules_inline import StateInline
from markdown_it.token import Token
from markdown_it.common.utils import escapeHtml
from markdown_it.utils import EnvType, OptionsDict
from mdit_py_plugins.anchors import anchors_plugin
from mdit_py_plugins.anchors.index import unique_slug

from site_gen.frontmatter import readable_slug

WIKILINK_RE = re.compile(r"\[\[([^\[\]|\n]+?)(?:\|([^\[\]\n]+?))?\]\]")
LinkUrl = Callable[[Token], "str | None"]
"""Given a resolved link token (`meta["page"]`, `meta["fragment"]`), its URL from the current page."""


def make_parser(allow_html: bool = False) -> MarkdownIt:
    """A fresh parser for page bodies: raw HTML off unless the site allows it (#8)."""
    md = MarkdownIt("commonmark", {"html": allow_html, "typographer": False})
    md.enable(["table", "strikethrough"])
    md.use(anchors_plugin, min_level=2, max_level=4, slug_func=heading_id)
    md.core.ruler.after("anchor", "heading_ids_apart", _heading_ids_apart)
    md.use(wikilink_plugin)
    md.core.ruler.after("block", "table_alignment_classes", _table_alignment_classes)
    md.validateLink = _safe_link  # type: ignore[method-assign]
    return md


_ALIGN_STYLE = re.compile(r"text-align:(left|center|right)")


def _table_alignment_classes(state: StateCore) -> None:
    """A table column's alignment (`|--:|`) as a class (`align-right`), not markdown-it's
    `style="text-align:right"`: the theme's content security policy refuses inline styles, and
    the columns lost their alignment."""
    if "|" not in state.src:  # no table (most pages and notes): no pass over the tokens
        return
    for token in state.tokens:
        if token.type in ("th_open", "td_open") and token.attrs.get("style"):
            found = _ALIGN_STYLE.fullmatch(str(token.attrs.pop("style")))
            if found:
                token.attrSet("class", f"align-{found.group(1)}")


def heading_id(title: str) -> str:
    """A heading's id: its words as a slug, or "section" for a title with none ("???"), so no
    heading gets `id=""` (the anchors plugin numbers repeats: section, section-1, ...)."""
    return readable_slug(title) or "section"


THEME_IDS = frozenset({"main", "article-title", "backlinks-title", "index-title", "related-title", "sources-title",
                       "tag-title", "tags-title", "topic-previews", "topic-title", "topics-title", "site-search-input",
                       "site-search-results", "site-search-status"})
"""Ids the default theme gives elements of its pages (docs/themes.md): no heading takes one."""
NOTE_ID_PREFIXES = ("ann-", "note-", "toggle-")
"""An annotation ID gives its page the ids ann-ID (the phrase), note-ID and toggle-ID (the note)."""


def _heading_ids_apart(state: StateCore) -> None:
    """Renumber a heading whose id another element of the page has: "## Main" took the skip
    link's `main`, "## Ann Foo" the phrase of annotation `foo` (`ann-foo`), so links led elsewhere."""
    headings = [t for t in state.tokens if t.type == "heading_open" and t.attrGet("id")]
    if not headings:  # most notes, and every page without subheadings
        return
    annotations = state.env.get("annotations") if isinstance(state.env, dict) else None
    reserved = THEME_IDS | {prefix + a.id for a in annotations or () for prefix in NOTE_ID_PREFIXES}
    taken = set(reserved) | {str(t.attrGet("id")) for t in headings}
    for token in headings:
        if token.attrGet("id") in reserved:
            token.attrSet("id", unique_slug(str(token.attrGet("id")), taken))


def _safe_link(url: str) -> bool:
    """Refuse javascript:, vbscript:, file: and data: URLs in Markdown links and images."""
    lowered = re.sub(r"[\x00-\x20]", "", url).lower()
    return not lowered.startswith(("javascript:", "vbscript:", "file:", "data:"))


def wikilink_plugin(md: MarkdownIt) -> None:
    """Add the `[[slug]]` / `[[slug|label]]` inline syntax as `wikilink` tokens."""
    md.inline.ruler.before("link", "wikilink", _wikilink_rule)
    md.add_render_rule("wikilink", _render_wikilink)


def _wikilink_rule(state: StateInline, silent: bool) -> bool:
    if not state.src.startswith("[[", state.pos):
        return False
    match = WIKILINK_RE.match(state.src, state.pos)
    if not match:
        return False
    if not silent:
        token = state.push("wikilink", "a", 0)
        target = match.group(1).strip()
        label = (match.group(2) or "").strip()
        token.meta = {"target": target, "label": label}
        token.content = label or target
    state.pos = match.end()
    return True


def _render_wikilink(self: RendererHTML, tokens: list[Token], idx: int, options: OptionsDict, env: EnvType) -> str:
    token = tokens[idx]
    link_url: LinkUrl | None = env.get("link_url")
    url = link_url(token) if link_url else None
    label = escapeHtml(wikilink_text(token))
    if url is None:
        return f'<span class="broken-link">{label}</span>'
    return f'<a class="wikilink" href="{escapeHtml(url)}">{label}</a>'


def wikilink_text(token: Token) -> str:
    """What a wiki link shows: its label, else the title of the page it links to (known once the
    site is resolved), else its target as written."""
    return token.meta.get("label") or token.meta.get("title") or token.meta.get("target", token.content)


def split_target(target: str) -> tuple[str, str]:
    """`slug#frag` -> ("slug", "frag")."""
    slug, _, fragment = target.partition("#")
    return slug.strip(), fragment.strip()


def inline_text(children: list[Token] | None) -> str:
    """The text a reader sees in an inline token's children (for titles, summaries)."""
    parts: list[str] = []
    for child in children or []:
        if child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type == "wikilink":
            parts.append(wikilink_text(child))
        elif child.type in ("softbreak", "hardbreak"):
            parts.append(" ")
    return "".join(parts)


def walk(tokens: list[Token]) -> Any:
    """Every token, block and inline, in document order."""
    for token in tokens:
        yield token
        if token.children:
            yield from token.children
