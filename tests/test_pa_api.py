"""``/api/v1`` as a PA system uses it: its OpenAPI 3.1 document is valid, and every endpoint is called by a
client that checks each request and answer against that document (openapi-core), with the 401, 403, 400
and 429 paths, cursor pages that add up to the whole list, and exports. On SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import io
import json
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from openapi_core import OpenAPI
from openapi_core.datatypes import RequestParameters
from openapi_spec_validator import validate
from werkzeug.datastructures import Headers, ImmutableMultiDict

from adapters.http.api import document
from bot.app import every_interlinker
from bot.config import Settings
from bot.ledger_verify import expected_from, verify
from bot.officers import new_api_key
from tests.conftest import altered, running_console
from tests.pa_world import NAME, build


@dataclass
class _Request:
    host_url: str
    path: str
    method: str
    parameters: RequestParameters
    content_type: str = "application/json"
    body: bytes | None = None
    full_url_pattern: str = ""


@dataclass
class _Response:
    status_code: int
    content_type: str
    headers: Headers
    data: bytes


@dataclass
class Client:
    """Calls the API and checks the request and the answer against the OpenAPI document."""

    base: str
    spec: OpenAPI
    session: aiohttp.ClientSession
    called: set[tuple[str, str]] = field(default_factory=set)

    async def call(self, method: str, path: str, key: str | None = None, params: dict[str, str] | None = None,
                   body: dict[str, Any] | None = None, checked: bool = True) -> tuple[int, Any, aiohttp.ClientResponse]:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        raw = json.dumps(body).encode() if body is not None else None
        if raw is not None:
            headers["Content-Type"] = "application/json"
        async with self.session.request(method, f"{self.base}/api/v1{path}", params=params, data=raw,
                                        headers=headers) as response:
            data = await response.read()
        request = _Request(self.base, f"/api/v1{path}", method.lower(), RequestParameters(
            query=ImmutableMultiDict(params or {}), header=Headers(headers)), body=raw)
        answer = _Response(response.status, response.headers.get("Content-Type", "").split(";")[0].lower(),
                           Headers(dict(response.headers)), data)
        if checked:
            if key:  # a request without a key is not valid by the document, and is answered 401
                self.spec.validate_request(request)
            self.spec.validate_response(request, answer)
            self.called.add((method.lower(), _pattern(path)))
        decoded = json.loads(data) if answer.content_type == "application/json" else data
        return response.status, decoded, response


def _unzipped(raw: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(raw)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _pattern(path: str) -> str:
    for pattern in document("")["paths"]:
        parts, wanted = pattern.strip("/").split("/"), path.split("?")[0].strip("/").split("/")
        if len(parts) == len(wanted) and all(p.startswith("{") or p == w for p, w in zip(parts, wanted, strict=True)):
            return str(pattern)
    raise AssertionError(f"{path} is not in the document")


async def test_every_endpoint_answers_as_its_openapi_document_says(
        database_url: str, make_settings: Callable[..., Settings]) -> None:
    async with running_console(make_settings(database_url, api_requests_per_minute="40"), http=True) as chat:
        world = await build(chat)
        giulia = await world.officer("Giulia Rossi", "it")
        stranger = await world.officer("Someone Else", "en")
        async with chat.app.services.sessions.begin() as session:
            read = await new_api_key(session, giulia, "read", "portal")
            write = await new_api_key(session, giulia, "write", "gis")
            other = await new_api_key(session, stranger, "read")
            spare = await new_api_key(session, giulia, "read", "hammer")
        from sqlalchemy import delete

        from storage.models import OfficerInitiative  # the stranger sees no initiative

        async with chat.app.services.sessions.begin() as session:
            await session.execute(delete(OfficerInitiative).where(OfficerInitiative.officer_id == stranger))
        base = f"http://127.0.0.1:{chat.app.http_server.port}"
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{base}/api/v1/openapi.json") as response:
                served = await response.json()
            validate(served)  # a valid OpenAPI 3.1 document
            assert served["openapi"] == "3.1.0" and served == document(chat.app.settings.public_url)
            async with http.get(f"{base}/api/v1/docs") as response:
                page = await response.text()
                assert response.status == 200 and "GET /initiatives/{initiative}/outcomes" in page
            client = Client(base, OpenAPI.from_dict(served), http)
            initiative = world.initiative_id

            # Who may ask: no key, a forged key, a revoked-looking key, a read key writing, another's initiative.
            status, body, response = await client.call("GET", "/initiatives")
            assert status == 401 and body["error"]["code"] == "unauthenticated"
            assert response.headers["WWW-Authenticate"].startswith("Bearer")
            assert (await client.call("GET", "/initiatives", altered(read)))[0] == 401
            status, body, _r = await client.call("PATCH", f"/initiatives/{initiative}", read, body={"phase": "sustain"})
            assert status == 403 and body["error"]["code"] == "read_only_key"
            assert (await client.call("GET", f"/initiatives/{initiative}", other))[0] == 403
            assert (await client.call("GET", "/initiatives", other))[1] == {"items": []}

            status, me, _r = await client.call("GET", "/me", read)
            assert status == 200 and me["name"] == "Giulia Rossi" and me["language"] == "it"
            status, listed, _r = await client.call("GET", "/initiatives", read)
            assert [row["name"] for row in listed["items"]] == [NAME]
            assert listed["items"][0]["phase"] == "build" and listed["items"][0]["partner"] == "Comune di Torino"
            status, changed, _r = await client.call("PATCH", f"/initiatives/{initiative}", write,
                                                    body={"phase": "sustain", "partner": "Città di Torino"})
            assert status == 200 and changed["phase"] == "sustain"
            assert (await client.call("GET", f"/initiatives/{initiative}", read))[1]["partner"] == "Città di Torino"
            status, body, _r = await client.call("PATCH", f"/initiatives/{initiative}", write,
                                                 body={"phase": "done"}, checked=False)
            assert status == 400 and "phase must be one of" in body["error"]["message"]

            # Outcomes: pages of one, in order, add up to the whole list exactly once.
            await asyncio.sleep(0)
            await chat.app.services.outbox.deliver_due()
            status, whole, _r = await client.call("GET", "/outcomes", read, params={"limit": "200"})
            assert status == 200 and whole["next_cursor"] is None and len(whole["items"]) >= 3
            seen, cursor = [], None
            while True:
                params = {"limit": "1", **({"cursor": cursor} if cursor else {})}
                status, page_, _r = await client.call("GET", f"/initiatives/{initiative}/outcomes", read, params=params)
                seen += [item["id"] for item in page_["items"]]
                cursor = page_["next_cursor"]
                if cursor is None:
                    break
            assert seen == [item["id"] for item in whole["items"]]
            titles = [item["title"] for item in whole["items"]]
            assert "Which day for the clean-up?" in titles
            status, later, _r = await client.call("GET", "/outcomes", read, params={"since": "2999-01-01"})
            assert later["items"] == []
            status, body, _r = await client.call("GET", "/outcomes", read, params={"since": "yesterday"},
                                                 checked=False)
            assert status == 400 and "since must be a date" in body["error"]["message"]
            assert (await client.call("GET", "/outcomes", read, params={"limit": "0"}, checked=False))[0] == 400
            assert (await client.call("GET", "/outcomes", read, params={"cursor": "bm9wZQ"}, checked=False))[0] == 400

            # Members by pseudonym, in pages; participation by week; the files.
            people: list[dict[str, str]] = []
            cursor = None
            while True:
                params = {"limit": "2", **({"cursor": cursor} if cursor else {})}
                status, page_, _r = await client.call("GET", f"/initiatives/{initiative}/members", read, params=params)
                people += page_["items"]
                cursor = page_["next_cursor"]
                if cursor is None:
                    break
            assert len(people) == 5 and len({p["person"] for p in people}) == 5
            assert sorted(p["team"] for p in people).count("public_administration") == 1
            assert not any("ben" in json.dumps(p) for p in people)
            status, weekly, _r = await client.call("GET", f"/initiatives/{initiative}/participation", read)
            assert status == 200 and weekly["weeks"][-1]["participants"] >= 4
            status, files, _r = await client.call("GET", f"/initiatives/{initiative}/exports", read)
            names = [item["name"] for item in files["items"]]
            assert {"open-data.zip", "outcomes.csv", "members.csv", "events.ics"} <= set(names)
            status, raw, response = await client.call("GET", f"/initiatives/{initiative}/exports/open-data.zip", read)
            assert status == 200 and "README.md" in zipfile.ZipFile(io.BytesIO(raw)).namelist()
            status, raw, response = await client.call("GET", f"/initiatives/{initiative}/exports/members.csv", read)
            assert status == 200 and raw.decode().startswith("person,team,role,joined_week")
            assert (await client.call("GET", f"/initiatives/{initiative}/exports/nope.csv", read))[0] == 404

            # The ledger: the checkpoint the poll's close signed, and the verification bundle that it checks.
            status, signed, _r = await client.call("GET", "/ledger/checkpoints", read)
            assert status == 200 and signed["items"] and signed["items"][0]["initiative_id"] == initiative
            assert signed["public_key"].startswith("-----BEGIN PUBLIC KEY-----") and len(signed["key_id"]) == 16
            status, only, _r = await client.call("GET", "/ledger/checkpoints", read,
                                                 params={"initiative": str(initiative)})
            assert only["items"] == signed["items"]
            assert (await client.call("GET", "/ledger/checkpoints", read, params={"initiative": "999"},
                                      checked=False))[0] == 403
            status, raw, response = await client.call("GET", f"/initiatives/{initiative}/exports/ledger-bundle.zip",
                                                      read)
            bundle = _unzipped(raw)
            kept = expected_from(json.dumps(signed), "api")
            verdict = verify(bundle, every_interlinker(), kept, signed["key_id"])
            assert verdict.ok and "1 polls recounted" in verdict.checked, verdict.problems

            # Every operation in the document was called.
            every = {(method, path) for path, item in served["paths"].items()
                     for method in item if method != "parameters"}
            assert every <= client.called, every - client.called

            # Too many requests with one key: 429 with Retry-After; another key is not slowed down.
            statuses = [(await client.call("GET", "/me", spare))[0] for _ in range(45)]
            assert statuses[:40] == [200] * 40 and 429 in statuses[40:]
            status, body, response = await client.call("GET", "/me", spare)
            assert status == 429 and int(response.headers["Retry-After"]) >= 1
            assert (await client.call("GET", "/me", write))[0] == 200
