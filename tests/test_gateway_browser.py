"""The Gateway in a real browser: Debian's Chromium driven by Playwright, on a phone-sized screen.

Each seed example runs end to end against a real HTTP server: created through the API, the link
read from the developer inbox (``/dev/messages.json``), opened in Chromium at 390x844 with
JavaScript turned off, the passcode entered, the forms filled by their labels and confirmed; the
worker then moves the money (a FrozenClock lets the sandbox rail settle) and a signed webhook
reaches a receiver on loopback. Also: a decline, an expired link, a link locked after five wrong
passcodes, and a double click on Confirm. Every page is saved under ``artifacts/screenshots/``, and every
page is measured by axe-core at WCAG 2.1 AA (injected by Playwright; any violation fails the test, listed).
axe-core comes from the npm registry (``tests/browser/package-lock.json``; ``make test`` runs ``npm ci``).

Chromium is Debian's (``apt-get install chromium``); Playwright never downloads a browser here.
Without it these tests skip, unless ``LINX_TEST_REQUIRE_BROWSER=1`` makes that a failure.
"""
import datetime as dt
import json
import os
import re
import socket
import threading
from decimal import Decimal
from pathlib import Path
from urllib.parse import urljoin

import pytest
import requests
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from gateway_app import create_app
from linx_core import clock
from linx_core.runtime import Runtime
from linx_core.store.models import Customer, CustomerFinancialAccount, Event, Transaction, Workflow
from linx_core.worker import Worker

from .conftest import test_settings as make_settings
from .drive import seed

pytestmark = pytest.mark.system  # real processes, servers or a browser: `make test-fast` skips them

CHROMIUM = os.environ.get("LINX_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]
PHONE = {"width": 390, "height": 844}
SHOTS = Path(__file__).resolve().parent.parent / "artifacts" / "screenshots"
AXE = Path(__file__).resolve().parent / "browser" / "node_modules" / "axe-core" / "axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]  # WCAG 2.1, levels A and AA
TIMERS = ("window.setTimeout = (fn, ms, ...args) => { Promise.resolve().then(() => typeof fn === 'function' "
          "? fn(...args) : undefined); return 0; }; window.clearTimeout = () => {}; undefined")
NEW_PHONE = "+14165550100"
JOHN = "8c8cab63-4e53-4acf-9efa-e7324816aa36"  # the demo's John Doe


def _missing():
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright is not installed (pip install -e '.[test]')"
    if not os.path.exists(CHROMIUM):
        return f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    if not AXE.is_file():
        return f"no axe-core at {AXE} (npm ci --prefix tests/browser; `make test` does it)"
    return None


def audit(page, scripts_off=True):
    """Run axe-core on the page shown (WCAG 2.1 A and AA) and fail with every violation it finds, listed.

    The script goes in through the DevTools protocol (``page.evaluate``), as a test's own code, so the page's
    Content-Security-Policy (no inline script) does not stop it. In a tab with JavaScript off no timer fires,
    while axe waits on ``setTimeout``: there the test's code gives it one that runs on the microtask queue
    (the page has no script of its own to disturb)."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        if scripts_off:
            page.evaluate(TIMERS)
        page.evaluate(AXE.read_text(encoding="utf-8") + "\n;undefined")
    result = page.evaluate("tags => axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: "
                           "['violations']})", AXE_TAGS)
    found = [f"{v['id']} ({v['impact']}): {v['help']} at "
             + "; ".join(" ".join(node["target"]) for node in v["nodes"][:5]) for v in result["violations"]]
    assert not found, f"axe-core, WCAG 2.1 AA, on {page.url}:\n  " + "\n  ".join(found)


@pytest.fixture(scope="module")
def browser():
    reason = _missing()
    if reason:
        if os.environ.get("LINX_TEST_REQUIRE_BROWSER") == "1":
            pytest.fail(f"LINX_TEST_REQUIRE_BROWSER=1 but {reason}")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Receiver:
    """A webhook receiver on loopback that keeps every request."""

    def __init__(self):
        self.requests = []
        self.server = make_server("127.0.0.1", 0, self._app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @Request.application
    def _app(self, request):
        self.requests.append({"headers": dict(request.headers), "body": request.get_data()})
        return Response("ok")

    def stop(self):
        self.server.shutdown()
        self.thread.join(5)


class Server:
    """LinX (API, Gateway, developer inbox) on a real HTTP server, in development on plain http."""

    def __init__(self, rt, tmp_path, key, plugins=None):
        port = _free_port()
        self.base = f"http://127.0.0.1:{port}"
        settings = make_settings(env="development", public_url=self.base, instance_path=str(tmp_path),
                                 database_url=rt.settings.database_url, webhook_allow_private=True,
                                 webhook_timeout_seconds=5)
        # with plugins of its own, the rules are built anew (a step kind brings its rule entry)
        self.rt = Runtime(settings, rules=None if plugins else rt.rules, database=rt.database, plugins=plugins)
        self.app = create_app(runtime=self.rt)
        self.key = key
        self.server = make_server("127.0.0.1", port, self.app, threaded=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def api(self, method, path, body=None):
        response = requests.request(method, self.base + path, data=json.dumps(body, default=str) if body else None,
                                    headers={"Authorization": f"Bearer {self.key}",
                                             "Content-Type": "application/json"}, timeout=10)
        return response

    def create(self, body):
        response = self.api("POST", "/v2/linx/workflows", body)
        assert response.status_code == 201, response.text
        return response.json()

    def link(self, workflow_id):
        """Let the worker send the message, then read the link from the developer inbox."""
        self.work()
        inbox = requests.get(self.base + "/dev/messages.json", timeout=5).json()["messages"]
        for message in inbox:
            if message["workflowId"] == workflow_id:
                found = re.search(r"https?://\S+/l/[A-Za-z0-9_-]+", message["text"])
                if found:
                    assert found.group(0).startswith(self.base + "/l/")
                    return found.group(0)
        raise AssertionError(f"no link for {workflow_id} in {inbox}")

    def work(self):
        Worker(self.rt).run_until_idle()

    def stop(self):
        self.server.shutdown()
        self.thread.join(5)


@pytest.fixture
def server(rt, demo, tmp_path):
    frozen = clock.FrozenClock()
    clock.set_clock(frozen)
    live = Server(rt, tmp_path, demo[1])
    live.clock = frozen
    yield live
    live.stop()
    rt.bind()


@pytest.fixture
def receiver():
    hooks = Receiver()
    yield hooks
    hooks.stop()


class Phone:
    """A browser tab at 390x844 with JavaScript off, saving a screenshot of every page it shows."""

    def __init__(self, browser, name, javascript=False):
        self.context = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True,
                                           java_script_enabled=javascript, locale="en-US")
        self.page = self.context.new_page()
        self.javascript = javascript
        self.name = name
        self.count = 0
        self.problems = []
        self.page.on("console", lambda msg: self.problems.append(msg.text) if msg.type == "error" else None)
        SHOTS.mkdir(parents=True, exist_ok=True)

    def goto(self, url):
        response = self.page.goto(url)
        self.shot()
        return response

    def shot(self):
        self.count += 1
        heading = self.page.locator("h1").first.inner_text() if self.page.locator("h1").count() else "page"
        slug = re.sub(r"[^a-z0-9]+", "-", heading.lower()).strip("-")[:40]
        self.page.screenshot(path=str(SHOTS / f"{self.name}-{self.count:02d}-{slug}.png"), full_page=True)
        self.check_layout()
        audit(self.page, scripts_off=not self.javascript)

    def check_layout(self):
        width = self.page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"{self.page.url} scrolls sideways ({width}px wide)"
        refused = [p for p in self.problems if "Content Security Policy" in p or p.startswith("Refused")]
        assert not refused, refused

    def click(self, name, role="button"):
        with self.page.expect_navigation():
            self.page.get_by_role(role, name=name, exact=True).click()
        self.shot()

    def fill(self, values):
        for label, value in values.items():
            field = self.page.get_by_label(label, exact=True)
            if field.evaluate("e => e.tagName") == "SELECT":
                field.select_option(label=value)
            else:
                field.fill(value)

    def h1(self):
        return self.page.locator("h1").inner_text()

    def text(self):
        return self.page.locator("main").inner_text()

    def close(self):
        self.context.close()


@pytest.fixture
def phone(browser, request):
    tabs = []

    def open_phone(name=None, javascript=False):
        tab = Phone(browser, name or request.node.name.replace("[", "-").rstrip("]"), javascript)
        tabs.append(tab)
        return tab

    yield open_phone
    for tab in tabs:
        tab.close()


PROFILE = {"First name": "Jane", "Last name": "Roe", "Email": "jane.roe@example.com", "Date of birth": "1990-01-31",
           "Street address": "1 Main St", "City": "Toronto", "State or province": "ON",
           "ZIP or postal code": "M5V 2T6", "Country": "Canada"}
CARD = {"Name on card": "Jane Roe", "Card number": "4000 0566 5566 5556", "Expiry (MM/YY)": "12/30",
        "ZIP or postal code": "M5V 2T6"}


def _subscribe(server, receiver):
    response = server.api("POST", "/v2/push-notifications", {"description": "Browser test", "url": receiver.url,
                                                            "eventTypes": ["*"]})
    assert response.status_code == 201, response.text
    return response.json()["secret"]


def _signed_events(receiver, secret):
    from standardwebhooks.webhooks import Webhook

    hook = Webhook(secret)
    return [hook.verify(r["body"], r["headers"]) for r in receiver.requests]


def _settle(server, workflow_id):
    """Run the worker until the workflow's transaction is final (the sandbox settles in seconds)."""
    for _ in range(10):
        server.work()
        tx = Transaction.get_or_none(Transaction.workflow == workflow_id)
        if tx is not None and tx.status in ("SETTLED", "CLEARED", "DECLINED", "ERROR"):
            break
        server.clock.advance(seconds=30)
    server.work()
    return Transaction.get_or_none(Transaction.workflow == workflow_id)


def _open_with_passcode(tab, link, passcode):
    response = tab.goto(link)
    assert response.status == 200
    assert tab.page.get_by_label("Passcode", exact=True).count() == 1
    tab.fill({"Passcode": passcode})
    tab.click("Continue")


def _body(index, **parameters):
    body = seed(index, **parameters)
    return json.loads(json.dumps(body, default=lambda d: float(d) if isinstance(d, Decimal) else str(d)))


def test_the_accessibility_check_fails_on_what_it_must_find(browser):
    """The check itself: a page that refreshes itself (what the done page did) and an image without words."""
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        page.set_content('<!doctype html><html lang="en"><head><title>Done</title>'
                         '<meta http-equiv="refresh" content="15"></head><body><main><h1>Done</h1>'
                         '<img src="data:,"></main></body></html>')
        with pytest.raises(AssertionError, match=r"meta-refresh(?s:.*)image-alt|image-alt(?s:.*)meta-refresh"):
            audit(page)
    finally:
        context.close()


# -- the four seed examples ------------------------------------------------------------------------

def test_seed_1_a_new_customer_account(server, receiver, phone):
    secret = _subscribe(server, receiver)
    created = server.create(_body(0, phoneNumber=NEW_PHONE))
    link = server.link(created["id"])
    tab = phone("seed1-customer-account")
    _open_with_passcode(tab, link, created["passcode"])
    assert tab.h1() == "About you"
    assert "+1 416-555-0100" in tab.text()
    tab.fill(dict(PROFILE, **{"Email": "not an email"}))
    tab.click("Continue")
    assert "Enter an email address like name@example.com." in tab.text()
    assert tab.page.get_by_label("First name", exact=True).input_value() == "Jane"  # kept
    tab.fill({"Email": "jane.roe@example.com"})
    tab.click("Continue")
    assert tab.h1() == "All done"
    assert Workflow.get_by_id(created["id"]).status == "COMPLETED"
    server.work()
    events = _signed_events(receiver, secret)
    assert any(e["type"] == "linx.workflow-status-changed" and e["data"]["status"] == "COMPLETED" for e in events)


def test_seed_2_lookup_profile_then_a_new_debit_card(server, receiver, phone):
    secret = _subscribe(server, receiver)
    created = server.create(_body(1))
    link = server.link(created["id"])
    tab = phone("seed2-lookup-financial-account")
    _open_with_passcode(tab, link, created["passcode"])  # lookup-profile asks nothing known: the card form next
    assert tab.h1() == "Add your debit card" and "Welcome back, John." in tab.text()
    tab.fill(dict(CARD, **{"Expiry (MM/YY)": "01/20"}))
    tab.click("Continue")
    assert "This card has expired." in tab.text()
    assert tab.page.get_by_label("Card number", exact=True).input_value() == ""  # never echoed
    assert "5556" not in tab.page.content()
    assert tab.page.get_by_label("Name on card", exact=True).input_value() == "Jane Roe"
    tab.fill({"Card number": CARD["Card number"], "Expiry (MM/YY)": "12/30"})
    tab.click("Continue")
    assert tab.h1() == "All done"
    account = CustomerFinancialAccount.get_by_id(Workflow.get_by_id(created["id"]).customer_account_id)
    assert (account.brand, account.subtype, account.last4) == ("VISA", "DEBIT", "5556")
    server.work()
    assert any(e["type"] == "linx.workflow-status-changed" and e["data"]["status"] == "COMPLETED"
               for e in _signed_events(receiver, secret))


def test_seed_3_a_rebate_to_a_new_card_of_a_new_customer(server, receiver, phone):
    secret = _subscribe(server, receiver)
    created = server.create(_body(2, phoneNumber=NEW_PHONE))
    link = server.link(created["id"])
    tab = phone("seed3-push-to-card-new")
    landing = tab.goto(link)
    assert landing.status == 200 and "You have a rebate" in tab.text()
    tab.fill({"Passcode": created["passcode"]})
    tab.click("Continue")
    tab.fill(PROFILE)
    tab.click("Continue")
    tab.fill(CARD)
    tab.click("Continue")
    assert tab.h1() == "Confirm the payment"
    assert "You will receive $256.25 on your Visa debit card ending 5556" in tab.text()
    assert "Expected arrival: within minutes." in tab.text()
    tab.click("Confirm")
    assert "Processing" in tab.text() and "You will receive $256.25" in tab.text()
    tx = _settle(server, created["id"])
    assert tx.status == "SETTLED"
    tab.click("Check again")  # no meta refresh: the customer asks (WCAG 2.2.1)
    assert "Funds sent" in tab.text()
    assert "You received $256.25 on your Visa debit card ending 5556" in tab.text()
    assert "You will receive" not in tab.text()
    assert Workflow.get_by_id(created["id"]).status == "COMPLETED"
    events = _signed_events(receiver, secret)
    assert any(e["type"] == "transactions.status-changed" and e["data"]["status"] == "SETTLED" for e in events)
    assert any(e["type"] == "linx.workflow-status-changed" and e["data"]["status"] == "COMPLETED" for e in events)


def _saved_card(server, number, subtype, brand):
    """Another of John Doe's saved cards."""
    sealed = server.rt.vault.seal(number)
    return CustomerFinancialAccount.create(
        business=Customer.get_by_id(JOHN).business_id, customer=JOHN, type="CARD", subtype=subtype,
        holder_name="John Doe", sealed_number=sealed.sealed, last4=sealed.last4, masked_number=sealed.masked,
        fingerprint=sealed.fingerprint, brand=brand, expiry="2030-12", currency="USD")


def test_seed_4_a_rebate_to_the_card_on_file(server, receiver, phone):
    """The brief's step 3: an existing customer goes from the passcode straight to the confirm page, which
    offers their saved cards that push-to-card can pay (not a credit card), and completes with one."""
    secret = _subscribe(server, receiver)
    prepaid = _saved_card(server, "5105105105105100", "PREPAID", "MASTERCARD")
    _saved_card(server, "5555555555554444", "CREDIT", "MASTERCARD")  # push-to-card cannot pay it: not offered
    created = server.create(_body(3))
    link = server.link(created["id"])
    tab = phone("seed4-push-to-card-existing")
    _open_with_passcode(tab, link, created["passcode"])
    assert tab.h1() == "Confirm the payment" and "Welcome back, John." in tab.text()
    named = tab.page.get_by_label("Visa debit card ending 5556", exact=True)
    assert named.is_checked() and tab.page.locator("input[type=radio]").count() == 2
    assert "ending 4444" not in tab.text()
    assert tab.page.get_by_role("link", name="Add a different account", exact=True).count() == 1
    tab.page.get_by_label("Mastercard prepaid card ending 5100", exact=True).check()
    tab.click("Confirm")
    tx = _settle(server, created["id"])
    assert tx.status == "SETTLED" and tx.customer_account_id == prepaid.id
    tab.page.reload()
    tab.shot()
    assert "Funds sent" in tab.text()
    assert Workflow.get_by_id(created["id"]).status == "COMPLETED"
    assert any(e["type"] == "transactions.status-changed" and e["data"]["status"] == "SETTLED"
               for e in _signed_events(receiver, secret))


# -- the rest of the journey -----------------------------------------------------------------------

def test_decline_with_a_reason(server, phone):
    created = server.create(_body(2))
    link = server.link(created["id"])
    tab = phone("decline")
    tab.goto(link)
    tab.click("Decline")
    assert tab.h1() == "Decline this request"
    tab.fill({"Reason": "The amount is wrong"})
    tab.click("Decline")
    assert tab.h1() == "You declined this request"
    workflow = Workflow.get_by_id(created["id"])
    assert (workflow.status, workflow.decline_reason) == ("DECLINED", "WRONG_AMOUNT")


def test_an_expired_link(server, phone):
    created = server.create(_body(0))
    link = server.link(created["id"])
    server.clock.advance(days=3)
    server.work()
    tab = phone("expired")
    response = tab.goto(link)
    assert response.status == 410 and tab.h1() == "This link has expired"
    assert "Ask Demo Co for a new link." in tab.text()
    unknown = tab.goto(server.base + "/l/" + "A" * 43)
    assert unknown.status == 410 and tab.h1() == "This link has expired"


def test_an_expired_link_sends_a_new_one_when_the_business_allows_it(server, demo, phone):
    from linx_core.services.businesses import set_self_service_recovery

    set_self_service_recovery(demo[0], True)
    created = server.create(dict(_body(0), passcode=False))
    link = server.link(created["id"])
    server.clock.advance(days=3)
    server.work()
    tab = phone("recover")
    response = tab.goto(link)
    assert response.status == 410 and tab.h1() == "This link has expired"
    tab.click("Send me a new link")  # the result page is measured (every click and goto is)
    assert tab.h1() == "A new link is on its way"
    [new] = [w for w in server.api("GET", "/v2/linx/workflows").json()["content"] if w["recoveredFrom"]]
    assert new["recoveredFrom"] == created["id"] and new["phoneNumber"] == created["phoneNumber"]
    response = tab.goto(server.link(new["id"]))
    assert response.status == 200 and tab.h1() == created["title"]
    again = tab.goto(link)
    assert again.status == 410 and tab.h1() == "A new link was sent"


def test_five_wrong_passcodes_lock_the_link(server, phone):
    created = server.create(_body(0))
    link = server.link(created["id"])
    wrong = "000000" if created["passcode"] != "000000" else "111111"
    tab = phone("locked")
    tab.goto(link)
    for _ in range(4):
        tab.fill({"Passcode": wrong})
        tab.click("Continue")
        assert "That passcode is not right." in tab.text()
    tab.fill({"Passcode": wrong})
    with tab.page.expect_navigation() as navigation:
        tab.page.get_by_role("button", name="Continue", exact=True).click()
    tab.shot()
    assert navigation.value.status == 423 and tab.h1() == "This link is locked"
    assert Event.select().where((Event.type == "linx.workflow-locked")
                                & (Event.subject_id == created["id"])).count() == 1


def test_a_double_click_on_confirm_makes_one_transaction(server, phone):
    created = server.create(_body(3))
    link = server.link(created["id"])
    tab = phone("double-click", javascript=True)
    _open_with_passcode(tab, link, created["passcode"])  # an existing customer: the confirm page
    confirm = tab.page.get_by_role("button", name="Confirm", exact=True)
    # The same Confirm form posted twice over the browser's own session (cookies, CSRF token), as a
    # double click that the browser did not collapse would: one transaction, and no error for the second.
    form = tab.page.locator("form", has=confirm)
    action = urljoin(tab.page.url, form.get_attribute("action") or tab.page.url)
    fields = {el.get_attribute("name"): el.get_attribute("value") or ""
              for el in form.locator("input[type=hidden]").all() if el.get_attribute("name")}
    answers = [tab.page.context.request.post(action, form=fields, max_redirects=0) for _ in range(2)]
    assert [(a.status, a.headers.get("location", "").rsplit("/", 1)[-1]) for a in answers] == [
        (303, "done"), (303, "done")]
    assert Transaction.select().where(Transaction.workflow == created["id"]).count() == 1
    tab.page.reload()
    tab.page.wait_for_load_state()
    tab.shot()
    assert "Processing" in tab.text() or "Funds sent" in tab.text()
    assert Transaction.select().where(Transaction.workflow == created["id"]).count() == 1
    tab.page.go_back()
    tab.page.wait_for_load_state()
    tab.shot()  # the page the back button shows is measured too
    assert Transaction.select().where(Transaction.workflow == created["id"]).count() == 1


def test_french_on_a_phone(server, browser):
    created = server.create(_body(3))
    link = server.link(created["id"])
    context = browser.new_context(viewport=PHONE, is_mobile=True, java_script_enabled=False, locale="fr-CA",
                                  extra_http_headers={"Accept-Language": "fr-CA,fr;q=0.9"})
    try:
        page = context.new_page()
        page.goto(link)
        assert page.locator("html").get_attribute("lang") == "fr-CA"
        audit(page)  # the French landing page
        page.get_by_label("Code d'accès", exact=True).fill(created["passcode"])
        with page.expect_navigation():
            page.get_by_role("button", name="Continuer", exact=True).click()
        assert page.locator("h1").inner_text() == "Confirmer le paiement"
        assert "Bon retour, John." in page.locator("main").inner_text()
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / "french-01-confirmer.png"), full_page=True)
        audit(page)
    finally:
        context.close()


def test_the_language_switch_holds_for_the_session(server, phone):
    """English / Français at the foot of every page: a plain form (no script), kept for the session."""
    created = server.create(_body(3))
    link = server.link(created["id"])
    tab = phone("language-switch")
    tab.goto(link)
    assert tab.page.locator("html").get_attribute("lang") == "en"
    tab.click("Français")
    assert tab.page.locator("html").get_attribute("lang") == "fr-CA"
    tab.fill({"Code d'accès": created["passcode"]})
    tab.click("Continuer")
    assert tab.h1() == "Confirmer le paiement"  # an existing customer: straight to the confirm page
    tab.click("Ajouter un autre compte", role="link")
    assert tab.page.locator("html").get_attribute("lang") == "fr-CA"  # still French, page after page
    french = tab.h1()
    assert tab.page.get_by_role("button", name="English", exact=True).count() == 1
    tab.click("English")
    assert tab.page.locator("html").get_attribute("lang") == "en" and tab.h1() not in ("", french)
    # a forged switch (a language the Gateway does not speak): the 400 page, measured
    tab.page.route("**/g/language", lambda route: route.continue_(
        post_data=route.request.post_data.replace("lang=fr_CA", "lang=xx")))
    tab.click("Français")
    assert tab.h1() == "Something is wrong with this request"
    tab.page.unroute("**/g/language")
    # a page with nothing to go back to (an unknown link): "Language changed", measured
    stranger = phone("language-changed")
    stranger.goto(f"{server.base}/l/nope")
    stranger.click("Français")
    assert stranger.h1() == "Langue changée"


def test_a_tour_of_the_other_pages(server, phone):
    """Profile details, a bank account for an ACH request, a document and its text, decline on move-money."""
    # a Tuesday morning in New York, before the ACH cut-offs: NEXT_DAY settles the next business day
    server.clock = clock.FrozenClock(dt.datetime(2026, 2, 3, 14, 0, tzinfo=dt.UTC))
    clock.set_clock(server.clock)
    body = _body(1, financialAccountSubType="CHECKING", profileFields=["dateOfBirth", "mailingAddress"],
                 documents=[{"documentId": "ach-debit-authorization"}], transactionType="REQUEST", solution="ach",
                 baFinancialAccountId="31c6d624-6a0c-4049-b1f1-f3ea7d00ba35", currency="USD", amount=42.5,
                 priority="NEXT_DAY", paymentReasonId="bill-payments")
    body["steps"] = [{"name": s} for s in ("notification", "lookup-profile", "enhance-profile", "financial-account",
                                            "document-acceptance", "move-money")]
    created = server.create(body)
    link = server.link(created["id"])
    tab = phone("tour")
    _open_with_passcode(tab, link, created["passcode"])
    assert tab.h1() == "A few more details"
    tab.fill({"Date of birth": "1990-01-31", "Street address": "1 Main St", "City": "Boston",
              "State or province": "MA", "ZIP or postal code": "02110"})
    tab.click("Continue")
    assert tab.h1() == "Add your checking account"
    tab.fill({"Name on account": "John Doe", "Routing number": "021000021", "Account number": "000123456789",
              "Account type": "Checking"})
    tab.click("Continue")
    assert tab.h1() == "Documents to accept"
    tab.click("Read the full text ACH Debit Authorization", role="link")
    assert tab.h1() == "ACH Debit Authorization" and "authorize" in tab.text()
    tab.click("Back to the documents", role="link")
    tab.click("Continue")
    assert "Accept ACH Debit Authorization to continue." in tab.text()
    tab.page.get_by_label("I accept ACH Debit Authorization", exact=True).check()
    tab.click("Continue")
    assert "Demo Co will collect $42.50 from your checking account ending 6789" in tab.text()
    assert "Expected withdrawal: by Feb 4, 2026, 8:30\u202fAM EST." in tab.text()
    tab.click("Decline")
    tab.fill({"Reason": "The amount is wrong"})
    tab.click("Decline")
    assert tab.h1() == "You declined this request"
    other = server.create(_body(0))
    server.link(other["id"])
    assert tab.goto(f"{server.base}/g/{other['id']}/step").status == 403
    assert tab.h1() == "Open the link from your message"
    cancelled = server.create(_body(0))
    cancelled_link = server.link(cancelled["id"])
    assert server.api("POST", f"/v2/linx/workflows/{cancelled['id']}/cancel").status_code == 200
    assert tab.goto(cancelled_link).status == 410 and tab.h1() == "This request was cancelled"


def test_a_third_party_step_installed_by_entry_point_completes_a_workflow(rt, demo, tmp_path, phone):
    """``tests/verify_email_step``: found by its entry point, its page (its own template, its French) in the
    Gateway, its code emailed by its own job; nothing in LinX names it."""
    from linx_core.plugins import make_manager

    from .test_verify_email_step import VERIFY

    frozen = clock.FrozenClock()
    clock.set_clock(frozen)
    live = Server(rt, tmp_path, demo[1], plugins=make_manager(load_entrypoints=False, extra=[VERIFY]))
    try:
        created = live.create({"title": "Check your email", "expireIn": "2",
                               "parameters": {"channel": "SMS", "phoneNumber": "+14165550188",
                                              "email": "jane.roe@example.com"},
                               "steps": [{"name": "notification"}, {"name": "customer-account"},
                                         {"name": "verify-email"}]})
        tab = phone("third-party-verify-email")
        assert tab.goto(live.link(created["id"])).status == 200
        assert "Confirm your email address" in tab.text()  # its words in the landing page's list
        tab.fill({"Passcode": created["passcode"]})
        tab.click("Continue")
        tab.fill(PROFILE)
        tab.click("Continue")
        assert tab.h1() == "Confirm your email address" and "ja…@example.com" in tab.text()
        tab.click("Email me a code")
        assert tab.h1() == "Enter the code we emailed you"
        live.work()
        inbox = requests.get(live.base + "/dev/messages.json", timeout=5).json()["messages"]
        mail = next(m for m in inbox if m["workflowId"] == created["id"] and m["channel"] == "EMAIL")
        code = re.search(r"\b(\d{6})\b", mail["text"]).group(1)
        tab.fill({"Code": "12"})
        tab.click("Continue")
        assert "Enter the 6 digits of the code." in tab.text()
        tab.fill({"Code": code})
        tab.click("Continue")
        assert tab.h1() == "All done"
        assert Workflow.get_by_id(created["id"]).status == "COMPLETED"
        other = live.create({"title": "Courriel", "expireIn": "2",
                             "parameters": {"channel": "SMS", "phoneNumber": "+14165550189",
                                            "email": "jean@example.com"},
                             "steps": [{"name": "notification"}, {"name": "customer-account"},
                                       {"name": "verify-email"}]})
        landing = requests.get(live.link(other["id"]), headers={"Accept-Language": "fr-CA,fr;q=0.9"}, timeout=5)
        assert landing.status_code == 200 and "Confirmez votre adresse courriel" in landing.text  # its own catalog
    finally:
        live.stop()
        rt.bind()


# -- an ACH debit authorization (issue 14) ---------------------------------------------------------

def test_an_ach_debit_authorization_then_the_business_reads_who_authorized_what(server, receiver, phone):
    import hashlib

    secret = _subscribe(server, receiver)
    body = _body(0, phoneNumber=NEW_PHONE, financialAccountSubType="CHECKING",
                 documents=[{"documentId": "ach-debit-authorization"}])
    body["title"] = "Authorize monthly debits"
    body["steps"] = [{"name": s} for s in ("notification", "customer-account", "financial-account",
                                           "document-acceptance")]
    created = server.create(body)
    tab = phone("ach-debit-authorization")
    _open_with_passcode(tab, server.link(created["id"]), created["passcode"])
    tab.fill(PROFILE)
    tab.click("Continue")
    assert tab.h1() == "Add your checking account"
    tab.fill({"Name on account": "Jane Roe", "Routing number": "021000021", "Account number": "000123456789"})
    tab.click("Continue")
    assert tab.h1() == "Documents to accept"
    assert "you authorize the business" in tab.text()  # the authorization's own words, on the page
    tab.page.get_by_label("I accept ACH Debit Authorization", exact=True).check()
    tab.click("Continue")
    assert tab.h1() == "All done"

    workflow = server.api("GET", f"/v2/linx/workflows/{created['id']}").json()
    step = next(s for s in workflow["steps"] if s["name"] == "document-acceptance")
    listed = server.api("GET", f"/v2/authorizations?workflowId={created['id']}").json()
    assert listed["totalElements"] == 1
    record = server.api("GET", f"/v2/authorizations/{step['data']['authorizationId']}").json()
    text = Path(__file__).resolve().parent.parent / "gateway_app" / "documents" / "ach-debit-authorization.txt"
    assert record["document"]["sha256"] == hashlib.sha256(text.read_bytes()).hexdigest()
    assert record["document"]["version"] == "2026-01" and record["status"] == "ACTIVE"
    assert record["financialAccount"]["maskedNumber"].endswith("6789")
    assert record["customerId"] == str(Workflow.get_by_id(created["id"]).customer_id)
    assert record["ipAddress"] == "127.0.0.1" and "Chrome" in record["userAgent"]
    assert Customer.get_by_id(record["customerId"]).first_name == "Jane"
    server.work()
    assert any(e["type"] == "authorization.created" and e["data"]["authorizationId"] == record["id"]
               for e in _signed_events(receiver, secret))


# -- the mass debit authorization (issue 14 §4): a template, a batch of 50 from CSV, 3 customers ----------------

ACH_TEMPLATE = {  # the README's example, as a business sends it
    "name": "ach-debit-authorization", "title": "Authorize monthly debits", "expireIn": 7, "passcode": True,
    "steps": [{"name": s} for s in ("notification", "customer-account", "financial-account", "document-acceptance")],
    "parameters": {"channel": "SMS", "introductoryMessage": "Set up your monthly payments",
                   "financialAccountSubType": "CHECKING", "documents": [{"documentId": "ach-debit-authorization"}]},
}


def test_a_batch_of_50_collects_debit_authorizations_and_the_business_reads_those_given(server, phone):
    import csv
    import io

    # development: no pacing and no quiet hours, so the 50 first messages leave at once (test_throttle paces them)
    assert not server.rt.settings.pacing and not server.rt.settings.quiet
    made = server.api("POST", "/v2/linx/templates", ACH_TEMPLATE)
    assert made.status_code == 201, made.text
    rows = "externalId,phoneNumber\n" + "".join(f"member-{i},+1647555{200 + i:04d}\n" for i in range(50))
    response = requests.post(server.base + "/v2/linx/batches?templateName=ach-debit-authorization", data=rows,
                             headers={"Authorization": f"Bearer {server.key}", "Content-Type": "text/csv",
                                      "Idempotency-Key": "ach-authorizations-2026-12"}, timeout=10)
    assert response.status_code == 202, response.text
    batch_id = response.json()["id"]
    server.work()  # expands the batch, then sends the 50 first messages
    batch = server.api("GET", f"/v2/linx/batches/{batch_id}").json()
    assert batch["status"] == "COMPLETED" and batch["counts"]["created"] == 50, batch
    entries = server.api("GET", f"/v2/linx/batches/{batch_id}/entries?size=100").json()["content"]
    by_external = {e["externalId"]: e["workflowId"] for e in entries}
    passcodes = server.api("GET", f"/v2/linx/batches/{batch_id}/passcodes")
    assert passcodes.status_code == 200, passcodes.text
    passcode_of = {r["workflowId"]: r["passcode"] for r in csv.DictReader(io.StringIO(passcodes.text))}
    assert len(passcode_of) == 50

    authorized = []
    for n, external in enumerate(("member-3", "member-17", "member-42")):
        wid = by_external[external]
        tab = phone(f"ach-batch-{external}")
        _open_with_passcode(tab, server.link(wid), passcode_of[wid])
        tab.fill({**PROFILE, "Email": f"member{n}@example.com", "First name": f"Member{n}"})
        tab.click("Continue")
        assert tab.h1() == "Add your checking account"
        tab.fill({"Name on account": f"Member{n} Roe", "Routing number": "021000021",
                  "Account number": f"00012345678{n}"})
        tab.click("Continue")
        assert tab.h1() == "Documents to accept" and "you authorize the business" in tab.text()
        tab.page.get_by_label("I accept ACH Debit Authorization", exact=True).check()
        tab.click("Continue")
        assert tab.h1() == "All done"
        authorized.append(wid)

    server.work()
    listed = server.api("GET", f"/v2/authorizations?batchId={batch_id}&size=100").json()
    assert listed["totalElements"] == 3
    assert sorted(a["workflowId"] for a in listed["content"]) == sorted(authorized)
    for record in listed["content"]:
        workflow = server.api("GET", f"/v2/linx/workflows/{record['workflowId']}").json()
        assert workflow["status"] == "COMPLETED" and workflow["batchId"] == batch_id
        step = next(s for s in workflow["steps"] if s["name"] == "document-acceptance")
        assert step["data"]["authorizationId"] == record["id"]
        assert record["customerId"] == str(Workflow.get_by_id(record["workflowId"]).customer_id)
        assert record["financialAccount"]["subtype"] == "CHECKING" and record["status"] == "ACTIVE"
    counts = server.api("GET", f"/v2/linx/batches/{batch_id}").json()["counts"]
    assert counts["workflows"]["COMPLETED"] == 3 and counts["workflows"]["ACTIVE"] == 47, counts
    # a batch id that is no UUID is refused with its path
    other = server.api("GET", "/v2/authorizations?batchId=not-a-uuid")
    assert other.status_code == 400 and other.json()["errors"][0]["path"] == "query.batchId"
