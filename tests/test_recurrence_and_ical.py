"""Recurring events typed in our four languages, expanded in local time across DST changes, and the .ics
invites and feeds read back field by field (and expanded by another library when it is installed)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar

from bot.errors import UserError
from bot.i18n import using_locale
from bot.ical import PRODID, IcsEvent, feed, invite
from bot.recurrence import Rule, decode, describe, encode, occurrences, parse_when, to_rrule

ROME = ZoneInfo("Europe/Rome")
RIGA = ZoneInfo("Europe/Riga")
NOW = datetime(2026, 11, 24, 12, 0, tzinfo=ROME)  # a Tuesday
MARCH_END = date(2027, 3, 31)


def at(*args: int, tz: ZoneInfo = ROME) -> datetime:
    return datetime(*args, tzinfo=tz)  # type: ignore[misc]


SATURDAY_10 = (at(2026, 11, 28, 10), Rule("weekly", weekday=5))
PHRASES = [
    # English
    ("en", "every Saturday 10:00", *SATURDAY_10),
    ("en", "Every saturday at 10", *SATURDAY_10),
    ("en", "every Saturday 10am", *SATURDAY_10),
    ("en", "every day 9:00", at(2026, 11, 25, 9), Rule("daily")),
    ("en", "every week 10:00", at(2026, 12, 1, 10), Rule("weekly", weekday=1)),
    ("en", "every week 18:00", at(2026, 11, 24, 18), Rule("weekly", weekday=1)),
    ("en", "every 2 weeks on Monday 18:30", at(2026, 11, 30, 18, 30), Rule("weekly", interval=2, weekday=0)),
    ("en", "every other Saturday 10:00", at(2026, 11, 28, 10), Rule("weekly", interval=2, weekday=5)),
    ("en", "every month 10:00", at(2026, 12, 24, 10), Rule("monthly")),
    ("en", "every month 18:00", at(2026, 11, 24, 18), Rule("monthly")),
    ("en", "first Monday of the month 18:00", at(2026, 12, 7, 18), Rule("monthly", weekday=0, ordinal=1)),
    ("en", "last Friday of the month 20:00", at(2026, 11, 27, 20), Rule("monthly", weekday=4, ordinal=-1)),
    ("en", "every Saturday 10:00 until March", at(2026, 11, 28, 10), Rule("weekly", weekday=5, until=MARCH_END)),
    ("en", "every Saturday 10:00 until 2027-03-31", at(2026, 11, 28, 10),
     Rule("weekly", weekday=5, until=MARCH_END)),
    ("en", "every Saturday 10:00 until 31 March", at(2026, 11, 28, 10), Rule("weekly", weekday=5, until=MARCH_END)),
    ("en", "every day 9:00 until March 2028", at(2026, 11, 25, 9), Rule("daily", until=date(2028, 3, 31))),
    ("en", "first Monday of the month 18:00 until the end of February", at(2026, 12, 7, 18),
     Rule("monthly", weekday=0, ordinal=1, until=date(2027, 2, 28))),
    # Italian
    ("it", "ogni sabato alle 10", *SATURDAY_10),
    ("it", "tutti i sabati alle 10:00", *SATURDAY_10),
    ("it", "ogni giorno 9:00", at(2026, 11, 25, 9), Rule("daily")),
    ("it", "ogni 2 settimane lunedì 18:30", at(2026, 11, 30, 18, 30), Rule("weekly", interval=2, weekday=0)),
    ("it", "primo lunedì del mese 18:00", at(2026, 12, 7, 18), Rule("monthly", weekday=0, ordinal=1)),
    ("it", "ultimo venerdì del mese alle 20", at(2026, 11, 27, 20), Rule("monthly", weekday=4, ordinal=-1)),
    ("it", "ogni sabato alle 10 fino a marzo", at(2026, 11, 28, 10), Rule("weekly", weekday=5, until=MARCH_END)),
    ("it", "ogni sabato alle 10 fino al 2027-03-31", at(2026, 11, 28, 10),
     Rule("weekly", weekday=5, until=MARCH_END)),
    ("it", "ogni sabato alle 10 fino al 31 marzo", at(2026, 11, 28, 10), Rule("weekly", weekday=5, until=MARCH_END)),
    # Spanish
    ("es", "cada sábado a las 10:00", *SATURDAY_10),
    ("es", "todos los sábados 10:00", *SATURDAY_10),
    ("es", "cada día 9:00", at(2026, 11, 25, 9), Rule("daily")),
    ("es", "todos los días a las 9", at(2026, 11, 25, 9), Rule("daily")),
    ("es", "cada 2 semanas el lunes 18:30", at(2026, 11, 30, 18, 30), Rule("weekly", interval=2, weekday=0)),
    ("es", "primer lunes del mes 18:00", at(2026, 12, 7, 18), Rule("monthly", weekday=0, ordinal=1)),
    ("es", "último viernes del mes 20:00", at(2026, 11, 27, 20), Rule("monthly", weekday=4, ordinal=-1)),
    ("es", "cada sábado 10:00 hasta marzo", at(2026, 11, 28, 10), Rule("weekly", weekday=5, until=MARCH_END)),
    ("es", "cada sábado 10:00 hasta el 2027-03-31", at(2026, 11, 28, 10),
     Rule("weekly", weekday=5, until=MARCH_END)),
    ("es", "cada sábado 10:00 hasta el 31 de marzo", at(2026, 11, 28, 10),
     Rule("weekly", weekday=5, until=MARCH_END)),
    # Latvian
    ("lv", "katru sestdienu 10:00", *SATURDAY_10),
    ("lv", "katru sestdienu plkst. 10:00", *SATURDAY_10),
    ("lv", "katru dienu 9:00", at(2026, 11, 25, 9), Rule("daily")),
    ("lv", "katru otro nedēļu 10:00", at(2026, 12, 1, 10), Rule("weekly", interval=2, weekday=1)),
    ("lv", "katru otro sestdienu 10:00", at(2026, 11, 28, 10), Rule("weekly", interval=2, weekday=5)),
    ("lv", "mēneša pirmajā pirmdienā 18:00", at(2026, 12, 7, 18), Rule("monthly", weekday=0, ordinal=1)),
    ("lv", "pirmā pirmdiena mēnesī 18:00", at(2026, 12, 7, 18), Rule("monthly", weekday=0, ordinal=1)),
    ("lv", "mēneša pēdējā piektdienā 20:00", at(2026, 11, 27, 20), Rule("monthly", weekday=4, ordinal=-1)),
    ("lv", "katru sestdienu 10:00 līdz martam", at(2026, 11, 28, 10), Rule("weekly", weekday=5, until=MARCH_END)),
    ("lv", "katru sestdienu 10:00 līdz 2027-03-31", at(2026, 11, 28, 10),
     Rule("weekly", weekday=5, until=MARCH_END)),
    ("lv", "katru sestdienu 10:00 līdz 31. martam", at(2026, 11, 28, 10),
     Rule("weekly", weekday=5, until=MARCH_END)),
]


@pytest.mark.parametrize(("locale", "text", "first", "rule"), PHRASES)
def test_recurrences_in_every_language_whatever_the_readers(
    locale: str, text: str, first: datetime, rule: Rule
) -> None:
    for reader in (locale, "en" if locale != "en" else "lv"):  # mixed groups: the reader's language is no limit
        with using_locale(reader):
            assert parse_when(text, ROME, NOW) == (first, rule), (text, reader)
            assert parse_when(text.upper(), ROME, NOW) == (first, rule), (text, reader)


@pytest.mark.parametrize(
    ("locale", "text", "expected"),
    [
        ("en", "2026-12-05 10:00", at(2026, 12, 5, 10)),
        ("en", "tomorrow 18:00", at(2026, 11, 25, 18)),
        ("en", "Sat 10:00", at(2026, 11, 28, 10)),
        ("en", "in 2 hours", at(2026, 11, 24, 14)),
        ("it", "sabato 10:00", at(2026, 11, 28, 10)),
        ("it", "domani alle 18", at(2026, 11, 25, 18)),
        ("es", "mañana a las 18:00", at(2026, 11, 25, 18)),
        ("es", "mañana a las 18", at(2026, 11, 25, 18)),
        ("lv", "rīt plkst. 18", at(2026, 11, 25, 18)),
        # What the date parser alone gets wrong: the hour after "alle"/"a las"/"plkst.", dotted times, a
        # weekday with a bare hour, Latvian "sestdien", a day-first numeric date.
        ("it", "domani 18.30", at(2026, 11, 25, 18, 30)),
        ("it", "sabato alle 10", at(2026, 11, 28, 10)),
        ("lv", "sestdien 10:00", at(2026, 11, 28, 10)),
        ("en", "Tuesday 11:00", at(2026, 12, 1, 11)),
        ("en", "Tuesday 13:00", at(2026, 11, 24, 13)),
        ("en", "05.12.2026 10:00", at(2026, 12, 5, 10)),
        ("en", "Sat 6pm", at(2026, 11, 28, 18)),
    ],
)
def test_one_off_moments(locale: str, text: str, expected: datetime) -> None:
    with using_locale(locale):
        assert parse_when(text, ROME, NOW) == (expected, None)


@pytest.mark.parametrize(
    "text",
    ["every Saturday", "ultimo venerdì del mese", "cada sábado", "katru sestdienu", "tomorrow", "every day"],
)
def test_no_time_of_day_is_asked_for(text: str) -> None:
    with pytest.raises(UserError, match="at what time"):
        parse_when(text, ROME, NOW)


@pytest.mark.parametrize(
    "text",
    ["", "   ", "soon-ish", "every Saturday except holidays 10:00", "every Monday and Thursday 18:00",
     "every month on Monday 18:00", "last day 10:00", "every 25:00 Saturday", "every Saturday 10:00 18:00"],
)
def test_unreadable(text: str) -> None:
    with pytest.raises(UserError, match="could not read when"):
        parse_when(text, ROME, NOW)


def test_bad_until_and_until_before_start_and_past() -> None:
    with pytest.raises(UserError, match="until when"):
        parse_when("every Saturday 10:00 until whenever", ROME, NOW)
    with pytest.raises(UserError, match="before it even starts"):
        parse_when("every Saturday 10:00 until 2026-11-26", ROME, NOW)
    with pytest.raises(UserError, match="already passed"):
        parse_when("2026-11-01 10:00", ROME, NOW)
    # "until November" in November means this one, still running: up to the 30th.
    assert parse_when("every Saturday 10:00 until November", ROME, NOW)[1] == Rule(
        "weekly", weekday=5, until=date(2026, 11, 30))


def test_errors_speak_the_readers_language_and_the_msgids_are_english() -> None:
    with using_locale("it"), pytest.raises(UserError) as caught:
        parse_when("blah", ROME, NOW)
    assert str(caught.value)  # translated when the catalog has it, English until then


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def test_weekly_across_spring_forward_keeps_local_time() -> None:
    first = at(2027, 3, 20, 10)
    found = occurrences(first, Rule("weekly", weekday=5), ROME, first - timedelta(seconds=1), limit=3)
    assert [start.astimezone(UTC) for start in found] == [utc(2027, 3, 20, 9), utc(2027, 3, 27, 9),
                                                         utc(2027, 4, 3, 8)]
    assert all(start.hour == 10 and start.tzinfo == ROME for start in found)


def test_weekly_across_fall_back_and_after_is_strict() -> None:
    first = at(2026, 10, 17, 10)
    found = occurrences(first, Rule("weekly", weekday=5), ROME, first, limit=3)  # strictly after: not the 17th
    assert [start.astimezone(UTC) for start in found] == [utc(2026, 10, 24, 8), utc(2026, 10, 31, 9),
                                                         utc(2026, 11, 7, 9)]
    assert {start.hour for start in found} == {10}


def test_first_monday_of_the_month_across_dst() -> None:
    first = at(2027, 2, 1, 18)
    found = occurrences(first, Rule("monthly", weekday=0, ordinal=1), ROME, first - timedelta(days=1), limit=4)
    assert found == [at(2027, 2, 1, 18), at(2027, 3, 1, 18), at(2027, 4, 5, 18), at(2027, 5, 3, 18)]
    assert [start.utcoffset() for start in found] == [timedelta(hours=1)] * 2 + [timedelta(hours=2)] * 2
    last = occurrences(at(2026, 10, 30, 20), Rule("monthly", weekday=4, ordinal=-1), ROME, NOW, limit=2)
    assert last == [at(2026, 11, 27, 20), at(2026, 12, 25, 20)]


def test_until_limit_one_offs_and_later_windows() -> None:
    first = at(2027, 3, 6, 10)
    rule = Rule("weekly", weekday=5, until=date(2027, 3, 27))
    assert occurrences(first, rule, ROME, NOW) == [at(2027, 3, d, 10) for d in (6, 13, 20, 27)]
    assert len(occurrences(first, Rule("daily"), ROME, NOW, limit=5)) == 5
    assert occurrences(first, Rule("daily"), ROME, NOW, limit=0) == []
    assert occurrences(first, None, ROME, NOW) == [first]
    assert occurrences(first, None, ROME, first) == []
    later = occurrences(first, Rule("weekly", interval=2, weekday=5), ROME, at(2028, 1, 1), limit=2)
    assert later == [at(2028, 1, 8, 10), at(2028, 1, 22, 10)]  # every other week, counted from the first
    riga = occurrences(at(2027, 3, 27, 10, tz=RIGA), Rule("daily"), RIGA, NOW, limit=2)
    assert [start.astimezone(UTC).hour for start in riga] == [8, 7]


def test_first_start_from_parse_feeds_occurrences() -> None:
    first, rule = parse_when("every 2 weeks on Monday 18:30 until 2027-01-31", ROME, NOW)
    assert occurrences(first, rule, ROME, NOW) == [at(2026, 11, 30, 18, 30), at(2026, 12, 14, 18, 30),
                                                   at(2026, 12, 28, 18, 30), at(2027, 1, 11, 18, 30),
                                                   at(2027, 1, 25, 18, 30)]


@pytest.mark.parametrize(
    "rule",
    [Rule("daily"), Rule("daily", interval=3), Rule("weekly", weekday=5), Rule("weekly", interval=2, weekday=0),
     Rule("monthly"), Rule("monthly", weekday=0, ordinal=1), Rule("monthly", weekday=4, ordinal=-1, until=MARCH_END),
     Rule("weekly", weekday=6, until=date(2027, 12, 31))],
)
def test_encode_decode_round_trip(rule: Rule) -> None:
    text = encode(rule)
    assert text is not None and decode(text) == rule
    assert encode(None) is None and decode(None) is None and decode("") is None


def test_encoded_form_is_stable_and_bad_text_is_refused() -> None:
    assert encode(Rule("weekly", weekday=5, until=MARCH_END)) == "FREQ=WEEKLY;BYDAY=SA;UNTIL=20270331"
    assert encode(Rule("monthly", weekday=4, ordinal=-1)) == "FREQ=MONTHLY;BYDAY=-1FR"
    for bad in ("FREQ=YEARLY", "BYDAY=SA", "FREQ=WEEKLY;BYDAY=XX", "FREQ=WEEKLY;COUNT=3", "FREQ=DAILY;INTERVAL=0"):
        with pytest.raises(ValueError):
            decode(bad)


def test_to_rrule_until_is_utc_end_of_the_local_day() -> None:
    rule = Rule("monthly", weekday=0, ordinal=1, until=MARCH_END)
    assert to_rrule(rule, ROME) == {"FREQ": "MONTHLY", "BYDAY": "1MO", "UNTIL": utc(2027, 3, 31, 21, 59, 59)}
    assert to_rrule(Rule("weekly", interval=2, weekday=5)) == {"FREQ": "WEEKLY", "INTERVAL": 2, "BYDAY": "SA"}


def test_describe_in_english() -> None:
    first = at(2026, 11, 28, 10)
    with using_locale("en"):
        assert describe(Rule("weekly", weekday=5), ROME, first) == "every Saturday"
        assert describe(Rule("weekly", interval=2, weekday=0), ROME, first) == "every 2 weeks on Monday"
        assert describe(Rule("monthly", weekday=0, ordinal=1), ROME, first) == "the first Monday of each month"
        assert describe(Rule("monthly", weekday=4, ordinal=-1), ROME, first) == "the last Friday of each month"
        assert describe(Rule("daily"), ROME, first) == "every day"
        assert describe(Rule("monthly"), ROME, first) == "every month on day 28"
        until = describe(Rule("weekly", weekday=5, until=MARCH_END), ROME, first)
        assert until == "every Saturday until 31 March 2027"  # British English, as the bot writes


def test_describe_uses_the_readers_weekday_and_date_names() -> None:
    first = at(2026, 11, 28, 10)
    rule = Rule("weekly", weekday=5, until=MARCH_END)
    with using_locale("it"):
        assert "sabato" in describe(rule, ROME, first) and "marzo 2027" in describe(rule, ROME, first)
    with using_locale("lv"):
        assert "2027" in describe(rule, ROME, first) and "mart" in describe(rule, ROME, first)
        assert describe(rule, ROME, first).startswith("katru sestdienu"), "“every” takes the accusative"
    with using_locale("es"):
        assert describe(rule, ROME, first).startswith("cada sábado hasta el 31 de marzo de 2027")


# --- .ics ---------------------------------------------------------------------------------------------------------

TRICKY = "Clean-up, park; bring gloves\nÀàèìòù – Ķegums, 日本"
STAMP = datetime(2026, 11, 24, 11, 0, tzinfo=UTC)


def event(**changes: object) -> IcsEvent:
    base: dict[str, object] = {
        "uid": "event-12-greenpark@interlink", "sequence": 3, "title": TRICKY, "start": at(2027, 3, 20, 10),
        "duration": timedelta(hours=2), "tz": "Europe/Rome", "place": "Parco Sempione; gate 3, north",
        "description": "Bring water,\nand a friend; or two", "rule": Rule("weekly", weekday=5, until=date(2027, 4, 10)),
        "stamp": STAMP,
    }
    base.update(changes)
    return IcsEvent(**base)  # type: ignore[arg-type]


def test_invite_fields_round_trip() -> None:
    calendar = Calendar.from_ical(invite(event()))
    assert str(calendar["METHOD"]) == "REQUEST" and str(calendar["PRODID"]) == PRODID
    assert str(calendar["VERSION"]) == "2.0"
    assert [str(zone["TZID"]) for zone in calendar.walk("VTIMEZONE")] == ["Europe/Rome"]
    vevent = calendar.walk("VEVENT")[0]
    assert vevent["DTSTART"].params["TZID"] == "Europe/Rome"
    assert vevent.decoded("DTSTART").replace(tzinfo=None) == datetime(2027, 3, 20, 10)
    assert vevent.decoded("DTSTART").utcoffset() == timedelta(hours=1)
    assert vevent.decoded("DTEND") - vevent.decoded("DTSTART") == timedelta(hours=2)
    assert str(vevent["UID"]) == "event-12-greenpark@interlink" and int(vevent["SEQUENCE"]) == 3
    assert vevent.decoded("DTSTAMP") == STAMP
    assert str(vevent["SUMMARY"]) == TRICKY
    assert str(vevent["LOCATION"]) == "Parco Sempione; gate 3, north"
    assert str(vevent["DESCRIPTION"]) == "Bring water,\nand a friend; or two"
    assert str(vevent["STATUS"]) == "CONFIRMED"
    rrule = vevent["RRULE"]
    assert rrule["FREQ"] == ["WEEKLY"] and rrule["BYDAY"] == ["SA"]
    assert rrule["UNTIL"] == [utc(2027, 4, 10, 21, 59, 59)]
    assert "ORGANIZER" not in vevent and "ATTENDEE" not in vevent


def test_escaping_is_on_the_wire() -> None:
    raw = invite(event()).decode()
    assert "SUMMARY:Clean-up\\, park\\; bring gloves\\nÀàèìòù" in raw.replace("\r\n ", "")
    assert "DTSTART;TZID=Europe/Rome:20270320T100000" in raw


def test_one_off_without_place_or_rule() -> None:
    vevent = Calendar.from_ical(invite(event(rule=None, place=None, description=None, tz="Europe/Riga",
                                             start=at(2026, 12, 5, 18, tz=RIGA)))).walk("VEVENT")[0]
    assert "RRULE" not in vevent and "LOCATION" not in vevent and "DESCRIPTION" not in vevent
    assert vevent["DTSTART"].params["TZID"] == "Europe/Riga"


def test_start_given_in_another_zone_is_written_in_the_events_zone() -> None:
    vevent = Calendar.from_ical(invite(event(start=utc(2027, 3, 20, 9)))).walk("VEVENT")[0]
    assert vevent.decoded("DTSTART").replace(tzinfo=None) == datetime(2027, 3, 20, 10)


def test_cancel() -> None:
    calendar = Calendar.from_ical(invite(event(sequence=4), method="CANCEL"))
    assert str(calendar["METHOD"]) == "CANCEL"
    vevent = calendar.walk("VEVENT")[0]
    assert str(vevent["STATUS"]) == "CANCELLED" and int(vevent["SEQUENCE"]) == 4
    marked = Calendar.from_ical(invite(event(cancelled=True), method="CANCEL")).walk("VEVENT")[0]
    assert str(marked["STATUS"]) == "CANCELLED"
    with pytest.raises(ValueError):
        invite(event(), method="DELETE")


def test_feed_with_two_events_one_cancelled() -> None:
    riga = event(uid="event-13-greenpark@interlink", tz="Europe/Riga", start=at(2026, 12, 5, 18, tz=RIGA),
                 rule=None, cancelled=True, title="Sapulce: ēdiens, dzērieni")
    data = feed([event(), riga], "Green Park, events")
    calendar = Calendar.from_ical(data)
    assert str(calendar["METHOD"]) == "PUBLISH" and str(calendar["X-WR-CALNAME"]) == "Green Park, events"
    assert sorted(str(zone["TZID"]) for zone in calendar.walk("VTIMEZONE")) == ["Europe/Riga", "Europe/Rome"]
    events = {str(vevent["UID"]): vevent for vevent in calendar.walk("VEVENT")}
    assert set(events) == {"event-12-greenpark@interlink", "event-13-greenpark@interlink"}
    assert str(events["event-13-greenpark@interlink"]["STATUS"]) == "CANCELLED"
    assert str(events["event-13-greenpark@interlink"]["SUMMARY"]) == "Sapulce: ēdiens, dzērieni"
    assert str(events["event-12-greenpark@interlink"]["STATUS"]) == "CONFIRMED"
    assert feed([event(), riga], "Green Park, events") == data  # same events, same bytes
    assert Calendar.from_ical(feed([], "Empty")).walk("VEVENT") == []


def test_stamp_defaults_to_now() -> None:
    vevent = Calendar.from_ical(invite(event(stamp=None))).walk("VEVENT")[0]
    assert abs(vevent.decoded("DTSTAMP") - datetime.now(UTC)) < timedelta(minutes=1)


@pytest.mark.parametrize(
    ("first", "rule"),
    [
        (at(2027, 3, 20, 10), Rule("weekly", weekday=5, until=date(2027, 4, 10))),
        (at(2026, 10, 3, 10), Rule("weekly", interval=2, weekday=5)),
        (at(2027, 2, 1, 18), Rule("monthly", weekday=0, ordinal=1, until=date(2027, 12, 31))),
        (at(2026, 10, 30, 20), Rule("monthly", weekday=4, ordinal=-1)),
        (at(2027, 3, 27, 9), Rule("daily", interval=3, until=date(2027, 4, 30))),
        (at(2027, 1, 31, 19), Rule("monthly")),
    ],
)
def test_another_library_expands_the_ics_as_we_do(first: datetime, rule: Rule) -> None:
    recurring_ical_events = pytest.importorskip("recurring_ical_events")
    data = invite(event(start=first, rule=rule))
    window = (at(2026, 9, 1), at(2028, 1, 1))
    theirs = [vevent.decoded("DTSTART") for vevent in recurring_ical_events.of(Calendar.from_ical(data)).between(
        window[0].replace(tzinfo=None), window[1].replace(tzinfo=None))]
    ours = [start for start in occurrences(first, rule, ROME, window[0], limit=500) if start < window[1]]
    assert theirs == ours and ours
