"""The console channel: the fallback for every channel when nothing else is configured.

In development (and tests) it logs each message and keeps it in an inbox file
under the instance folder that ``/dev/messages`` (HTML) and ``/dev/messages.json``
show, so a developer can read messages and click links; the inbox exists only
when ``LINX_ENV=development``. Elsewhere it sends nothing and says so: the
notification FAILS with NO_CHANNEL_CONFIGURED instead of claiming a delivery.
"""
import json
import logging
import os
import re
import threading
import uuid
from datetime import UTC, datetime
from pathlib import Path

from linx_core import clock, hookimpl
from linx_core.channels import ChannelError, Sent
from linx_core.text import escape_controls

log = logging.getLogger("linx.console")
_lock = threading.Lock()
LINK = re.compile(r"https?://\S+/l/[A-Za-z0-9_-]+")  # what the inbox page turns into "Open the link"


def inbox_path(rt):
    return Path(rt.settings.instance_path) / "dev-messages.jsonl"


class ConsoleChannel:
    name = "console"

    def __init__(self, rt):
        self.rt = rt

    def send(self, message):
        if not (self.rt.settings.development or self.rt.settings.env == "test"):
            log.error("no %s channel is configured: message %s to %s not sent", message.channel,
                      message.notification_id, _mask(message.to))
            raise ChannelError("NO_CHANNEL_CONFIGURED", f"no {message.channel} channel is configured (set the "
                               f"{'LINX_TWILIO_*' if message.channel == 'SMS' else 'LINX_SMTP_*'} settings)",
                               permanent=True)
        message_id = "console-" + uuid.uuid4().hex
        # one line whatever the text holds (its paragraphs, or a control character from before the API refused
        # them), under any handler, not only the one linx_core.logging_setup installs
        log.info("message %s to %s via %s (%s): %s", message_id, escape_controls(_mask(message.to)), message.channel,
                 message.origin, escape_controls(message.text))
        record = {"id": message_id, "at": clock.now().isoformat(), "channel": message.channel,
                  "to": message.to, "subject": message.subject, "text": message.text,
                  "origin": message.origin, "workflowId": message.workflow_id}
        path = inbox_path(self.rt)
        path.parent.mkdir(parents=True, exist_ok=True)
        with _lock, open(path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(record) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        return Sent(provider="console", provider_id=message_id, status="DELIVERED")


def read_inbox(rt, limit=200):
    path = inbox_path(rt)
    if not path.exists():
        return []
    out = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            try:
                out.append(json.loads(line))
            except ValueError:
                continue
    return list(reversed(out))[:limit]


def forget(rt, workflow_ids):
    """Drop the inbox's messages of these workflows (an erased customer's: ``customer.erased``)."""
    path = inbox_path(rt)
    if not workflow_ids or not path.exists():
        return
    gone = {str(w) for w in workflow_ids}
    with _lock:
        with open(path, encoding="utf-8") as fh:
            lines = fh.readlines()
        kept = [line for line in lines if _workflow_of(line) not in gone]
        if len(kept) != len(lines):
            tmp = path.with_suffix(".tmp")
            tmp.write_text("".join(kept), encoding="utf-8")
            os.replace(tmp, path)


def _workflow_of(line):
    try:
        return str(json.loads(line).get("workflowId"))
    except (ValueError, AttributeError):
        return None


@hookimpl
def linx_event_recorded(rt, event):
    """An erased customer's messages leave the inbox too (a file: it goes at once, even should the erasure's
    transaction then fail: the inbox is a development aid, not a record)."""
    if event.type == "customer.erased":
        forget(rt, (event.data or {}).get("workflowIds") or [])


def _mask(to):
    return to[:4] + "…" + to[-2:] if to and len(to) > 6 else "…"


@hookimpl(trylast=True)
def linx_channel(name, rt):
    return ConsoleChannel(rt)


@hookimpl
def linx_register_blueprints(rt):
    if not rt.settings.development:
        return []
    from flask import Blueprint, Response, jsonify, render_template_string

    bp = Blueprint("dev_messages", __name__)

    @bp.get("/dev/messages.json")
    def messages_json():
        return jsonify({"messages": read_inbox(rt)})

    @bp.get("/dev/messages")
    def messages_html():
        return render_template_string(INBOX, messages=[dict(m, when=_when(m.get("at"))) for m in read_inbox(rt)],
                                      link=LINK)

    @bp.get("/dev/messages.css")
    def messages_css():  # a file of its own: the Content-Security-Policy (default-src 'self') takes no inline style
        return Response(INBOX_CSS, mimetype="text/css")

    return [bp]


def _when(at):
    """A message's time as people read it (``2026-12-01 05:31:33 UTC``), from its ISO form; the ISO form unchanged
    when it is not one."""

    try:
        moment = datetime.fromisoformat(at)
    except (TypeError, ValueError):
        return at or ""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S") + (" UTC" if moment.tzinfo is not None else "")


# Mobile-first: one column that fits a 390 px wide phone; long words (links, ids) wrap instead of scrolling.
INBOX_CSS = """*, *::before, *::after { box-sizing: border-box; }
body { font: 16px/1.5 system-ui, sans-serif; margin: 0; color: #1b1b1f; background: #fafafa; }
main { max-width: 42rem; margin: 0 auto; padding: 0.75rem; }
h1 { font-size: 1.4rem; margin: 0.5rem 0; }
h2 { font-size: 1rem; margin: 0 0 0.25rem; }
article { background: #fff; border: 1px solid #ddd; border-radius: 6px; padding: 0.6rem 0.8rem; margin: 0.75rem 0; }
dl { display: grid; grid-template-columns: max-content minmax(0, 1fr); gap: 0 0.6rem; margin: 0.25rem 0; }
dt { color: #555; }
dd { margin: 0; min-width: 0; }
pre { white-space: pre-wrap; overflow-wrap: anywhere; font: 0.95rem/1.45 ui-monospace, monospace;
      background: #f1f1f4; padding: 0.5rem; border-radius: 4px; margin: 0.5rem 0; }
code, a, h2, dd { overflow-wrap: anywhere; }
a.open { display: inline-block; padding: 0.5rem 0.9rem; border-radius: 4px; background: #0b57d0; color: #fff;
         text-decoration: none; }
"""

INBOX = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>LinX developer inbox</title>
<link rel="stylesheet" href="/dev/messages.css"></head>
<body><main><h1>Developer inbox</h1><p>Messages the console channel would have sent (development only), newest
first. Machine-readable: <a href="/dev/messages.json">/dev/messages.json</a>.</p>
{% for m in messages %}<article><h2>{{ m.channel }} to {{ m.to }}</h2>
<dl><dt>Workflow</dt><dd><code class="workflow">{{ m.workflowId or "none" }}</code></dd>
<dt>Time</dt><dd><time datetime="{{ m.at }}">{{ m.when }}</time></dd>
<dt>Kind</dt><dd>{{ m.origin }}</dd></dl>
{% if m.subject %}<p><strong>{{ m.subject }}</strong></p>{% endif %}<pre>{{ m.text }}</pre>
{% for url in link.findall(m.text) %}<p><a class="open" href="{{ url }}">Open the link</a></p>{% endfor %}</article>
{% else %}<p>No messages yet.</p>{% endfor %}</main></body></html>"""
