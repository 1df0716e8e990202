"""What people type or share, read as they mean it: points on the map (typed, geo URIs, shared
locations on Telegram and Matrix) and moments written the way our groups write them (day first, "alle
18", Latvian locatives), plus the new messages surviving the outbox's JSON."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from adapters.matrix import _render as matrix_render
from bot.codec import decode, decode_update, encode, encode_update
from bot.errors import UserError
from bot.events import ChatRef, Location, Photo, Reply, Update, UserRef
from bot.geo import Point, read_point
from bot.i18n import format_moment, using_locale
from bot.photos import clean
from bot.when import read_moment

ROME = ZoneInfo("Europe/Rome")
NOW = datetime(2026, 11, 24, 11, 52, 43, 860000, tzinfo=UTC)  # a Tuesday, 12:52:43.86 in Rome


@pytest.mark.parametrize(("typed", "words", "point"), [
    ("Park gate (45.07030, 7.68690)", "Park gate", (45.0703, 7.6869)),
    ("Park gate, Via Roma 1 (45.07030, 7.68690)", "Park gate, Via Roma 1", (45.0703, 7.6869)),
    ("45.0703, 7.6869", "", (45.0703, 7.6869)),
    ("-33.8688, 151.2093", "", (-33.8688, 151.2093)),
    ("Piazza 45.07,7.68", "Piazza", (45.07, 7.68)),
    ("geo:45.1,7.7;u=35", "", (45.1, 7.7)),
    ("Walk geo:45,7", "Walk", (45.0, 7.0)),
    ("Via Roma 12, 3", "Via Roma 12, 3", None),  # a street number is not a point
    ("Via Roma 12.5, 3.2", "Via Roma 12.5, 3.2", None),  # one decimal: not coordinates
    ("Somewhere (95.00, 7.00)", "Somewhere (95.00, 7.00)", None),  # no latitude 95
    ("a1.50,2.50", "a1.50,2.50", None),
])
def test_points_are_read_from_what_people_type(typed: str, words: str, point: tuple[float, float] | None) -> None:
    found_words, found = read_point(typed)
    assert found_words == words
    assert (None if found is None else (found.latitude, found.longitude)) == point


def test_a_shared_location_reads_back_as_it_was_shared() -> None:
    shared = Location(45.0703, 7.6869, "Park gate", "Via Roma 1")
    words, point = read_point(shared.text())
    assert words == "Park gate, Via Roma 1" and point == Point(45.0703, 7.6869)
    assert round(Point(45.0703, 7.6869).metres_to(Point(45.0707, 7.6869))) == 44


def test_matrix_location_events_both_ways() -> None:
    content = matrix_render.location_content(Location(45.0703, 7.6869, "Park gate"))
    assert content["msgtype"] == "m.location" and content["geo_uri"] == "geo:45.070300,7.686900"
    assert content["org.matrix.msc3488.location"]["uri"] == content["geo_uri"]
    assert matrix_render.read_location(content) == Location(45.0703, 7.6869, "Park gate")
    # Element's own share: a label in the body, the point only in MSC3488.
    element = {"msgtype": "m.location", "body": "Location geo:45.1,7.7 at 2026-11-24",
               "org.matrix.msc3488.location": {"uri": "geo:45.1,7.7;u=20"}}
    assert matrix_render.read_location(element) == Location(45.1, 7.7, "")
    assert matrix_render.read_location({"msgtype": "m.location", "body": "x", "geo_uri": "geo:nowhere"}) is None


def test_new_messages_survive_the_outbox_and_the_dead_letters() -> None:
    for message in (Location(45.0703, 7.6869, "Park gate", "Via Roma 1"),
                    Reply("When is it?", ask=True, reply_to="812")):
        assert decode(encode(message)) == message
    assert decode({"type": "reply", "text": "old row", "buttons": [], "key": None, "poll": None}) == Reply("old row")
    update = Update("7", ChatRef("telegram", "-100"), UserRef("telegram", "1", "Ann"), Location(1.5, 2.5), "44")
    assert decode_update(encode_update(update)) == update


@pytest.mark.parametrize(("typed", "language", "meant"), [
    ("06.03.2027 10:00", "it", "2027-03-06 10:00"),  # day first, in every language
    ("06/03/2027 10:00", "es", "2027-03-06 10:00"),
    ("06/03/2027 10:00", "en", "2027-03-06 10:00"),
    ("2027-03-06 10:00", "lv", "2027-03-06 10:00"),
    ("domani alle 18", "it", "2026-11-25 18:00"),  # the hour written, not the time it is now
    ("mañana a las 18", "es", "2026-11-25 18:00"),
    ("rīt plkst. 18.30", "lv", "2026-11-25 18:30"),
    ("tomorrow at 18", "en", "2026-11-25 18:00"),
    ("06.03.2027. plkst. 10.00", "lv", "2027-03-06 10:00"),  # the Latvian dot after the year
    ("sestdien, 6. martā, plkst. 10.00", "lv", "2027-03-06 10:00"),  # Latvian "on Saturday, in March"
    ("sabato 6 marzo 2027 alle 10", "it", "2027-03-06 10:00"),
    ("sábado 6 de marzo de 2027 a las 10", "es", "2027-03-06 10:00"),
    ("il 5 marzo 2027 alle 20:00", "it", "2027-03-05 20:00"),  # "chiude il 5 marzo"
    ("el 5 de marzo de 2027 a las 20:00", "es", "2027-03-05 20:00"),
    ("in 2 hours", "en", "2026-11-24 14:52"),
])
def test_moments_are_read_as_our_groups_write_them(typed: str, language: str, meant: str) -> None:
    with using_locale(language):
        found = read_moment(typed, ROME, NOW)
    assert found is not None and found.astimezone(ROME).strftime("%Y-%m-%d %H:%M") == meant
    assert found.microsecond == 0


@pytest.mark.parametrize(("language", "short", "with_year"), [
    ("en", "Sat 6 Mar, 10:00", "Sat, 6 Mar 2027, 10:00"),  # British English: day first, 24-hour clock
    ("it", "sab 6 mar, 10:00", "sab 6 mar 2027, 10:00"),
    ("es", "sáb, 6 mar, 10:00", "sáb, 6 mar 2027, 10:00"),
    ("lv", "sestd., 6. marts 10:00", "sestd., 2027. g. 6. marts 10:00"),  # the ordinal dot Latvian needs
])
def test_moments_are_written_as_each_language_writes_them(language: str, short: str, with_year: str) -> None:
    moment = datetime(2027, 3, 6, 9, 0, tzinfo=UTC)  # 10:00 in Rome
    with using_locale(language):
        assert format_moment(moment, ROME) == short
        assert format_moment(moment, ROME, year=True) == with_year


def _jpeg(width: int, height: int, **exif_tags: object) -> bytes:
    from PIL import Image
    image = Image.new("RGB", (width, height), (200, 10, 10))
    exif = Image.Exif()
    for tag, value in exif_tags.items():
        exif[int(tag.removeprefix("t"))] = value
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


def test_photos_are_kept_small_upright_and_without_their_metadata() -> None:
    from PIL import Image
    sent = _jpeg(4000, 3000, t272="PhoneModel X", t274=6)  # camera model; "rotate 90°" orientation
    assert b"PhoneModel X" in sent
    kept = clean(Photo(sent, "image/jpeg"))
    assert (kept.width, kept.height) == (1536, 2048), "turned upright, then at most 2048 pixels"
    assert b"PhoneModel X" not in kept.content and not dict(Image.open(io.BytesIO(kept.content)).getexif())
    for bad in (b"GIF89a" + b"\0" * 100, b"%PDF-1.7 not a picture", b""):
        with pytest.raises(UserError):
            clean(Photo(bad, "image/jpeg", size=len(bad) or None))
    with pytest.raises(UserError, match="larger than 10 MB"):
        clean(Photo(b"", "image/jpeg", size=11 * 1024 * 1024))
