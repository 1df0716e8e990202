"""Citizen reports Interlinker: a photo and a place from the chat become a service request whose status
comes back to the chat."""

from interlinkers.reports._interlinker import Reports

__all__ = ["Reports"]
