"""Volunteers Interlinker: shifts with places, a fair waiting list, reminders, check-in and hours served."""

from interlinkers.volunteers._interlinker import Volunteers

__all__ = ["Volunteers"]
