"""Points on the map as people type or share them: ``45.0703, 7.6869``, ``geo:45.0703,7.6869``, or words
followed by the point in brackets (what a shared ``Location`` reads as). Any Interlinker that takes a
place uses it; a plain street name stays words, with no point."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

# Decimal degrees with two decimals or more, so "Via Roma 12, 3" is never read as a point.
_NUMBER = r"[-+]?\d{1,3}\.\d{2,10}"
_POINT = re.compile(rf"(?<![\w.+-])(?:geo:\s*)?\(?\s*(?P<lat>{_NUMBER})\s*[,;]\s*(?P<lon>{_NUMBER})"
                    r"(?:;[^)\s]*)?\s*\)?\s*$", re.IGNORECASE)
# An explicit geo URI (RFC 5870) may be as coarse as it likes: "geo:45.1,7.7".
_GEO_URI = re.compile(r"(?<![\w.+-])geo:\s*(?P<lat>[-+]?\d{1,3}(?:\.\d+)?),(?P<lon>[-+]?\d{1,3}(?:\.\d+)?)"
                      r"(?:;[^)\s]*)?\s*$", re.IGNORECASE)
EARTH_RADIUS_M = 6_371_000


@dataclass(frozen=True, slots=True)
class Point:
    latitude: float
    longitude: float

    def __str__(self) -> str:
        return f"{self.latitude:.5f}, {self.longitude:.5f}"

    @property
    def geo_uri(self) -> str:
        """RFC 5870, as Matrix's ``m.location`` carries it."""
        return f"geo:{self.latitude:.6f},{self.longitude:.6f}"

    @property
    def map_link(self) -> str:
        """An OpenStreetMap page centred on the point, for networks without pins."""
        lat, lon = f"{self.latitude:.5f}", f"{self.longitude:.5f}"
        return f"https://www.openstreetmap.org/?mlat={lat}&mlon={lon}#map=18/{lat}/{lon}"

    def metres_to(self, other: Point) -> float:
        """Great-circle distance (haversine), good to a metre at a street's scale."""
        lat1, lat2 = math.radians(self.latitude), math.radians(other.latitude)
        dlat, dlon = lat2 - lat1, math.radians(other.longitude - self.longitude)
        h = math.sin(dlat / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin(dlon / 2) ** 2
        return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(h))


def read_point(text: str) -> tuple[str, Point | None]:
    """``(words, point)``: the point at the end of ``text`` if there is a valid one, and the words before
    it (stripped of a trailing comma or dash). Without a point, the words are the whole text."""
    match = _GEO_URI.search(text) or _POINT.search(text)
    if match is not None:
        lat, lon = float(match["lat"]), float(match["lon"])
        before = text[: match.start()]
        if -90 <= lat <= 90 and -180 <= lon <= 180:
            return before.strip().rstrip(",-–—:").strip(), Point(lat, lon)
    return text.strip(), None
