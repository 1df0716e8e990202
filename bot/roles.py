"""Roles within an initiative, ordered so that a higher role includes the rights of the lower ones."""

from __future__ import annotations

import enum


class Role(enum.IntEnum):
    MEMBER = 10
    ORGANISER = 50
