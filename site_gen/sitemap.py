"""`sitemap.xml` (sitemaps.org protocol 0.9) and the `robots.txt` that points to it.

The sitemap lists every public page with its absolute URL (the protocol
requires them, so both files exist only with `base_url`) and, where the site
knows it, `lastmod`: an article's `updated` or `date`; for a listing or topic
page, the newest of the articles it shows. Drafts and the 404 page are left out.
"""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET

from site_gen.config import SiteConfig
from site_gen.library import ResolvedSite
from site_gen.model import Article
from site_gen.urls import absolute_url, article_path, listing_page_numbers, listing_page_path, tag_path, topic_path

SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
SITEMAP_PATH = "sitemap.xml"
ROBOTS_PATH = "robots.txt"


def last_change(article: Article) -> dt.date:
    """The day an article last changed: `updated` when given, else `date`."""
    return article.updated or article.date


def sitemap_entries(site: ResolvedSite, articles: tuple[Article, ...]) -> list[tuple[str, dt.date | None]]:
    """(output path, lastmod) of every page a crawler should know, in a stable order."""
    public = {a.slug for a in articles}
    newest = max((last_change(a) for a in articles), default=None)
    per_page = site.config.paginate
    entries: list[tuple[str, dt.date | None]] = [(listing_page_path("index.html", n), newest)
                                                 for n in listing_page_numbers(len(articles), per_page)]
    entries += [(topic_path("index"), newest), (tag_path("index"), newest)]
    entries += [(article_path(a.slug), last_change(a)) for a in articles]
    for topic in site.topics:
        citing = [last_change(c.article) for c in site.citations.get(topic.slug, ()) if c.article.slug in public]
        entries.append((topic_path(topic.slug), max(citing, default=None)))
    for slug, tagged in site.tags.items():
        shown = [last_change(a) for a in tagged if a.slug in public]
        if shown:  # every page of the tag's listing: each lists some of its articles
            entries += [(listing_page_path(tag_path(slug), n), max(shown)) for n in listing_page_numbers(len(shown), per_page)]
    return entries


def render_sitemap(site: ResolvedSite, articles: tuple[Article, ...]) -> bytes:
    """The sitemap of the published articles and every page that lists them."""
    urlset = ET.Element("urlset", {"xmlns": SITEMAP_NS})
    for path, lastmod in sitemap_entries(site, articles):
        url = ET.SubElement(urlset, "url")
        ET.SubElement(url, "loc").text = absolute_url(site.config.base_url, path)
        if lastmod is not None:
            ET.SubElement(url, "lastmod").text = lastmod.isoformat()
    ET.indent(urlset)
    return ET.tostring(urlset, encoding="utf-8", xml_declaration=True) + b"\n"


def render_robots(config: SiteConfig) -> bytes:
    """Allow every crawler, and name the sitemap."""
    lines = ["# Written by site-gen. Crawlers read robots.txt only at the root of a host: if the site",
             "# is published under a sub-path, copy these lines into the host's /robots.txt.",
             "User-agent: *", "Allow: /", "", f"Sitemap: {absolute_url(config.base_url, SITEMAP_PATH)}", ""]
    return "\n".join(lines).encode("utf-8")
