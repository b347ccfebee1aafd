"""The site configuration (`site.yaml`) as a typed, documented schema.

Like MkDocs' config defaults: each field has a docstring-like description, all
errors are reported at once, unknown keys are rejected with a "did you mean".
No executable config and no module globals: a `SiteConfig` is passed down.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from site_gen.dates import is_known_language, timezone_problem
from site_gen.diagnostics import Diagnostic, DiagnosticError, SourceLocation, display_path, error
from site_gen.folders import resolved
from site_gen.schema import MappingReader, printable
from site_gen.textfile import decode_text
from site_gen.yamlfile import load_yaml


@dataclass(frozen=True)
class SiteConfig:
    """Settings for one site; every field has a default except where noted."""

    root: Path
    """Project folder: the folder holding site.yaml. Paths below are relative to it."""
    config_path: str = "site.yaml"
    """The config file as shown in messages."""
    title: str = "Annotated articles"
    """Site name, shown in the header and in page titles."""
    description: str = ""
    """One sentence about the site, shown on the index and in meta description."""
    language: str = "en"
    """BCP 47 language tag for `<html lang>`; it also picks the date format (CLDR data via Babel)."""
    timezone: str = "UTC"
    """IANA time zone of the site (e.g. Europe/Berlin): article dates are days in this zone, and
    feeds, sitemaps and meta tags give their moments with this zone's offset."""
    author: str = ""
    """Default author name (used by feeds)."""
    base_url: str = ""
    """Absolute URL the site is published at (optional); pages link relatively either way."""
    theme: str = "default"
    """A theme folder name under `themes/`, or a path to a theme folder."""
    content_dir: str = "content"
    """Where articles/ and topics/ live."""
    output_dir: str = "output"
    """Where `site-gen build` writes the site."""
    output_dir_at: SourceLocation | None = field(default=None, compare=False, repr=False)
    """Where site.yaml sets `output_dir` (an output folder refused is reported there); not part of the site."""
    allow_html: bool = False
    """Let raw HTML in Markdown through (only for trusted authors)."""
    paginate: int = 50
    """Articles per page on the index and on tag pages; 0 lists them all on one page."""

    @property
    def content_path(self) -> Path:
        return self.root / self.content_dir

    @property
    def output_path(self) -> Path:
        return self.root / self.output_dir

    def theme_paths(self) -> list[Path]:
        """Template search path: the chosen theme first, then the bundled default theme."""
        chosen = Path(self.theme) if "/" in self.theme else self.root / "themes" / self.theme
        bundled = bundled_theme_path()
        if self.theme == "default" and not chosen.is_dir():
            chosen = bundled  # a site without its own themes/ folder uses the bundled theme
        paths = [chosen if chosen.is_absolute() else self.root / chosen]
        if resolved(paths[0]) != bundled.resolve():
            paths.append(bundled)
        return paths


THEME_PARTS = ("templates", "static")
"""The folders of a theme a build reads: its other files (a README, an example site) are not inputs."""

_STRING_FIELDS = ("title", "description", "language", "timezone", "author", "base_url", "theme", "content_dir",
                  "output_dir")


def _check_locale_settings(reader: MappingReader, settings: dict) -> None:
    """`timezone` must name an IANA zone and `language` a locale with date formats."""
    problem = timezone_problem(settings["timezone"])
    if problem:
        reader.fail("timezone", problem, "use an IANA name such as UTC, Europe/Berlin or Asia/Tehran")
    if not is_known_language(settings["language"]):
        reader.fail("language", f"unknown language '{settings['language']}'",
                    "use a BCP 47 language tag such as en, de, fr or pt-BR")


def _check_project_folders(reader: MappingReader, settings: dict) -> None:
    """`theme` and `content_dir` name folders inside the project: `/etc` or `../..` are refused (#8).

    The check is on the written path (symlinks the owner made inside the project are honoured).
    """
    for key, hint in (("theme", "use a folder name under themes/, e.g. theme: mine"),
                      ("content_dir", "keep the content inside the project, e.g. content_dir: content")):
        value = settings[key]
        written = value if key != "theme" or "/" in value else f"themes/{value}"
        normal = posixpath.normpath(written) if value.isprintable() else ""
        if not normal or normal == ".." or normal.startswith(("/", "../")) or (key == "theme" and normal == "."):
            reader.fail(key, f"'{key}' must be a folder inside the project, not '{printable(value)}'", hint)


def base_url_problem(url: str) -> str | None:
    """What is wrong with a site's published address (site.yaml's base_url, `--base-url`), if anything.

    Feeds, sitemaps and canonical links append page paths to it: "http://" gave `http:/feed.xml`,
    a query or fragment ended up in the middle of every address."""
    try:
        parts = urlsplit(url)
        parts.port  # pylint: disable=pointless-statement  # a port that is not a number raises here
    except ValueError:
        return "must be an absolute http(s) URL"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "must be an absolute http(s) URL"
    if any(c.isspace() for c in url):  # urlsplit drops leading spaces; every address then held them
        return "must not hold spaces (write a space in a path as %20)"
    if parts.query or parts.fragment or url.rstrip().endswith(("?", "#")):
        return "must not have a ?query or #fragment (page paths are added after it)"
    return None


def bundled_theme_path() -> Path:
    """The default theme shipped with site-gen (`themes/default` in the project)."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "themes" / "default", here.parent / "themes" / "default"):
        if candidate.is_dir():
            return candidate
    return here.parent / "themes" / "default"


def require_config_file(config_file: Path) -> str:
    """`config_file` as shown in messages; a located error when it is missing or a folder."""
    shown = display_path(config_file, Path.cwd())
    if not config_file.is_file():
        missing = (f"{shown} is a folder, not a config file" if config_file.is_dir()
                   else f"{shown} is not a regular file (a device or pipe)" if config_file.exists()
                   else f"config file not found: {shown}")
        raise DiagnosticError([error(SourceLocation(shown), missing,
                                     "run site-gen in the project folder, or pass --config PATH/site.yaml")])
    return shown


def load_config(config_file: Path) -> SiteConfig:
    """Read and check `site.yaml`; raise DiagnosticError listing every problem."""
    root = config_file.resolve().parent
    shown = require_config_file(config_file)
    text = decode_text(config_file.read_bytes(), shown, "site.yaml is a text file of key: value lines")
    doc = load_yaml(text, shown)
    value = doc.value if doc.value is not None else {}
    if not isinstance(value, dict):
        raise DiagnosticError([error(doc.where(), "site.yaml must be a mapping of settings (key: value lines)",
                                     "write one 'key: value' per line, e.g. title: My notes")])
    diagnostics: list[Diagnostic] = []
    reader = MappingReader(doc, (), value, diagnostics)
    allowed = [f.name for f in fields(SiteConfig) if f.name not in ("root", "config_path", "output_dir_at")]
    reader.reject_unknown(allowed, "site.yaml")
    defaults = SiteConfig(root=root)
    settings: dict[str, Any] = {name: reader.string(name, getattr(defaults, name)) for name in _STRING_FIELDS}
    settings["allow_html"] = reader.boolean("allow_html", defaults.allow_html)
    settings["paginate"] = reader.integer("paginate", defaults.paginate, minimum=0)
    problem = base_url_problem(settings["base_url"]) if settings["base_url"] else None
    if problem:
        reader.fail("base_url", f"base_url {problem}", "e.g. base_url: https://example.org/notes/")
    _check_locale_settings(reader, settings)
    _check_project_folders(reader, settings)
    if diagnostics:
        raise DiagnosticError(diagnostics)
    config = SiteConfig(root=root, config_path=shown, output_dir_at=reader.given_at("output_dir"), **settings)
    if not config.theme_paths()[0].is_dir():
        raise DiagnosticError([error(doc.where("theme"), f"theme '{config.theme}' not found",
                                     f"expected a folder {display_path(config.theme_paths()[0], root)}")])
    return config
