"""What a notification channel receives and answers (see ``linx_channel`` in hookspecs)."""
from dataclasses import dataclass, field
from typing import Any, Protocol

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
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Sent:
    provider: str
    provider_id: str | None = None
    status: str = "SENT"  # SENT, or DELIVERED where the provider knows at once


class Channel(Protocol):
    """What ``linx_channel`` returns: ``send`` answers :class:`Sent` or raises :class:`ChannelError`."""

    name: str

    def send(self, message: Message) -> Sent: ...


class ChannelError(ProviderError):
    """A send that did not happen. ``permanent`` errors fail the notification; others are retried.

    ``retry_after`` (seconds) is honoured when the provider gave one. ``opted_out``: the recipient told the
    provider to send no more (Twilio's 21610): LinX records it and sends that business's messages no more.
    """

    opted_out = False
