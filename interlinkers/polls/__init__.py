"""Polls and decisions Interlinker."""

from interlinkers.polls._interlinker import Polls

__all__ = ["Polls"]
