"""A fake Twilio REST API on loopback, for the real ``twilio`` SDK to talk to.

It serves ``POST /2010-04-01/Accounts/<sid>/Messages.json`` as Twilio does
(form-encoded request, Basic auth with the account SID and auth token, a JSON
message resource with 201), records every request, and answers from a script
when one is queued: ``reply(201)``, ``reply(500)``, ``reply(429, retry_after=30)``
or ``error(400, 21610, "...")`` with Twilio's JSON error body. With nothing
queued it accepts the message.

    api = FakeTwilioApi("AC...", "token").start()
    settings: twilio_api_url=api.url
    api.stop()
"""
import datetime as dt
import email.utils
import json
import threading
import uuid
from collections import deque
from dataclasses import dataclass, field

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

MESSAGES_PATH = "/2010-04-01/Accounts/{sid}/Messages.json"


@dataclass
class Recorded:
    method: str
    path: str
    form: dict
    auth: tuple
    headers: dict = field(default_factory=dict)


@dataclass
class Scripted:
    status: int
    body: object = None  # dict (sent as JSON), str, or None for Twilio's own
    headers: dict = field(default_factory=dict)


class FakeTwilioApi:
    def __init__(self, account_sid, auth_token):
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.requests = []
        self.messages = []  # the message resources created, as returned
        self._script = deque()
        self._lock = threading.Lock()
        self._server = None
        self._thread = None

    # -- control -----------------------------------------------------------

    @property
    def url(self):
        return f"http://127.0.0.1:{self._server.server_port}"

    def start(self):
        self._server = make_server("127.0.0.1", 0, self.wsgi, threaded=True)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="fake-twilio", daemon=True)
        self._thread.start()
        return self

    def stop(self):
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(5)
            self._server = None

    def reply(self, status, body=None, retry_after=None, headers=None):
        """Queue the answer to the next request."""
        headers = dict(headers or {})
        if retry_after is not None:
            headers["Retry-After"] = str(retry_after)
        with self._lock:
            self._script.append(Scripted(status, body, headers))
        return self

    def error(self, status, code, message):
        """Queue one of Twilio's error answers: ``{code, message, more_info, status}``."""
        return self.reply(status, {"code": code, "message": message,
                                   "more_info": f"https://www.twilio.com/docs/errors/{code}", "status": status})

    def received(self):
        """``(To, Body)`` of each accepted message."""
        return [(m["to"], m["body"]) for m in self.messages]

    # -- the API -----------------------------------------------------------

    def wsgi(self, environ, start_response):
        request = Request(environ)
        response = self.handle(request)
        return response(environ, start_response)

    def handle(self, request):
        auth = request.authorization
        record = Recorded(request.method, request.path, request.form.to_dict(flat=True),
                          (auth.username, auth.password) if auth else None, dict(request.headers))
        with self._lock:
            self.requests.append(record)
            scripted = self._script.popleft() if self._script else None
        expected = MESSAGES_PATH.format(sid=self.account_sid)
        if request.method != "POST" or request.path != expected:
            return _json(404, {"code": 20404, "message": f"The requested resource {request.path} was not found",
                               "more_info": "https://www.twilio.com/docs/errors/20404", "status": 404})
        if record.auth != (self.account_sid, self.auth_token):
            return _json(401, {"code": 20003, "message": "Authenticate",
                               "more_info": "https://www.twilio.com/docs/errors/20003", "status": 401})
        if scripted is not None and scripted.status != 201:
            if scripted.body is None:
                return Response("Internal Server Error" if scripted.status >= 500 else "", scripted.status,
                                headers=scripted.headers, content_type="text/plain")
            return _json(scripted.status, scripted.body, scripted.headers)
        form = record.form
        missing = [(name, code) for name, code in (("To", 21604), ("Body", 21602)) if not form.get(name)]
        if not (form.get("From") or form.get("MessagingServiceSid")):
            missing.append(("From", 21603))
        if missing:
            name, code = missing[0]
            return _json(400, {"code": code, "message": f"A '{name}' parameter is required.",
                               "more_info": f"https://www.twilio.com/docs/errors/{code}", "status": 400})
        sid = "SM" + uuid.uuid4().hex
        now = email.utils.format_datetime(dt.datetime.now(dt.UTC))
        resource = {
            "account_sid": self.account_sid, "api_version": "2010-04-01", "body": form["Body"],
            "date_created": now, "date_sent": None, "date_updated": now, "direction": "outbound-api",
            "error_code": None, "error_message": None, "from": form.get("From"),
            "messaging_service_sid": form.get("MessagingServiceSid"), "num_media": "0", "num_segments": "1",
            "price": None, "price_unit": "USD", "sid": sid, "status": "queued", "to": form["To"],
            "subresource_uris": {"media": f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}/Media.json"},
            "uri": f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}.json",
        }
        with self._lock:
            self.messages.append(resource)
        return _json(201, resource, scripted.headers if scripted else None)


def _json(status, body, headers=None):
    return Response(json.dumps(body), status, headers=headers or {}, content_type="application/json")
