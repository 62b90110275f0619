"""The SMS channel through Twilio's Python SDK, and Twilio's signed delivery-status callback.

Configuration (``LINX_TWILIO_*``): the account SID and auth token, and a
from-number or a Messaging Service SID (or both: Twilio then sends from the
number with the service's settings). Without them this plugin serves nothing
and the console channel takes SMS.

``LINX_TWILIO_API_URL`` points the SDK at another base URL than
``https://api.twilio.com`` (the tests run a fake Twilio API on loopback); the
request still goes through the SDK's own HTTP client.

Errors: a 4xx answer (21610 the recipient opted out, 21211 an invalid number,
and any other refusal) is permanent; 401 (wrong credentials: a configuration
fault an operator can fix while the retries run), 408, 429, 5xx and network
failures are temporary and honour ``Retry-After``. Delivery reports arrive at
``POST /callbacks/twilio/status`` (the ``StatusCallback`` of each message,
under ``LINX_PUBLIC_URL``), signed with the auth token. No full phone number and no link is
logged.
"""
import datetime as dt
import email.utils
import ipaddress
import logging
import re
import threading
from urllib.parse import urlsplit

from linx_core import clock, hookimpl
from linx_core.channels import ChannelError, Sent
from linx_core.errors import InvalidRequest, LinxError

log = logging.getLogger("linx.twilio")

TWILIO_API = "https://api.twilio.com"
STATUS_PATH = "/callbacks/twilio/status"
INBOUND_PATH = "/callbacks/twilio/inbound"  # the status callback's sibling: messages customers send back
OPTED_OUT = "21610"  # Twilio: the recipient replied STOP to this sender
STOP_WORDS = ("STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT")
START_WORDS = ("START", "UNSTOP", "YES")
REQUEST_TIMEOUT_SECONDS = 15.0
MAX_RETRY_AFTER_SECONDS = 24 * 3600
DELIVERY = {"delivered": "DELIVERED", "undelivered": "UNDELIVERED", "failed": "FAILED"}
PHONE = re.compile(r"\+?\d[\d ().-]{6,}\d")

_clients = threading.local()


def configured(settings):
    return bool(settings.twilio_account_sid and settings.twilio_auth_token
                and (settings.twilio_from_number or settings.twilio_messaging_service_sid))


def _http_client_class():
    from twilio.http.http_client import TwilioHttpClient

    class LinxTwilioHttpClient(TwilioHttpClient):
        """The SDK's HTTP client, redirected to ``base_url`` when one is set; keeps the last response."""

        def __init__(self, base_url="", **kwargs):
            super().__init__(**kwargs)
            self.base_url = (base_url or "").rstrip("/")
            self._local = threading.local()

        def request(self, method, url, *args, **kwargs):
            if self.base_url and url.startswith(TWILIO_API):
                url = self.base_url + url[len(TWILIO_API):]
            self._local.response = None
            response = super().request(method, url, *args, **kwargs)
            self._local.response = response
            return response

        @property
        def last_headers(self):
            response = getattr(self._local, "response", None)
            return (response.headers if response is not None else None) or {}

    return LinxTwilioHttpClient


def make_client(settings):
    """A ``twilio.rest.Client`` for ``settings``, one per thread and configuration."""
    from twilio.rest import Client

    key = (settings.twilio_account_sid, settings.twilio_auth_token, settings.twilio_api_url)
    cache = getattr(_clients, "by_key", None)
    if cache is None:
        cache = _clients.by_key = {}
    client = cache.get(key)
    if client is None:
        http_client = _http_client_class()(base_url=settings.twilio_api_url, timeout=REQUEST_TIMEOUT_SECONDS)
        client = cache[key] = Client(settings.twilio_account_sid, settings.twilio_auth_token,
                                     http_client=http_client)
    return client


class TwilioChannel:
    name = "twilio"

    def __init__(self, rt):
        self.rt = rt
        self.settings = rt.settings

    @property
    def sender(self):
        """Who sends, for the senders' pace (linx_core.services.throttle): the messaging service, else the number."""
        return self.settings.twilio_messaging_service_sid or self.settings.twilio_from_number

    def status_callback_url(self):
        """Where Twilio reports delivery; None when the public URL is one Twilio cannot reach (loopback, LAN)."""
        base = self.settings.public_url.rstrip("/")
        parts = urlsplit(base)
        if parts.scheme not in ("http", "https") or _unreachable(parts.hostname or ""):
            return None
        return base + STATUS_PATH

    def send(self, message):
        if not message.to:
            raise ChannelError("NO_RECIPIENT", "the workflow has no phone number", permanent=True)
        params = {"to": message.to, "body": message.text}
        callback = self.status_callback_url()
        if callback:
            params["status_callback"] = callback
        own = message.meta.get("sender") or {}  # the business's own sender (`linx business sender`), whole
        from_number = own.get("from") if own else self.settings.twilio_from_number
        service_sid = own.get("messagingServiceSid") if own else self.settings.twilio_messaging_service_sid
        if from_number:
            params["from_"] = from_number
        if service_sid:
            params["messaging_service_sid"] = service_sid
        client = make_client(self.settings)
        try:
            created = client.messages.create(**params)
        except Exception as exc:  # noqa: BLE001 - every failure becomes a ChannelError below
            error = self._channel_error(exc, client, message.to)
            log.warning("sms %s to %s refused by twilio (%s): %s %s", message.notification_id, mask(message.to),
                        "permanent" if error.permanent else "temporary", error.code, error.reason)
            raise error from None
        log.info("sms %s to %s accepted by twilio as %s", message.notification_id, mask(message.to), created.sid)
        return Sent(provider="twilio", provider_id=created.sid, status="SENT")

    def _channel_error(self, exc, client, to):
        from requests import RequestException
        from twilio.base.exceptions import TwilioException, TwilioRestException, TwilioServiceException

        if isinstance(exc, (TwilioRestException, TwilioServiceException)):
            status = int(exc.status or 0)
            if isinstance(exc, TwilioRestException):
                reason = str(exc.msg or "")
                if reason.startswith("Unable to create record"):  # the SDK's prefix to Twilio's own message
                    reason = reason[len("Unable to create record"):].lstrip(": ")
            else:
                reason = exc.detail or exc.title or ""
            code = exc.code or status
            reason = scrub(reason or f"HTTP {status} from Twilio", to)
            # 401 is our configuration (a wrong token), not the customer's: retry, leaving time to fix it
            if status in (0, 401, 408, 429) or status >= 500:
                headers = getattr(client.http_client, "last_headers", {})
                return ChannelError(code, reason, permanent=False, retry_after=retry_after(headers))
            error = ChannelError(code, reason, permanent=True)
            error.opted_out = str(code) == OPTED_OUT
            return error
        if isinstance(exc, RequestException):
            return ChannelError("NETWORK", f"{type(exc).__name__} talking to Twilio", permanent=False)
        if isinstance(exc, (TwilioException, OSError)):
            return ChannelError("TWILIO_CLIENT", scrub(f"{type(exc).__name__}: {exc}", to), permanent=False)
        raise exc


def _unreachable(host):
    host = host.lower().rstrip(".")
    if not host or host == "localhost" or host.endswith((".localhost", ".local", ".internal")):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_private or address.is_link_local or address.is_unspecified


def retry_after(headers):
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date), or None."""
    raw = None
    for name, value in (headers or {}).items():
        if name.lower() == "retry-after":
            raw = str(value).strip()
            break
    if not raw:
        return None
    if raw.isdigit():
        seconds = int(raw)
    else:
        try:
            when = email.utils.parsedate_to_datetime(raw)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.UTC)
        seconds = int((when - clock.now()).total_seconds() + 0.999)
    return max(0, min(seconds, MAX_RETRY_AFTER_SECONDS))


def mask(number):
    """``+1647…67``: enough to tell numbers apart in a log, not enough to text one."""
    return number[:5] + "…" + number[-2:] if number and len(number) > 8 else "…"


def scrub(text, to=""):
    """``text`` with phone numbers masked (Twilio's messages quote the number)."""
    if to:
        text = text.replace(to, mask(to))
    return PHONE.sub(lambda m: mask(m.group(0)), text)


@hookimpl
def linx_channel(name, rt):
    if name == "SMS" and configured(rt.settings):
        return TwilioChannel(rt)
    return None


@hookimpl
def linx_register_blueprints(rt):
    settings = rt.settings
    if not (settings.twilio_account_sid and settings.twilio_auth_token):
        return []
    from flask import Blueprint, request
    from twilio.request_validator import RequestValidator

    from linx_core.services import notifications, opt_outs

    bp = Blueprint("twilio_callbacks", __name__)
    bp.csrf_exempt = True  # Twilio signs each callback; no browser posts here
    validator = RequestValidator(settings.twilio_auth_token)

    def check_signature():
        signature = request.headers.get("X-Twilio-Signature", "")
        url = settings.public_url.rstrip("/") + request.path
        if request.query_string:
            url += "?" + request.query_string.decode("latin-1")
        if not signature or not validator.validate(url, request.form, signature):
            log.warning("twilio callback refused: %s signature", "bad" if signature else "no")
            raise LinxError("The X-Twilio-Signature header is missing or does not match.",
                            "TWILIO_SIGNATURE_INVALID", 403)

    @bp.post(INBOUND_PATH)
    def inbound():
        """A customer's reply: STOP (and its synonyms) opts the number out, START opts it back in."""
        check_signature()
        word = (request.form.get("Body") or "").strip().upper()
        number = request.form.get("From") or ""
        if word in STOP_WORDS:
            opt_outs.stop(rt, "SMS", number, "the customer replied " + word)
        elif word in START_WORDS:
            opt_outs.start(rt, "SMS", number)
        return '<?xml version="1.0" encoding="UTF-8"?><Response></Response>', 200, {"Content-Type": "text/xml"}

    @bp.post(STATUS_PATH)
    def status_callback():
        check_signature()
        status = DELIVERY.get((request.form.get("MessageStatus") or "").lower())
        if status is None:  # queued, sending, sent, ...: nothing to record
            return "", 204
        sid = request.form.get("MessageSid") or request.form.get("SmsSid")
        if not sid:
            raise InvalidRequest("MessageSid is required.", code="TWILIO_CALLBACK_INVALID")
        error_code = request.form.get("ErrorCode") or None
        notification = notifications.record_delivery(rt, "twilio", sid, status, error_code)
        log.info("twilio status %s for %s (%s)%s", status, sid,
                 f"notification {notification.id}" if notification is not None else "unknown message",
                 f", error {error_code}" if error_code else "")
        return "", 204

    return [bp]
