"""Signing per Standard Webhooks: the bytes sent, and the signatures over them.

The envelope ``{id, type, createdAt, data}`` (:func:`linx_core.events.envelope`,
also what ``GET /v2/events`` lists) is sent as compact JSON with ``webhook-id``
(the event id, the same on every retry: the receiver's dedupe key),
``webhook-timestamp`` and ``webhook-signature`` (``v1,<base64 HMAC-SHA256>``;
during a secret rotation the previous secret signs too, space separated).
"""
import datetime as dt
import json

from standardwebhooks.webhooks import Webhook

from linx_core.events import envelope, iso

from .subscriptions import previous_secret_expires_at

__all__ = ["envelope", "iso", "payload", "signature_header", "signing_secrets", "wall_clock"]


def payload(event):
    """The envelope as compact JSON, exactly the bytes that are signed and sent."""
    return json.dumps(envelope(event), separators=(",", ":"))


def signing_secrets(rt, subscription):
    """The secrets that sign now: the current one, and the previous one during its grace period."""
    out = [rt.vault.unseal(subscription.sealed_secret)]
    if previous_secret_expires_at(subscription):
        out.append(rt.vault.unseal(subscription.sealed_previous_secret))
    return out


def signature_header(secrets_, msg_id, timestamp, body):
    """``webhook-signature``: one ``v1,<sig>`` per secret, space separated."""
    return " ".join(Webhook(secret).sign(msg_id, timestamp, body) for secret in secrets_)


def wall_clock():
    """Real time, for ``webhook-timestamp``: receivers check it against their own clocks,
    so it never follows an injected (sped-up or frozen) clock."""
    return dt.datetime.now(dt.UTC)

