"""Scheduling Interlinker: find a date, confirm the event, send the invite, remind everyone."""

from interlinkers.scheduling._interlinker import Scheduling

__all__ = ["Scheduling"]
