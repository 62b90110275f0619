"""The EMAIL channel through SMTP (smtplib).

Configuration (``LINX_SMTP_*``): host, port (587 by default), STARTTLS on or
off, an optional username and password, and the From address (``Name <addr>``
or a bare address). Port 465 means TLS from the first byte (SMTPS). Without a
host and a From address this plugin serves nothing and the console channel
takes EMAIL.

Each message is one ``EmailMessage``: the text part, and the HTML part as an
alternative when there is one. A refusal with a 5xx reply (an unknown mailbox,
a rejected sender or body) is permanent; 4xx replies (greylisting, a full
mailbox, a busy server), disconnects, timeouts and network errors are
temporary. A failed login is temporary too: it is a configuration fault, and
the retries leave an operator time to fix it before customers' messages fail.
"""
import email.utils
import logging
import smtplib
import ssl
import uuid
from email.message import EmailMessage

from linx_core import clock, hookimpl
from linx_core.channels import ChannelError, Sent

log = logging.getLogger("linx.smtp")

TIMEOUT_SECONDS = 30.0
MAX_ID_LENGTH = 64  # the notification row keeps the Message-ID as provider id


def configured(settings):
    return bool(settings.smtp_host and settings.smtp_from)


class SmtpChannel:
    name = "smtp"

    def __init__(self, rt):
        self.rt = rt
        self.settings = rt.settings

    @property
    def sender(self):
        """Who sends, for the senders' pace (linx_core.services.throttle): the account on its server."""
        return f"{self.settings.smtp_username or self.settings.smtp_from}@{self.settings.smtp_host}"

    def build(self, message):
        """The ``EmailMessage`` for ``message``; raises a permanent ChannelError for an unusable address."""
        settings = self.settings
        msg = EmailMessage()
        try:
            msg["From"] = settings.smtp_from
            msg["To"] = message.to
            msg["Subject"] = " ".join((message.subject or message.business or "").split())
        except (ValueError, TypeError) as exc:
            raise ChannelError("INVALID_ADDRESS", f"the address cannot be used: {exc}", permanent=True) from None
        msg["Date"] = email.utils.format_datetime(clock.now())
        msg["Message-ID"] = message_id(settings.smtp_from)
        msg["Auto-Submitted"] = "auto-generated"
        msg.set_content(message.text)
        if message.html:
            msg.add_alternative(_html_document(message), subtype="html")
        return msg

    def send(self, message):
        if not message.to:
            raise ChannelError("NO_RECIPIENT", "the workflow has no email address", permanent=True)
        msg = self.build(message)
        try:
            smtp = self._connect()
            try:
                refused = smtp.send_message(msg)
            finally:
                _quit(smtp)  # the message is handed over: a fault saying goodbye is no failure
        except smtplib.SMTPRecipientsRefused as exc:
            raise self._log(message, _refused(exc.recipients)) from None
        except smtplib.SMTPAuthenticationError as exc:
            raise self._log(message, ChannelError(
                f"SMTP_{exc.smtp_code}", f"the SMTP login was refused: {_text(exc.smtp_error)}",
                permanent=False)) from None
        except smtplib.SMTPResponseException as exc:  # sender refused, data refused, HELO refused
            raise self._log(message, ChannelError(
                f"SMTP_{exc.smtp_code}", _text(exc.smtp_error) or type(exc).__name__,
                permanent=500 <= exc.smtp_code < 600)) from None
        except smtplib.SMTPNotSupportedError as exc:
            raise self._log(message, ChannelError("SMTP_NOT_SUPPORTED", str(exc), permanent=False)) from None
        except smtplib.SMTPServerDisconnected as exc:
            raise self._log(message, ChannelError("SMTP_DISCONNECTED", str(exc) or "the server hung up",
                                                  permanent=False)) from None
        except TimeoutError:
            raise self._log(message, ChannelError("SMTP_TIMEOUT", "the SMTP server did not answer in time",
                                                  permanent=False)) from None
        except (smtplib.SMTPException, OSError) as exc:  # connection refused, TLS failure, DNS, ...
            raise self._log(message, ChannelError("SMTP_UNAVAILABLE", f"{type(exc).__name__}: {exc}",
                                                  permanent=False)) from None
        if refused:  # only reachable with several recipients; kept for completeness
            raise self._log(message, _refused(refused))
        log.info("email %s to %s accepted by %s as %s", message.notification_id, mask(message.to),
                 self.settings.smtp_host, msg["Message-ID"])
        return Sent(provider="smtp", provider_id=msg["Message-ID"], status="SENT")

    def _connect(self):
        settings = self.settings
        context = ssl.create_default_context()
        if settings.smtp_port == 465:
            smtp = smtplib.SMTP_SSL(settings.smtp_host, settings.smtp_port, timeout=TIMEOUT_SECONDS, context=context)
        else:
            smtp = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=TIMEOUT_SECONDS)
        try:
            smtp.ehlo()
            if settings.smtp_starttls and settings.smtp_port != 465:
                smtp.starttls(context=context)
                smtp.ehlo()
            if settings.smtp_username:
                smtp.login(settings.smtp_username, settings.smtp_password)
        except BaseException:
            smtp.close()
            raise
        return smtp

    def _log(self, message, error):
        log.warning("email %s to %s not sent (%s): %s %s", message.notification_id, mask(message.to),
                    "permanent" if error.permanent else "temporary", error.code, error.reason)
        return error


def _quit(smtp):
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        smtp.close()


def _refused(recipients):
    """A ChannelError for refused recipients: permanent unless every refusal was a 4xx."""
    codes = [code for code, _ in recipients.values()]
    worst = max(codes) if codes else 550
    reasons = "; ".join(_text(text) for _, text in recipients.values())
    return ChannelError(f"SMTP_{worst}", f"the recipient was refused: {reasons}".strip(),
                        permanent=not all(400 <= code < 500 for code in codes))


def _text(value):
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value or "")


def _html_document(message):
    from html import escape

    return ('<!doctype html><html lang="en"><head><meta charset="utf-8">'
            f"<title>{escape(message.subject or '')}</title></head><body>{message.html}</body></html>")


def message_id(from_address):
    """A unique ``<id@domain>``, short enough to be kept as the provider id."""
    address = email.utils.parseaddr(from_address)[1]
    domain = address.rpartition("@")[2] or "linx.invalid"
    value = f"<{uuid.uuid4().hex}@{domain}>"
    return value if len(value) <= MAX_ID_LENGTH else f"<{uuid.uuid4().hex}@linx.invalid>"


def mask(address):
    """``j…@example.com``: the domain and the first letter, not the mailbox."""
    local, at, domain = (address or "").rpartition("@")
    return f"{local[:1]}…@{domain}" if at else "…"


@hookimpl
def linx_channel(name, rt):
    if name == "EMAIL" and configured(rt.settings):
        return SmtpChannel(rt)
    return None
