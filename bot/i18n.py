"""Translations and locale-aware formatting, per update.

The current locale lives in a ContextVar set by the dispatcher for each update (never a process-wide
``gettext.install``), so two users in two languages can be served at once. Catalogs are compiled ``.mo``
files in ``locales/``; a missing one is an error, not a silent fallback to English.
"""

from __future__ import annotations

import functools
import gettext
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, datetime, tzinfo
from functools import cache
from pathlib import Path

from babel import Locale
from babel.dates import format_date, format_skeleton, get_day_names
from babel.dates import format_datetime as _babel_datetime
from babel.lists import format_list as _babel_list
from babel.numbers import format_decimal, format_percent

SUPPORTED_LOCALES: tuple[str, ...] = ("en", "it", "es", "lv")
LANGUAGE_NAMES: dict[str, str] = {"en": "English", "it": "Italiano", "es": "Español", "lv": "Latviešu"}
DOMAIN = "messages"
LOCALE_DIR = Path(__file__).resolve().parent.parent / "locales"

_current: ContextVar[str] = ContextVar("interlink_locale", default="en")
_extra_dirs: list[Path] = []


class MissingCatalogError(RuntimeError):
    """A supported locale has no compiled catalog: run ``make locales``."""


def add_catalog_dir(path: Path) -> None:
    """Let an Interlinker shipped as its own package add its catalogs (same domain, looked up first)."""
    if path not in _extra_dirs:
        _extra_dirs.insert(0, path)
        translations.cache_clear()


@cache
def translations(locale: str) -> gettext.NullTranslations:
    if locale == "en":
        base: gettext.NullTranslations = gettext.NullTranslations()
        try:
            base = gettext.translation(DOMAIN, LOCALE_DIR, languages=["en"])
        except FileNotFoundError:
            pass
    else:
        try:
            base = gettext.translation(DOMAIN, LOCALE_DIR, languages=[locale])
        except FileNotFoundError:
            raise MissingCatalogError(
                f"no compiled catalog for {locale!r} in {LOCALE_DIR}: run `make locales`"
            ) from None
    for directory in _extra_dirs:
        try:
            extra = gettext.translation(DOMAIN, directory, languages=[locale])
        except FileNotFoundError:
            continue
        extra.add_fallback(base)
        base = extra
    return base


def check_catalogs() -> None:
    """Fail at start, loudly, when a catalog is missing."""
    for locale in SUPPORTED_LOCALES:
        translations(locale)


def current_locale() -> str:
    return _current.get()


def set_locale(locale: str) -> None:
    _current.set(locale if locale in SUPPORTED_LOCALES else "en")


@contextmanager
def using_locale(locale: str) -> Iterator[None]:
    """Speak ``locale`` inside the block (for jobs and messages to other chats)."""
    token = _current.set(locale if locale in SUPPORTED_LOCALES else "en")
    try:
        yield
    finally:
        _current.reset(token)


def _(message: str) -> str:
    """Translate ``message`` into the current locale."""
    return translations(_current.get()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(_current.get()).ngettext(singular, plural, n)


def N_(message: str) -> str:
    """Mark a string for extraction without translating it now (translated later with ``_``)."""
    return message


def match_locale(language_code: str | None) -> str | None:
    """Map a client's language code (``it-IT``, ``es_419``, ``LV``) to a supported locale, if any."""
    if not language_code:
        return None
    code = language_code.replace("_", "-").split("-")[0].lower()
    return code if code in SUPPORTED_LOCALES else None


def format_datetime(value: datetime, tz: tzinfo, fmt: str = "medium") -> str:
    """A date and time in the current locale and the initiative's zone."""
    return _babel_datetime(value, format=fmt, tzinfo=tz, locale=_current.get())


# Our English is British: "Sat 6 Mar", a 24-hour clock.
_DATE_LOCALES = {"en": "en_GB"}


def format_moment(value: datetime, tz: tzinfo, *, year: bool = False) -> str:
    """A day and its time as the reader's language writes them, in CLDR's own order and punctuation:
    "Sat 6 Mar, 10:00", "sab 6 mar, 10:00", "sáb, 6 mar, 10:00", "sestd., 6. marts 10:00"."""
    locale = Locale.parse(_DATE_LOCALES.get(_current.get(), _current.get()))
    local = value.astimezone(tz)
    day = format_skeleton("yMMMEd" if year else "MMMEd", local, locale=locale)
    clock = format_skeleton("Hm", local, locale=locale)
    return str(locale.datetime_formats["medium"]).replace("{1}", day).replace("{0}", clock)


def format_long_date(value: date) -> str:
    """A date written out ("31 March 2027", "31 marzo 2027", "2027. gada 31. marts")."""
    return format_date(value, format="long", locale=Locale.parse(_DATE_LOCALES.get(_current.get(), _current.get())))


def format_short_date(value: date) -> str:
    """A day and month, short, for a chart's axis ("6 Mar", "6 mar", "6. marts")."""
    return str(format_skeleton("MMMd", value, locale=Locale.parse(_DATE_LOCALES.get(_current.get(),
                                                                                   _current.get()))))


def weekday_name(weekday: int) -> str:
    """A day of the week by its number (0 = Monday), written out in the current language."""
    return str(get_day_names("wide", locale=_current.get())[weekday])


def format_clock(value: datetime, tz: tzinfo) -> str:
    """The time of day alone ("10:00"), as ``format_moment`` writes it."""
    locale = Locale.parse(_DATE_LOCALES.get(_current.get(), _current.get()))
    return format_skeleton("Hm", value.astimezone(tz), locale=locale)


def format_number(value: float) -> str:
    return format_decimal(value, locale=_current.get())


def format_percentage(value: float) -> str:
    """A share as a whole percentage ("42%", "42 %"), in the current language; shown for every option of
    every live tally, so each (language, whole percent) is formatted by Babel once."""
    return _whole_percent(_current.get(), round(value * 100))


@functools.lru_cache(maxsize=4096)
def _whole_percent(locale: str, percent: int) -> str:
    return format_percent(percent / 100, locale=locale)


def quoted(text: str) -> str:
    """``text`` in the current language's quotation marks (“…”, «…», „…”)."""
    return _("“{text}”").format(text=text)


def format_list(items: Sequence[str]) -> str:
    """"A, B and C" in the current language (Babel's list patterns)."""
    return _babel_list(list(items), locale=_current.get())


def language_name(locale: str) -> str:
    return Locale.parse(locale).get_display_name(locale) or LANGUAGE_NAMES.get(locale, locale)
