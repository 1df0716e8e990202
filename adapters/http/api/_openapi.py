"""The OpenAPI 3.1 document of ``/api/v1``, written as data next to the routes it describes (the tests
validate it and check every answer against it)."""

from __future__ import annotations

from typing import Any

_ERROR = {"$ref": "#/components/responses/Error"}
_PAGE_PARAMS = [{"$ref": "#/components/parameters/limit"}, {"$ref": "#/components/parameters/cursor"}]
_DATE_PARAMS = [{"$ref": "#/components/parameters/since"}, {"$ref": "#/components/parameters/until"}]
_INITIATIVE = {"name": "initiative", "in": "path", "required": True, "schema": {"type": "integer"},
               "description": "The initiative's number (from GET /initiatives)."}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*codes: str) -> dict[str, Any]:
    return {code: _ERROR for code in ("401", "429", *codes)}


def _page(item: str) -> dict[str, Any]:
    return {"type": "object", "required": ["items", "next_cursor"], "properties": {
        "items": {"type": "array", "items": {"$ref": f"#/components/schemas/{item}"}},
        "next_cursor": {"type": ["string", "null"], "description": "Pass as ?cursor= for the next page; "
                                                                     "null on the last page."}}}


def document(public_url: str) -> dict[str, Any]:
    read: list[dict[str, list[str]]] = [{"apiKey": []}, {"bearer": []}]
    return {
        "openapi": "3.1.0",
        "info": {"title": "Interlink PA API", "version": "1.0.0",
                 "description": "What public administration officers may read about the initiatives shared with "
                                "them: profiles, outcomes, pseudonymous members, participation and exports. "
                                "Get a key on the dashboard (API keys) or with `interlink officers key`. "
                                "Requests are limited per key (429 with Retry-After). People are named only by "
                                "pseudonyms, the same within one initiative."},
        # Relative: the document is served at /api/v1/openapi.json, so clients resolve it where they found it.
        "servers": [{"url": "/api/v1", "description": f"{public_url}/api/v1"}],
        "security": read,
        "paths": {
            "/me": {"get": {"operationId": "me", "summary": "The officer this key belongs to",
                            "responses": {"200": _json({"$ref": "#/components/schemas/Officer"}, "The officer"),
                                          **_errors()}}},
            "/initiatives": {"get": {
                "operationId": "listInitiatives", "summary": "The initiatives shared with you",
                "responses": {"200": _json({"type": "object", "required": ["items"], "properties": {"items": {
                    "type": "array", "items": {"$ref": "#/components/schemas/Initiative"}}}}, "Initiatives"),
                    **_errors()}}},
            "/initiatives/{initiative}": {
                "parameters": [_INITIATIVE],
                "get": {"operationId": "getInitiative", "summary": "One initiative's profile",
                        "responses": {"200": _json({"$ref": "#/components/schemas/Initiative"}, "The initiative"),
                                      **_errors("403")}},
                "patch": {"operationId": "changeInitiative", "summary": "Change its phase, description or partner "
                                                                         "(a write key)",
                          "requestBody": {"required": True, "content": {"application/json": {"schema": {
                              "$ref": "#/components/schemas/InitiativeChange"}}}},
                          "responses": {"200": _json({"$ref": "#/components/schemas/Initiative"}, "Changed"),
                                        **_errors("400", "403")}}},
            "/outcomes": {"get": {
                "operationId": "listOutcomes", "summary": "Outcomes of all your initiatives, oldest first",
                "parameters": [*_DATE_PARAMS, *_PAGE_PARAMS, {"name": "initiative", "in": "query", "required": False,
                                                              "schema": {"type": "string"},
                                                              "description": "Only this initiative (its name)."}],
                "responses": {"200": _json(_page("Outcome"), "A page of outcomes"), **_errors("400")}}},
            "/initiatives/{initiative}/outcomes": {"get": {
                "operationId": "listInitiativeOutcomes", "summary": "One initiative's outcomes, oldest first",
                "parameters": [_INITIATIVE, *_DATE_PARAMS, *_PAGE_PARAMS],
                "responses": {"200": _json(_page("Outcome"), "A page of outcomes"), **_errors("400", "403")}}},
            "/initiatives/{initiative}/members": {"get": {
                "operationId": "listMembers", "summary": "Members, by pseudonym and team type",
                "parameters": [_INITIATIVE, *_PAGE_PARAMS],
                "responses": {"200": _json(_page("Member"), "A page of members"), **_errors("400", "403")}}},
            "/initiatives/{initiative}/participation": {"get": {
                "operationId": "getParticipation", "summary": "Distinct participants per week (default: 12 weeks)",
                "parameters": [_INITIATIVE, *_DATE_PARAMS],
                "responses": {"200": _json({"type": "object", "required": ["weeks"], "properties": {"weeks": {
                    "type": "array", "items": {"type": "object", "required": ["week_start", "participants"],
                                               "properties": {"week_start": {"type": "string", "format": "date"},
                                                              "participants": {"type": "integer"}}}}}},
                    "Weeks, Monday first, in your time zone"), **_errors("400", "403")}}},
            "/ledger/checkpoints": {"get": {
                "operationId": "listLedgerCheckpoints",
                "summary": "Signed checkpoints of your initiatives' ledgers: keep them to catch a ledger cut short",
                "parameters": [{"name": "initiative", "in": "query", "required": False,
                                "schema": {"type": "string", "pattern": "^[0-9]+$"},
                                "description": "Only this initiative (its id)."}],
                "responses": {"200": _json({"type": "object", "required": ["key_id", "public_key", "items"],
                                            "properties": {
                                                "key_id": {"type": "string"},
                                                "public_key": {"type": "string",
                                                               "description": "Ed25519, PEM (SubjectPublicKeyInfo)"},
                                                "items": {"type": "array",
                                                          "items": {"$ref": "#/components/schemas/Checkpoint"}}}},
                                           "Checkpoints, per initiative, oldest first"), **_errors("400", "403")}}},
            "/initiatives/{initiative}/exports": {"get": {
                "operationId": "listExports", "summary": "The files you may download",
                "parameters": [_INITIATIVE],
                "responses": {"200": _json({"type": "object", "required": ["items"], "properties": {"items": {
                    "type": "array", "items": {"$ref": "#/components/schemas/ExportFile"}}}}, "Files"),
                    **_errors("403")}}},
            "/initiatives/{initiative}/exports/{name}": {"get": {
                "operationId": "getExport", "summary": "One file (CSV, JSON, iCal, Open311 JSON, or open-data.zip)",
                "parameters": [_INITIATIVE, {"name": "name", "in": "path", "required": True,
                                             "schema": {"type": "string"}}],
                "responses": {"200": {"description": "The file", "content": {
                    # Files, as bytes (OpenAPI 3.1: a media type with no schema type is binary).
                    "application/zip": {"schema": {"contentMediaType": "application/zip"}},
                    "text/csv": {"schema": {"contentMediaType": "text/csv"}},
                    "application/json": {"schema": {}},
                    "text/calendar": {"schema": {"contentMediaType": "text/calendar"}}}},
                    "404": _ERROR, **_errors("403")}}},
        },
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "description": "Authorization: Bearer ilk_…"},
                "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"}},
            "parameters": {
                "since": {"name": "since", "in": "query", "required": False, "schema": {"type": "string"},
                          "description": "From this date (2026-11-01, in your time zone) or ISO 8601 time."},
                "until": {"name": "until", "in": "query", "required": False, "schema": {"type": "string"},
                          "description": "Before this date or time."},
                "limit": {"name": "limit", "in": "query", "required": False,
                          "schema": {"type": "integer", "minimum": 1, "maximum": 200, "default": 50}},
                "cursor": {"name": "cursor", "in": "query", "required": False, "schema": {"type": "string"},
                           "description": "next_cursor from the previous page."}},
            "responses": {"Error": _json({"$ref": "#/components/schemas/Error"}, "An error: a code and a message")},
            "schemas": {
                "Checkpoint": {
                    "type": "object",
                    "required": ["initiative_id", "size", "head", "signed_at", "key_id", "body", "signature"],
                    "properties": {"initiative_id": {"type": "integer"}, "size": {"type": "integer"},
                                   "head": {"type": "string", "description": "SHA-256 of entry `size`, hex"},
                                   "signed_at": {"type": "string", "format": "date-time"},
                                   "key_id": {"type": "string"},
                                   "body": {"type": "string", "description": "The exact text signed"},
                                   "signature": {"type": "string", "description": "Ed25519 over body, base64"}}},
                "Error": {"type": "object", "required": ["error"], "properties": {"error": {
                    "type": "object", "required": ["code", "message"],
                    "properties": {"code": {"type": "string"}, "message": {"type": "string"}}}}},
                "Officer": {"type": "object", "required": ["id", "name", "language", "timezone", "sees_all"],
                            "properties": {"id": {"type": "integer"}, "name": {"type": "string"},
                                           "language": {"type": "string"}, "timezone": {"type": "string"},
                                           "sees_all": {"type": "boolean"}}},
                "Initiative": {"type": "object",
                               "required": ["id", "name", "description", "phase", "partner", "timezone", "language",
                                            "networks", "listed", "created_at"],
                               "properties": {
                                   "id": {"type": "integer"}, "name": {"type": "string"},
                                   "description": {"type": "string"},
                                   "phase": {"enum": ["engage", "design", "build", "sustain"]},
                                   "partner": {"type": "string"}, "timezone": {"type": "string"},
                                   "language": {"type": "string"},
                                   "networks": {"type": "array", "items": {"type": "string"}},
                                   "listed": {"type": "boolean"},
                                   "created_at": {"type": "string", "format": "date-time"}}},
                "InitiativeChange": {"type": "object", "additionalProperties": False, "minProperties": 1,
                                     "properties": {"description": {"type": "string", "maxLength": 2000},
                                                    "phase": {"enum": ["engage", "design", "build", "sustain"]},
                                                    "partner": {"type": "string", "maxLength": 200}}},
                "Outcome": {"type": "object", "required": ["id", "kind", "initiative", "title", "result", "decided_at"],
                            "properties": {"id": {"type": "string"}, "kind": {"type": "string"},
                                           "initiative": {"type": "string"}, "title": {"type": "string"},
                                           "result": {"type": "object"},
                                           "decided_at": {"type": "string", "format": "date-time"}}},
                "Member": {"type": "object", "required": ["person", "team", "role", "joined_week"],
                           "properties": {"person": {"type": "string", "pattern": "^P-[a-z2-7]{8}$"},
                                          "team": {"enum": ["citizen", "public_administration", "nonprofit",
                                                            "forprofit"]},
                                          "role": {"enum": ["member", "organiser"]},
                                          "joined_week": {"type": "string", "pattern": "^[0-9]{4}-W[0-9]{2}$"}}},
                "ExportFile": {"type": "object", "required": ["name", "filename", "media_type", "title", "url"],
                               "properties": {"name": {"type": "string"}, "filename": {"type": "string"},
                                              "media_type": {"type": "string"}, "title": {"type": "string"},
                                              "url": {"type": "string"}}},
            },
        },
    }


__all__ = ["document"]
