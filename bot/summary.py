"""PA-facing summaries of outcomes: readable text in the officer's language, JSON, or CSV."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from babel.lists import format_list

from bot.i18n import _, current_locale, format_datetime, ngettext
from bot.interlinker import discover

FORMATS = ("text", "json", "csv")
CSV_COLUMNS = ("id", "initiative", "kind", "title", "decided_at_utc", "option", "votes", "total_votes", "winner",
               "anonymous", "closed_by")


def render(outcomes: Sequence[dict[str, Any]], fmt: str, tz: ZoneInfo) -> str:
    if fmt == "json":
        return json.dumps(list(outcomes), ensure_ascii=False, indent=2)
    if fmt == "csv":
        return _csv(outcomes)
    return _text(outcomes, tz)


def _csv(outcomes: Sequence[dict[str, Any]]) -> str:
    """One row per option, so a spreadsheet can sum and chart votes directly."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")  # RFC 4180: a CR or LF inside a cell is then quoted
    writer.writerow(CSV_COLUMNS)
    for outcome in outcomes:
        result = outcome.get("result", {})
        base = [outcome["id"], outcome["initiative"], outcome["kind"], outcome["title"], outcome["decided_at"]]
        after = [result.get("total_votes", ""), " / ".join(result.get("winners", [])),
                 {True: "yes", False: "no"}.get(result.get("anonymous"), ""), result.get("closed_by", "")]
        options = result.get("options") or [{"label": "", "votes": ""}]
        for option in options:
            writer.writerow([spreadsheet_safe(cell)
                             for cell in (*base, option.get("label", ""), option.get("votes", ""), *after)])
    return buffer.getvalue()


def spreadsheet_safe(cell: object) -> object:
    """A text cell a spreadsheet would run as a formula (it starts with =, +, -, @, a tab or a carriage
    return: OWASP's CSV injection list) gets a leading apostrophe; numbers stay numbers. Every CSV we
    write passes its cells through this: poll questions and options are typed by anyone."""
    if isinstance(cell, str) and cell.startswith(("=", "+", "-", "@", "\t", "\r")):
        return "'" + cell
    return cell


def _text(outcomes: Sequence[dict[str, Any]], tz: ZoneInfo) -> str:
    if not outcomes:
        return _("No outcomes have been recorded yet.")
    blocks = []
    for outcome in outcomes:
        # Local time, with its zone named: the CSV's times are UTC, and says so in its header.
        when = f"{format_datetime(datetime.fromisoformat(outcome['decided_at']), tz, 'medium')} ({tz.key})"
        result = outcome.get("result", {})
        described = next((found for cls in discover()
                          if (found := cls.describe_outcome(outcome["kind"], result, tz)) is not None), None)
        heading = described.heading if described else _("{initiative} — decided on {when}")
        lines = [heading.format(initiative=outcome["initiative"], when=when), f"  {outcome['title']}"]
        if described is not None:
            lines.extend(f"  {fact}" for fact in described.facts)
        for option in result.get("options", []):
            lines.append(f"    • {option['label']}: {_votes(int(option['votes']))}")
        if "total_votes" in result:
            facts = [_("total: {votes}").format(votes=_votes(int(result["total_votes"])))]
            winners = result.get("winners", [])
            if len(winners) == 1:
                facts.append(_("winner: {option}").format(option=winners[0]))
            elif winners:
                facts.append(_("tie: {options}").format(options=format_list(winners, locale=current_locale())))
            outcome_words = {"no_quorum": _("no quorum"), "passed": _("proposal agreed"),
                             "blocked": _("proposal blocked"), "rejected": _("proposal not agreed")}
            if result.get("outcome") in outcome_words:
                facts.append(outcome_words[result["outcome"]])
            if result.get("anonymous"):
                facts.append(_("anonymous"))
            if result.get("closed_by") == "deadline":
                facts.append(_("closed at its deadline"))
            elif result.get("closed_by") == "hand":
                facts.append(_("closed by hand"))
            lines.append("  " + " · ".join(facts))
            if result.get("statement"):
                lines.append("  " + _("Outcome: {statement}").format(statement=result["statement"]))
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def _votes(count: int) -> str:
    return ngettext("{count} vote", "{count} votes", count).format(count=count)
