"""The Portal in a real browser (Debian's Chromium through Playwright, JavaScript off): sign-in, a wrong password
and the lockout, every page at 390x844 and 1280x800, and a viewer's page without buttons. Screenshots under
``artifacts/screenshots/portal/``."""
import re

import pytest

from linx_core.services import portal_users

from .test_gateway_browser import SHOTS, Server, browser  # noqa: F401 - browser is a fixture
from .test_portal import PASSWORD

pytestmark = pytest.mark.system

SIZES = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 800}}
PAGES = {"home": "/portal/", "workflows": "/portal/workflows", "customers": "/portal/customers",
         "transactions": "/portal/transactions", "api-keys": "/portal/api-keys", "audit": "/portal/audit"}
OUT = SHOTS / "portal"


@pytest.fixture
def live(rt, demo, other, tmp_path):
    server = Server(rt, tmp_path, demo[1])
    portal_users.create_user(demo[0], "ada@demo.example", "admin", PASSWORD)
    portal_users.create_user(demo[0], "vera@demo.example", "viewer", PASSWORD)
    created = server.create({"title": "Open an account for John", "expireIn": "2",
                             "parameters": {"channel": "SMS", "phoneNumber": "+16475550100"},
                             "steps": [{"name": "notification"}, {"name": "customer-account"}]})
    server.workflow_id = created.get("workflowId") or created["id"]
    yield server
    server.stop()
    rt.bind()


def _tab(browser, size):  # noqa: F811
    context = browser.new_context(viewport=SIZES[size], java_script_enabled=False, locale="en-US")
    return context, context.new_page()


def _shot(page, name):
    OUT.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(OUT / f"{name}.png"), full_page=True)


def _sign_in(page, base, email, password=PASSWORD):
    page.goto(base + "/portal/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_sign_in_and_every_page(browser, live, size):  # noqa: F811
    context, page = _tab(browser, size)
    try:
        page.goto(live.base + "/portal/")
        assert page.url.startswith(live.base + "/portal/login")
        _shot(page, f"login-{size}")
        _sign_in(page, live.base, "ada@demo.example", "not-the-password-1")
        assert page.get_by_role("alert").inner_text().startswith("The email or the password is not right")
        _shot(page, f"login-wrong-{size}")
        _sign_in(page, live.base, "ada@demo.example")
        assert page.url == live.base + "/portal/"
        assert page.locator("svg.chart").count() == 1
        for name, path in PAGES.items():
            response = page.goto(live.base + path)
            assert response.status == 200, path
            assert page.locator("h1").count() == 1
            _shot(page, f"{name}-{size}")
        page.goto(live.base + f"/portal/workflows/{live.workflow_id}")
        assert page.get_by_role("button", name="Cancel workflow").count() == 1
        _shot(page, f"workflow-{size}")
        page.get_by_role("button", name="Sign out").click()
        assert page.url.startswith(live.base + "/portal/login")
    finally:
        context.close()


def test_the_lockout(browser, live):  # noqa: F811
    context, page = _tab(browser, "phone")
    try:
        for _ in range(portal_users.LOCK_AFTER):
            _sign_in(page, live.base, "ada@demo.example", "wrong-password-99")
        assert "locked" in page.get_by_role("alert").inner_text()
        _shot(page, "login-locked-phone")
        _sign_in(page, live.base, "ada@demo.example")
        assert "locked" in page.get_by_role("alert").inner_text()  # the right password waits too
    finally:
        context.close()


def test_a_viewer_sees_no_buttons_and_a_forged_post_is_refused(browser, live):  # noqa: F811
    context, page = _tab(browser, "phone")
    try:
        _sign_in(page, live.base, "vera@demo.example")
        page.goto(live.base + f"/portal/workflows/{live.workflow_id}")
        assert page.locator("main button").count() == 0
        assert page.get_by_role("button", name="Create").count() == 0
        _shot(page, "workflow-viewer-phone")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.content()).group(1)
        forged = context.request.post(live.base + f"/portal/workflows/{live.workflow_id}/cancel",
                                      form={"csrf_token": token})
        assert forged.status == 403
    finally:
        context.close()
