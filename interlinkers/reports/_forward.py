"""Forwarding to the municipality's own Open311 GeoReport v2 endpoint, when one is configured.

Each new report becomes a delivery (``storage.deliveries``): POSTed to ``requests.json`` with retries,
outside any transaction; after a try that may have reached the endpoint, the next one first looks for the
request it may have filed (same service, description and place since the report was made), so a report is
not filed twice. The endpoint's statuses are polled back by one worker at a time (a lease); a change is
applied like any other status change and its followers are told.

Settings (``interlink.toml`` keys, or ``INTERLINK_`` + the key in capitals):
``open311_forward_url`` (the endpoint's base, ending in ``/v2`` or similar), ``open311_forward_api_key``,
``open311_forward_jurisdiction_id`` (optional), ``open311_forward_services`` (our code = theirs, comma
separated, e.g. ``streetlight=LIGHT01, pothole=ROAD02``; unmapped codes go as they are),
``open311_forward_poll_seconds`` (default 300).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import ConfigError, ConfigSource
from bot.i18n import using_locale
from interlinkers.reports._models import Report
from interlinkers.reports._shared import CLOSED, SERVICES, STATUSES, apply_status, tell_later
from storage.deliveries import Attempt, NotDelivered, Rejected
from storage.models import Initiative
from storage.sql import is_postgres

KEY = "open311_forward_"
WATCH_CLOSED = timedelta(days=30)  # a request the endpoint closed is still watched this long: it may reopen
POLL_BATCH = 50  # service_request_ids asked for in one GET
MATCH_DEGREES = 1e-5  # about a metre: a request filed from our payload has our coordinates back


@dataclass(frozen=True, slots=True)
class Forwarding:
    url: str
    api_key: str = field(repr=False)
    jurisdiction_id: str | None
    services: dict[str, str]
    poll_seconds: float

    def service_code(self, ours: str) -> str:
        return self.services.get(ours, ours)


def read_forwarding(source: ConfigSource) -> Forwarding | None:
    """The forwarding settings, or None when no endpoint is configured; a bad value names its key."""
    url = (source.str(KEY + "url") or "").rstrip("/")
    api_key = source.str(KEY + "api_key") or ""
    jurisdiction = source.str(KEY + "jurisdiction_id") or None
    pairs = source.list(KEY + "services")
    poll = source.float(KEY + "poll_seconds", 300.0, minimum=1.0)
    if not url:
        for key, value in (("api_key", api_key), ("jurisdiction_id", jurisdiction), ("services", pairs)):
            if value:
                raise ConfigError(f"{source.env_name(KEY + key)} is set but {source.env_name(KEY + 'url')} is not")
        return None
    if not url.startswith(("http://", "https://")):
        raise ConfigError(f"{source.env_name(KEY + 'url')} must start with http:// or https:// (got {url!r})")
    if not api_key:
        raise ConfigError(f"{source.env_name(KEY + 'api_key')} must be set to forward reports to {url}")
    services: dict[str, str] = {}
    for pair in pairs:
        ours, sep, theirs = pair.partition("=")
        if not sep or ours.strip() not in SERVICES or not theirs.strip():
            raise ConfigError(f"{source.env_name(KEY + 'services')} takes our=theirs pairs, ours one of "
                              f"{', '.join(SERVICES)} (got {pair!r})")
        services[ours.strip()] = theirs.strip()
    return Forwarding(url, api_key, jurisdiction, services, poll)


def _first(answer: Any) -> dict[str, Any]:
    """GeoReport answers are lists of one object; some servers send the object alone."""
    if isinstance(answer, list) and answer and isinstance(answer[0], dict):
        return answer[0]
    if isinstance(answer, dict):
        return answer
    raise ValueError(f"unexpected answer {str(answer)[:200]!r}")


class Endpoint:
    """The municipality's endpoint, as this worker talks to it."""

    def __init__(self, forwarding: Forwarding) -> None:
        self.forwarding = forwarding
        self._http: aiohttp.ClientSession | None = None

    def _session(self) -> aiohttp.ClientSession:
        if self._http is None or self._http.closed:
            self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=20))
        return self._http

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()

    def _params(self, **more: str) -> dict[str, str]:
        params = dict(more)
        if self.forwarding.jurisdiction_id:
            params["jurisdiction_id"] = self.forwarding.jurisdiction_id
        return params

    async def _get(self, path: str, **params: str) -> Any:
        try:
            async with self._session().get(f"{self.forwarding.url}/{path}", params=self._params(**params)) as answer:
                if answer.status >= 400:
                    raise NotDelivered(f"GET {path}: HTTP {answer.status}")
                return await answer.json(content_type=None)
        except aiohttp.ClientConnectionError as exc:
            raise NotDelivered(f"GET {path}: {exc}") from exc

    async def file(self, payload: dict[str, Any], attempt: Attempt) -> dict[str, Any]:
        """POST one report; after an uncertain try, adopt the request that try filed if there is one."""
        code = self.forwarding.service_code(payload["service_code"])
        if attempt.uncertain:
            found = await self._find(payload, code, attempt.first_at)
            if found is not None:
                return found
        form = self._params(api_key=self.forwarding.api_key, service_code=code,
                            description=payload["description"] or "-")
        if payload.get("lat") is not None and payload.get("long") is not None:
            form["lat"], form["long"] = f"{payload['lat']:.6f}", f"{payload['long']:.6f}"
        if payload.get("address"):
            form["address_string"] = payload["address"]
        if payload.get("media_url"):
            form["media_url"] = payload["media_url"]
        try:
            async with self._session().post(f"{self.forwarding.url}/requests.json", data=form) as answer:
                body = await answer.text()
                if answer.status in (408, 429) or answer.status == 503:
                    raise NotDelivered(f"HTTP {answer.status}: {body[:200]}")
                if 400 <= answer.status < 500:
                    raise Rejected(f"HTTP {answer.status}: {body[:300]}")
                if answer.status >= 500:
                    raise RuntimeError(f"HTTP {answer.status}: {body[:200]}")  # it may have filed it
                first = _first(await answer.json(content_type=None))
        except aiohttp.ClientConnectorError as exc:
            raise NotDelivered(str(exc)) from exc
        return {"service_request_id": first.get("service_request_id"), "token": first.get("token")}

    async def _find(self, payload: dict[str, Any], code: str, since: datetime) -> dict[str, Any] | None:
        start = (since - timedelta(minutes=10)).isoformat(timespec="seconds")
        for request in await self._get("requests.json", service_code=code, start_date=start):
            if (isinstance(request, dict) and request.get("service_request_id")
                    and (request.get("description") or "").strip() == (payload["description"] or "-").strip()
                    and self._same_place(request, payload)):
                return {"service_request_id": str(request["service_request_id"]), "token": None, "adopted": True}
        return None

    @staticmethod
    def _same_place(request: dict[str, Any], payload: dict[str, Any]) -> bool:
        if payload.get("lat") is None or payload.get("long") is None:
            return (request.get("address") or "") == (payload.get("address") or "")
        try:
            return (abs(float(request["lat"]) - payload["lat"]) < MATCH_DEGREES
                    and abs(float(request["long"]) - payload["long"]) < MATCH_DEGREES)
        except (KeyError, TypeError, ValueError):
            return False

    async def request_id(self, token: str) -> str | None:
        """What a token (given when the endpoint numbers requests later) has become, if anything yet."""
        answer = await self._get(f"tokens/{token}.json")
        found = _first(answer).get("service_request_id") if answer else None
        return str(found) if found else None

    async def statuses(self, ids: list[str]) -> dict[str, tuple[str, str]]:
        """The endpoint's (status, status_notes) of each of ``ids`` it knows."""
        answer = await self._get("requests.json", service_request_id=",".join(ids))
        found: dict[str, tuple[str, str]] = {}
        for request in answer if isinstance(answer, list) else []:
            if isinstance(request, dict) and request.get("service_request_id") is not None:
                found[str(request["service_request_id"])] = (str(request.get("status") or "open").strip().lower(),
                                                             str(request.get("status_notes") or "").strip())
        return found


# FixMyStreet's words for the statuses its Open311 updates carry, where they differ from ours.
FIXMYSTREET = {"not_councils_responsibility": "not_responsible", "investigating": "acknowledged",
               "no_further_action": "closed", "internal_referral": "not_responsible"}


def change_from(before: str | None, status: str, notes: str, ours: str, closed: set[str]) -> str | None:
    """Our status after the endpoint's went from ``before`` ("status|notes"; None before the first poll)
    to ``status`` with ``notes``, or None when there is nothing to tell. An endpoint that speaks our
    (FixMyStreet's) words is followed word for word; one that says only open or closed: closing closes,
    opening a closed request reopens it, a new note is passed on (and acknowledges a submitted report)."""
    if before == f"{status}|{notes}":
        return None
    word = status.replace(" ", "_").replace("-", "_")
    word = FIXMYSTREET.get(word, word)
    if word in STATUSES and word not in ("submitted", "closed"):
        return word
    if word == "closed":
        return "closed" if ours not in closed else (ours if notes else None)
    if before is not None and before.partition("|")[0] == "closed":
        return "reopened"
    if notes:
        return "acknowledged" if ours == "submitted" else ours
    return None


async def poll_endpoint(sessions: async_sessionmaker[AsyncSession], endpoint: Endpoint) -> int:
    """Bring the endpoint's news home: tokens it has numbered since, and every status change of the
    forwarded reports it has not closed (or closed lately), each applied (and its followers told) in a
    transaction of its own that re-reads the report under a lock, so two workers polling at once tell nobody twice.
    Returns how many changes were passed on."""
    async with sessions() as session:
        waiting = (await session.execute(select(Report.id, Report.remote_token).where(
            Report.remote_id.is_(None), Report.remote_token.is_not(None)))).all()
    for report_id, token in waiting:
        if token and (found := await endpoint.request_id(token)) is not None:
            async with sessions.begin() as session:
                await session.execute(update(Report).where(Report.id == report_id, Report.remote_id.is_(None))
                                      .values(remote_id=found, remote_token=None))
    async with sessions() as session:
        watched = (await session.execute(select(Report.id, Report.remote_id).where(
            Report.remote_id.is_not(None),
            or_(Report.remote_state.is_(None), ~Report.remote_state.startswith("closed|"),
                Report.updated_at >= datetime.now(UTC) - WATCH_CLOSED))
            .order_by(Report.id))).all()
    told = 0
    for start in range(0, len(watched), POLL_BATCH):
        batch = {str(remote): report_id for report_id, remote in watched[start:start + POLL_BATCH]}
        for remote, (status, notes) in (await endpoint.statuses(list(batch))).items():
            if remote in batch:
                told += await _follow(sessions, batch[remote], status, notes)
    return told


async def _follow(sessions: async_sessionmaker[AsyncSession], report_id: int, status: str, notes: str) -> int:
    async with sessions.begin() as session:
        report = await session.get(Report, report_id, with_for_update=is_postgres(session) or None,
                                   populate_existing=True)
        if report is None:
            return 0
        change = change_from(report.remote_state, status, notes, report.status, CLOSED)
        report.remote_state = f"{status}|{notes}"[:4000]
        if change is None:
            return 0
        initiative = await session.get_one(Initiative, report.initiative_id)
        with using_locale(initiative.locale):
            await apply_status(session, report, change, notes or None)
        await tell_later(session, report, change, notes or None)
        return 1
