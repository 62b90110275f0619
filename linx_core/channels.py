"""What a notification channel receives and answers (see ``linx_channel`` in hookspecs)."""
from dataclasses import dataclass, field
from typing import Optional

from .errors import ProviderError


@dataclass(frozen=True)
class Message:
    """One message to one customer. ``text`` is the SMS body or the email's text part."""

    channel: str
    to: str
    text: str
    subject: str = ""
    html: str = ""
    workflow_id: str = ""
    notification_id: str = ""
    origin: str = ""
    business: str = ""
    meta: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Sent:
    provider: str
    provider_id: Optional[str] = None
    status: str = "SENT"  # SENT, or DELIVERED where the provider knows at once


class ChannelError(ProviderError):
    """A send that did not happen. ``permanent`` errors fail the notification; others are retried.

    ``retry_after`` (seconds) is honoured when the provider gave one.
    """
