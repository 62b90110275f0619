"""Ids as they arrive from outside (a path, a query string, a job's payload)."""
from __future__ import annotations

import uuid


def as_uuid(value: object) -> uuid.UUID | None:
    """``value`` as a UUID, or ``None`` when it is not one (another type, a malformed text)."""
    try:
        return uuid.UUID(str(value))
    except (ValueError, TypeError, AttributeError):
        return None


__all__ = ["as_uuid"]
