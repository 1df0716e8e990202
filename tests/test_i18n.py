"""Every user-facing string is in every catalog, translated, with its placeholders intact."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from bot.i18n import SUPPORTED_LOCALES, _, format_datetime, ngettext, using_locale

ROOT = Path(__file__).resolve().parent.parent
LOCALES = ROOT / "locales"
PLACEHOLDER = re.compile(r"\{[a-z_]+\}")


def catalog(locale: str):  # type: ignore[no-untyped-def]
    with (LOCALES / locale / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        return read_po(handle, locale=locale)


def source_msgids() -> set[str]:
    """What ``make extract`` would find in the source today (same babel.cfg and keywords)."""
    from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir

    method_map = [
        (line.split(": ", 1)[1].rstrip("]"), "python")
        for line in (ROOT / "babel.cfg").read_text().splitlines()
        if line.startswith("[python: ")
    ]
    keywords = {**DEFAULT_KEYWORDS, "N_": None, "_": None, "ngettext": (1, 2)}
    found = set()
    for _filename, _lineno, message, _comments, _context in extract_from_dir(ROOT, method_map, keywords=keywords):
        found.add(message if isinstance(message, str) else message[0])
    return found


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_catalog_has_every_string_of_the_source(locale: str) -> None:
    ids = {m.id if isinstance(m.id, str) else m.id[0] for m in catalog(locale) if m.id}
    missing = source_msgids() - ids
    assert not missing, f"{locale} misses {len(missing)} string(s); run `make extract` and translate: {missing}"


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_catalog_is_translated_with_placeholders_intact(locale: str) -> None:
    cat = catalog(locale)
    plurals = cat.num_plurals
    for message in cat:
        if not message.id:
            continue
        assert not message.fuzzy, f"{locale}: fuzzy {message.id!r}"
        ids = [message.id] if isinstance(message.id, str) else list(message.id)
        strings = [message.string] if isinstance(message.string, str) else list(message.string)
        if not isinstance(message.id, str):
            assert len(strings) == plurals, f"{locale}: {message.id!r} needs {plurals} plural forms"
        for text in strings:
            assert text, f"{locale}: untranslated {message.id!r}"
            assert set(PLACEHOLDER.findall(text)) == set(PLACEHOLDER.findall(ids[-1])), (locale, message.id, text)


def test_latvian_has_three_plural_forms() -> None:
    with using_locale("lv"):
        forms = {n: ngettext("{count} vote", "{count} votes", n).format(count=n) for n in (0, 1, 2, 21)}
    assert forms[1].split()[1] == forms[21].split()[1]
    assert len({forms[0].split()[1], forms[1].split()[1], forms[2].split()[1]}) == 3


def test_each_locale_really_translates() -> None:
    english = "Send /help to see what you can do."
    seen = set()
    for locale in SUPPORTED_LOCALES:
        with using_locale(locale):
            seen.add(_(english))
    assert len(seen) == len(SUPPORTED_LOCALES)


def test_dates_follow_locale_and_zone() -> None:
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    moment = datetime(2026, 12, 1, 17, 0, tzinfo=UTC)
    with using_locale("it"):
        assert format_datetime(moment, ZoneInfo("Europe/Rome"), "short") == "01/12/26, 18:00"
    with using_locale("lv"):
        assert format_datetime(moment, ZoneInfo("Europe/Riga"), "short") == "01.12.26 19:00"
