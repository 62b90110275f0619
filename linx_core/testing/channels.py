"""The contract every notification channel keeps, as a pytest class to subclass.

A channel plugin proves it keeps the ``linx_channel`` contract by running this
suite against its own far end (a fake provider API, a local SMTP server, ...)::

    import pytest
    from linx_core.testing.channels import ChannelContract, Received

    class TestMyChannel(ChannelContract):
        channel_name = "SMS"             # the workflow channel the messages are for

        @pytest.fixture
        def channel(self, ...):          # the channel under test, as the plugin's hook returns it
            ...

        @pytest.fixture
        def sent_messages(self, ...):    # a callable: what the far end has received so far
            return lambda: [Received(to=..., text=...), ...]

        @pytest.fixture
        def recipient(self):             # an address the far end accepts
            return "+15005550006"

        @pytest.fixture
        def refuse_next(self, ...):      # optional: make the far end refuse the next message for good;
            def refuse():                # returns the recipient to use. Without it, that test skips.
                ...
            return refuse

The contract: a message reaches its recipient with its text; the returned
:class:`~linx_core.channels.Sent` names the provider and the provider's id (a
different one per message); a permanent refusal raises
:class:`~linx_core.channels.ChannelError` with ``permanent=True``.
"""
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import pytest

from linx_core.channels import Channel, ChannelError, Message, Sent


@dataclass(frozen=True)
class Received:
    """One message as the far end got it."""

    to: str
    text: str


#: what the far end received: :class:`Received`, or ``{"to", "text"}`` dicts, or ``(to, text)`` pairs
SentMessages = Callable[[], Iterable[Any]]


def _received(item: Any) -> Received:
    if isinstance(item, Received):
        return item
    if isinstance(item, dict):
        return Received(to=item["to"], text=item["text"])
    return Received(to=item[0], text=item[1])


class ChannelContract:
    """Subclass it (as ``Test...``) and provide the fixtures named in the module's docstring."""

    channel_name = "SMS"

    @pytest.fixture
    def recipient(self) -> str:
        return "+15005550006" if self.channel_name == "SMS" else "customer@example.com"

    @pytest.fixture
    def refuse_next(self) -> Callable[[], str]:
        pytest.skip("this channel's far end cannot be told to refuse a message")

    def make_message(self, to: str, **overrides: Any) -> Message:
        """A message like the ones LinX sends: a few words and a link."""
        marker = uuid.uuid4().hex[:12]
        values: dict[str, Any] = dict(
            channel=self.channel_name, to=to,
            text=f"Contract Co: contract check {marker}. Continue securely: https://linx.example/l/{marker}",
            subject=f"Contract Co: contract check {marker}",
            html=f'<p>Contract check {marker}. <a href="https://linx.example/l/{marker}">Continue</a></p>',
            workflow_id=str(uuid.uuid4()), notification_id=str(uuid.uuid4()), origin="INITIAL",
            business="Contract Co",
        )
        values.update(overrides)
        return Message(**values)

    def received(self, sent_messages: SentMessages) -> list[Received]:
        return [_received(item) for item in sent_messages()]

    # -- the contract --------------------------------------------------------

    def test_channel_has_a_name(self, channel: Channel) -> None:
        assert isinstance(channel.name, str) and channel.name

    def test_message_reaches_its_recipient_with_its_text(self, channel: Channel, sent_messages: SentMessages,
                                                         recipient: str) -> None:
        before = len(self.received(sent_messages))
        message = self.make_message(recipient)
        channel.send(message)
        new = self.received(sent_messages)[before:]
        assert [(r.to, r.text.strip()) for r in new] == [(recipient, message.text.strip())]

    def test_sent_names_the_provider_and_its_id(self, channel: Channel, recipient: str) -> None:
        sent = channel.send(self.make_message(recipient))
        assert isinstance(sent, Sent)
        assert isinstance(sent.provider, str) and sent.provider
        assert isinstance(sent.provider_id, str) and sent.provider_id
        assert len(sent.provider_id) <= 64  # the notification row's column
        assert sent.status in ("SENT", "DELIVERED")

    def test_each_message_gets_its_own_provider_id(self, channel: Channel, recipient: str) -> None:
        first = channel.send(self.make_message(recipient))
        second = channel.send(self.make_message(recipient))
        assert first.provider_id != second.provider_id

    def test_a_permanent_refusal_raises_a_permanent_channel_error(self, channel: Channel,
                                                                  refuse_next: Callable[[], str],
                                                                  sent_messages: SentMessages) -> None:
        to = refuse_next()
        message = self.make_message(to)
        with pytest.raises(ChannelError) as caught:
            channel.send(message)
        assert caught.value.permanent is True
        assert caught.value.code and caught.value.reason
        assert all(r.text.strip() != message.text.strip() for r in self.received(sent_messages))
