"""What ``make run`` prints before serving: the URL, the pages to open, the demo API key and a curl to paste.

The pages are those the web app serves: the developer inbox (development), and the Portal once a plugin or the
web layer registers a ``/portal`` route (:func:`routes` asks the app itself, so nothing is promised in advance).
"""
from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable

CURL = """curl -s -X POST {url}/v2/linx/workflows \\
  -H 'Authorization: Bearer {key}' \\
  -H 'Content-Type: application/json' \\
  -d '{{"title": "Create a new Customer Account for John Doe", "expireIn": "2",
       "parameters": {{"channel": "SMS", "phoneNumber": "+16471234567",
                      "introductoryMessage": "Create a new customer account"}},
       "steps": [{{"name": "notification"}}, {{"name": "customer-account"}}]}}'"""

#: (label, path, about) of the pages the banner names, each only when the app serves it
PAGES = (("API docs:", "/v2/docs", "Swagger UI; Authorize with the key below, then Try it out"),
         ("Inbox:", "/dev/messages", "the messages sent, with their links to click"),
         ("Portal:", "/portal", "the business's pages"))


def routes(app: object) -> set[str]:
    """The paths (without a trailing slash) of the GET routes of a WSGI app that has a ``url_map`` (Flask's);
    none for another app."""
    url_map = getattr(app, "url_map", None)
    if url_map is None:
        return set()
    return {rule.rule.rstrip("/") or "/" for rule in url_map.iter_rules() if "GET" in (rule.methods or ())}


def text(url: str, key: str, served: Iterable[str], portal: tuple[str, str] | None = None) -> str:
    """The banner for the server at ``url``, the demo key ``key`` and the paths the app ``served``; ``portal``: the
    demo Portal user's ``(email, password)``, shown when the app serves the Portal."""
    url = url.rstrip("/")
    served = set(served)
    lines = [f"  {label:<13}{url}{path}  ({about})" for label, path, about in PAGES if path in served]
    if portal and "/portal" in served:
        lines.append(f"  {'Sign in:':<13}{portal[0]} / {portal[1]}  (Demo Co's Portal admin)")
    return f"""
LinX (demo) at {url}
{chr(10).join(lines)}
  Demo Co key: {key}

Create a workflow (Demo Co asks for a passcode: it comes back once, as "passcode", in the create response;
the message with its link appears in the inbox):
{CURL.format(url=url, key=key)}
"""


def served_paths() -> set[str]:
    """The GET paths of the app ``linx serve`` will serve, built from this environment as it builds it."""
    from .boot import runtime
    from .errors import LinxError
    from .serving import web_app

    try:
        return routes(web_app(runtime(web=True)))
    except LinxError:  # `linx serve` says what is wrong, next, with its exit code: the banner names no page
        return set()


def main(path: str) -> None:
    with open(path) as fh:
        demo = json.load(fh)
    url = os.environ.get("LINX_PUBLIC_URL", "http://127.0.0.1:8000")
    portal = (demo["portalEmail"], demo["portalPassword"]) if demo.get("portalEmail") else None
    print(text(url, demo["apiKey"], served_paths(), portal))


if __name__ == "__main__":
    main(sys.argv[1])
