"""Dates and times as readers and machines see them: localized text, zoned timestamps.

An article's `date` (and `updated`) is a calendar day in the site's time zone
(`timezone` in site.yaml). Pages show it in the site's language with CLDR's
formats (Babel: "July 19, 2022", "19. Juli 2022", "19 juillet 2022"), and
feeds, sitemaps and meta tags need a moment: the start of that day in the
site's zone, written with the zone's UTC offset on that day (RFC 3339).
This module sits beside `config` at the bottom of the layers: stdlib and Babel only.
"""

from __future__ import annotations

import datetime as dt
import functools
import zoneinfo

from babel import Locale, UnknownLocaleError
from babel.core import get_global
from babel.dates import format_date


def timezone_problem(name: str) -> str:
    """Why `name` is not a usable IANA time zone, or "" when it is one."""
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return f"unknown time zone '{name}'"
    return ""


@functools.lru_cache(maxsize=64)
def _locale(language: str) -> Locale | None:
    """Babel's locale for a BCP 47 tag (`pt-BR` -> pt_BR), falling back to the primary subtag."""
    for tag in (language, language.split("-")[0]):
        try:
            return Locale.parse(tag.replace("-", "_"))
        except (UnknownLocaleError, ValueError, TypeError):
            continue
    return None


def is_known_language(language: str) -> bool:
    """True when Babel has date formats for the language tag."""
    return bool(language.strip()) and _locale(language.strip()) is not None


@functools.lru_cache(maxsize=64)
def text_direction(language: str) -> str:
    """"rtl" for a language written right to left (Arabic, Persian, Hebrew, Urdu...), else "ltr", as
    Babel's locale data says (the value of HTML's `dir`)."""
    locale = _locale(language.strip())
    return "rtl" if locale is not None and locale.character_order == "right-to-left" else "ltr"


@functools.lru_cache(maxsize=64)
def open_graph_locale(language: str) -> str:
    """`og:locale` for a language tag: Open Graph wants language_TERRITORY ("en" -> "en_US",
    "fa" -> "fa_IR", "pt-BR" -> "pt_BR"); a language without a territory takes its most likely
    one from Babel's data."""
    locale = _locale(language.strip())
    if locale is None:
        return language.replace("-", "_")
    if not locale.territory:
        likely = get_global("likely_subtags").get(locale.language)
        locale = Locale.parse(likely) if likely else locale
    return f"{locale.language}_{locale.territory}" if locale.territory else locale.language


@functools.lru_cache(maxsize=4096)
def long_date(day: dt.date, language: str) -> str:
    """A date as a reader of `language` writes it in running text ("July 19, 2022").

    Memoized: listings show the same dates on many pages, and Babel's formatting is slow.
    """
    locale = _locale(language) or Locale("en")
    return format_date(day, format="long", locale=locale)


def start_of_day(day: dt.date, timezone: str) -> dt.datetime:
    """The moment a calendar day starts in the site's time zone (aware datetime)."""
    return dt.datetime.combine(day, dt.time(0, 0), tzinfo=zoneinfo.ZoneInfo(timezone))


@functools.lru_cache(maxsize=4096)
def rfc3339(day: dt.date, timezone: str) -> str:
    """`2022-07-19T00:00:00+04:30`: the start of a day in the site's zone, as Atom and Open Graph want it."""
    return start_of_day(day, timezone).isoformat()
