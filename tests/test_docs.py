"""The first pages a developer opens (issue 16): ``/v2/docs`` (Swagger UI from the swagger-ui-bundle package, served
by LinX under a CSP), the OpenAPI document's examples and names, ``GET /``, the developer inbox and ``make run``'s
banner."""
import json
import re
import threading
from pathlib import Path

import pytest
from swagger_ui_bundle import swagger_ui_path
from werkzeug.serving import make_server

from gateway_app import create_app
from gateway_app.api.examples import create_examples
from linx_core import __version__, banner
from linx_core.runtime import Runtime

from .conftest import Api, seed_examples
from .conftest import test_settings as make_settings

FOREIGN = re.compile(r"""(?:href|src)=["'](?:https?:)?//""", re.I)


def dev_app(rt, tmp_path, env="development"):
    runtime = Runtime(make_settings(env=env, instance_path=str(tmp_path), database_url=rt.settings.database_url),
                      rules=rt.rules, database=rt.database)
    app = create_app(runtime=runtime)
    app.config["TESTING"] = True
    return app


@pytest.fixture
def dev(rt, tmp_path, demo):
    app = dev_app(rt, tmp_path)
    return app, app.test_client(), demo[1]


# -- the OpenAPI document ----------------------------------------------------------------------------------------

def test_the_four_seed_requests_are_named_examples_of_the_create_operation(dev):
    _, client, _ = dev
    spec = client.get("/v2/openapi.json").get_json()
    content = spec["paths"]["/v2/linx/workflows"]["post"]["requestBody"]["content"]["application/json"]
    examples = content["examples"]
    assert list(examples) == ["new-customer-account", "new-debit-card", "rebate-to-a-new-card",
                              "rebate-to-an-existing-card"]
    assert [e["value"] for e in examples.values()] == [json.loads(block) for block in seed_examples()]
    assert all(e["summary"] for e in examples.values())


def test_each_named_example_is_accepted_by_the_api_as_it_stands(dev):
    """The examples Swagger UI sends on "Try it out" are valid requests (Demo Co's data set)."""
    _, client, key = dev
    api = Api(client, key)
    for name, example in create_examples().items():
        answer = api.create(example["value"])
        assert answer.status_code == 201, (name, answer.get_json())


def test_no_schema_has_a_generated_name(dev):
    _, client, _ = dev
    names = list(client.get("/v2/openapi.json").get_json()["components"]["schemas"])
    assert "WorkflowDocumentsItem" in names  # the `documents` parameter's items, named for what they are
    assert not [n for n in names if re.search(r"\d$|Object\d*$", n)], names


def test_every_reference_resolves(dev):
    _, client, _ = dev
    spec = client.get("/v2/openapi.json").get_json()
    refs = set(re.findall(r'"#/components/schemas/([^"]+)"', json.dumps(spec)))
    assert refs and refs <= set(spec["components"]["schemas"])


# -- /v2/docs: Swagger UI, from the package, under a CSP ---------------------------------------------------------

def test_the_docs_page_loads_swagger_ui_from_linx_itself(dev):
    _, client, _ = dev
    page = client.get("/v2/docs")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert not FOREIGN.search(html), html
    assert not re.search(r"<script>|<style|\sstyle=|\son[a-z]+=", html, re.I)  # nothing inline
    policy = page.headers["Content-Security-Policy"]
    assert policy.startswith("default-src 'self'") and "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert page.headers["X-Frame-Options"] == "DENY"
    scripts = re.findall(r'<script src="([^"]+)"', html)
    styles = re.findall(r'<link rel="stylesheet" href="([^"]+)"', html)
    assert any(s.endswith("swagger-ui-bundle.js") for s in scripts)
    assert any(s.endswith("swagger-ui.css") for s in styles)
    for url in scripts + styles:
        assert client.get(url).status_code == 200, url


def test_the_swagger_assets_are_the_packages_own_files(dev):
    _, client, _ = dev
    for name in ("swagger-ui-bundle.js", "swagger-ui.css"):
        served = client.get(f"/v2/docs/assets/{name}")
        assert served.status_code == 200
        assert served.data == (Path(swagger_ui_path) / name).read_bytes()
        assert len(served.data) > 100_000  # the real build, not a stub
    # nothing else of that folder (its index.html fetches the Petstore from another host), nor a way out of it
    for name in ("index.html", "swagger-initializer.js", "..%2F__init__.py", "oauth2-redirect.html"):
        assert client.get(f"/v2/docs/assets/{name}").status_code == 404, name


# -- GET / ---------------------------------------------------------------------------------------------------------

def test_the_root_in_development_links_the_docs_and_the_inbox(dev):
    _, client, _ = dev
    page = client.get("/")
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    links = re.findall(r'<a href="([^"]+)"', html)
    assert "/v2/docs" in links and "/dev/messages" in links
    assert "/portal" in links  # the Portal (issue 15) is served: it is linked
    assert not FOREIGN.search(html)
    for link in links:  # (the Portal's asks to sign in first)
        assert client.get(link, follow_redirects=True).status_code == 200, link


def test_the_root_in_production_says_only_the_name_and_version(rt, tmp_path):
    client = dev_app(rt, tmp_path, env="test").test_client()
    page = client.get("/")
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    assert f"LinX <small>{__version__}</small>" in html
    assert "<a " not in html and "/dev/messages" not in html and "development" not in html


# -- make run's banner ----------------------------------------------------------------------------------------------

def test_the_banner_names_the_inbox_and_where_the_passcode_is(dev):
    app, _, key = dev
    text = banner.text("http://127.0.0.1:8000", key, banner.routes(app))
    assert "http://127.0.0.1:8000/v2/docs" in text and "http://127.0.0.1:8000/dev/messages" in text
    assert key in text and "passcode" in text and "create response" in text
    assert "http://127.0.0.1:8000/portal" in text  # the Portal is served
    with_user = banner.text("http://127.0.0.1:8000", key, banner.routes(app), ("admin@demo.example", "pw-of-demo"))
    assert "admin@demo.example / pw-of-demo" in with_user
    assert "admin@demo.example" not in banner.text("http://h:1", key, set(), ("admin@demo.example", "pw-of-demo"))


def test_the_banner_of_an_app_without_routes_names_none():
    assert banner.routes(object()) == set()
    text = banner.text("http://h:1", "k", set())
    assert "/v2/docs" not in text and "/dev/messages" not in text and "Demo Co key: k" in text


# -- the developer inbox ------------------------------------------------------------------------------------------

def test_the_inbox_shows_each_messages_workflow_id_and_time(dev):
    app, client, key = dev
    created = Api(client, key).create(None, raw=seed_examples()[0]).get_json()
    runtime = app.extensions["linx"]
    from linx_core.worker import Worker

    Worker(runtime).run_once()
    html = client.get("/dev/messages").get_data(as_text=True)
    assert f'<code class="workflow">{created["id"]}</code>' in html
    [stamp] = re.findall(r'<time datetime="([^"]+)">([^<]+)</time>', html)
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", stamp[1]), stamp
    assert client.get("/dev/messages.css").mimetype == "text/css"


# -- in a browser: Swagger UI works (Authorize, Try it out) and the inbox fits a phone ------------------------------

@pytest.fixture
def live(dev):
    app, _, key = dev
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", key, app.extensions["linx"]
    server.shutdown()
    thread.join(5)


@pytest.mark.system
def test_swagger_ui_authorizes_and_tries_a_seed_example_under_its_csp(live):
    from .test_gateway_browser import CHROMIUM, CHROMIUM_ARGS, _missing

    reason = _missing()
    if reason:
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    base, key, _ = live
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        problems, outside = [], []
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.on("request", lambda r: outside.append(r.url) if not r.url.startswith((base, "data:")) else None)
        page.goto(f"{base}/v2/docs")
        page.wait_for_selector(".opblock-tag", timeout=20_000)
        # the description renders as Markdown: no literal backtick or asterisk left in what is shown
        info = page.inner_text(".information-container")
        assert "Bearer" in info and "`" not in info and "**" not in info, info
        # Authorize with the business key (Bearer)
        page.click("button.authorize")
        page.fill(".modal-ux input[type=text], .modal-ux input[type=password]", key)
        page.click(".modal-ux button.authorize")
        page.click(".modal-ux button.btn-done")
        # Try it out: the create operation, with the brief's first example
        block = page.locator("#operations-default-post_v2_linx_workflows, .opblock-post").filter(
            has_text="/v2/linx/workflows").first
        block.locator(".opblock-summary").first.click()
        expanded = block.inner_text()
        assert "`" not in expanded, expanded[:2000]
        block.locator("button.try-out__btn").click()
        block.locator("select.examples-select__select, .examples-select select").first.select_option(
            "new-customer-account")
        block.locator("button.execute").click()
        block.locator(".live-responses-table tbody .response-col_status").first.wait_for(timeout=20_000)
        status = block.locator(".live-responses-table tbody .response-col_status").first.inner_text().strip()
        assert status.startswith("201"), (status, block.inner_text()[-3000:])
        # every operation opened: no description shows a literal backtick (Markdown renders them as code)
        summaries = page.locator(".opblock:not(.is-open) .opblock-summary")
        while summaries.count():
            summaries.first.click()
        page.wait_for_timeout(300)
        shown = page.inner_text("#swagger-ui")
        assert page.locator(".opblock.is-open").count() >= 20
        assert "`" not in shown, [line for line in shown.splitlines() if "`" in line][:5]
        assert "push-notifications" in shown and "Idempotency-Key" in shown
        assert not [p for p in problems if "Content Security Policy" in p or "Refused" in p], problems
        assert not outside, outside
        browser.close()


@pytest.mark.system
def test_the_inbox_fits_a_phone(live):
    from .test_gateway_browser import CHROMIUM, CHROMIUM_ARGS, PHONE, SHOTS, _missing

    reason = _missing()
    if reason:
        pytest.skip(reason)
    import requests
    from playwright.sync_api import sync_playwright

    from linx_core.worker import Worker

    base, key, runtime = live
    for block in seed_examples():
        created = requests.post(f"{base}/v2/linx/workflows", data=block, timeout=10, headers={
            "Authorization": f"Bearer {key}", "Content-Type": "application/json"})
        assert created.status_code == 201, created.text
    Worker(runtime).run_until_idle()  # no worker thread here: send the four messages into the inbox
    assert len(requests.get(f"{base}/dev/messages.json", timeout=5).json()["messages"]) == 4
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport=PHONE)
        page.goto(f"{base}/dev/messages")
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / "dev-inbox-390.png"), full_page=True)
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        assert page.locator("code.workflow").count() == 4 and page.locator("time").count() == 4
        # the link is a button-sized target, inside the screen
        box = page.locator("a.open").first.bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"] and box["height"] >= 32
        browser.close()
