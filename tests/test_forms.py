"""gateway_app.forms: Flask-WTF's CSRF check on a small app shaped like ours (pages and an API)."""
import re
import time

import itsdangerous.timed
import pytest
from flask import Blueprint, Flask, render_template_string, session

from gateway_app import forms

PAGE = '<form method="post"><input type="hidden" name="csrf_token" value="{{ csrf_token() }}"></form>'


@pytest.fixture
def app():
    app = Flask("forms_test")
    app.config.update(SECRET_KEY="test-secret", TESTING=True)
    pages = Blueprint("pages", __name__)
    api = Blueprint("api", __name__)

    @pages.get("/page")
    def page():
        return render_template_string(PAGE)

    @pages.post("/page")
    def post():
        return "posted"

    @pages.post("/rebind")
    def rebind():
        session.clear()
        session["wf"] = "another"
        forms.rotate_csrf()
        return render_template_string(PAGE)

    @pages.route("/anything", methods=["PUT", "DELETE"])
    def anything():
        return "not found here", 404

    @pages.errorhandler(forms.CSRFError)
    def expired(exc):
        return "This page has expired", 400

    @api.post("/v2/things")
    def things():
        return {"ok": True}, 201

    app.register_blueprint(pages)
    app.register_blueprint(api)
    forms.init_app(app, exempt_blueprints=(api,))
    return app


def token_of(response):
    return re.search(r'name="csrf_token" value="([^"]+)"', response.get_data(as_text=True)).group(1)


def test_a_post_needs_the_token_of_its_own_session(app):
    client = app.test_client()
    token = token_of(client.get("/page"))
    for bad in ({}, {"csrf_token": ""}, {"csrf_token": "forged"}, {"csrf_token": token + "x"}):
        refused = client.post("/page", data=bad)
        assert refused.status_code == 400 and refused.get_data(as_text=True) == "This page has expired"
    assert client.post("/page", data={"csrf_token": token}).get_data(as_text=True) == "posted"
    other = app.test_client()
    theirs = token_of(other.get("/page"))
    assert client.post("/page", data={"csrf_token": theirs}).status_code == 400
    assert other.post("/page", data={"csrf_token": theirs}).status_code == 200


def test_the_api_is_exempt_and_only_a_post_is_checked(app):
    client = app.test_client()
    assert client.post("/v2/things", json={}).status_code == 201
    assert client.get("/page").status_code == 200
    # what a browser cannot send unasked gets the page's own answer, not the CSRF page
    assert client.put("/anything").status_code == 404 and client.delete("/anything").status_code == 404


def test_rotating_refuses_the_old_token_and_the_next_page_carries_the_new_one(app):
    client = app.test_client()
    old = token_of(client.get("/page"))
    new = token_of(client.post("/rebind", data={"csrf_token": old}))
    assert new != old
    assert client.post("/page", data={"csrf_token": old}).status_code == 400
    assert client.post("/page", data={"csrf_token": new}).status_code == 200


def test_over_https_a_post_without_a_referer_passes_as_the_no_referrer_policy_needs(app):
    client = app.test_client()
    token = token_of(client.get("/page", base_url="https://gateway.example"))
    posted = client.post("/page", data={"csrf_token": token}, base_url="https://gateway.example")
    assert posted.status_code == 200


def test_a_token_lives_as_long_as_its_session_not_an_hour(app, monkeypatch):
    client = app.test_client()
    token = token_of(client.get("/page"))
    later = time.time() + 2 * 3600  # Flask-WTF's default would refuse it after 3600 s
    monkeypatch.setattr(itsdangerous.timed.time, "time", lambda: later)
    assert client.post("/page", data={"csrf_token": token}).status_code == 200


def test_a_plugins_blueprint_is_csrf_checked_unless_it_says_it_is_for_machines(tmp_path):
    """A plugin's page with a form is protected like the Gateway's; only a blueprint marked ``csrf_exempt``
    (a signed callback, an API with keys) is left out (found by review: every plugin blueprint was exempt)."""
    from flask import Blueprint

    from gateway_app import create_app
    from linx_core import hookimpl
    from linx_core.plugins import make_manager
    from linx_core.runtime import Runtime

    from .conftest import test_settings

    page, callback = Blueprint("plugin_page", __name__), Blueprint("plugin_callback", __name__)
    callback.csrf_exempt = True
    page.add_url_rule("/plugin/page", "post", lambda: "posted", methods=["POST"])
    callback.add_url_rule("/plugin/callback", "post", lambda: "called", methods=["POST"])

    class Plugin:
        @hookimpl
        def linx_register_blueprints(self, rt):
            return [page, callback]

    rt = Runtime(test_settings(database_url=f"sqlite:///{tmp_path / 'p.db'}"),
                 plugins=make_manager(load_entrypoints=False, extra=[Plugin()]))
    rt.migrate()
    client = create_app(runtime=rt).test_client()
    assert client.post("/plugin/page", data={"x": "1"}).status_code == 400  # no token: refused
    assert client.post("/plugin/callback", data={"x": "1"}).status_code == 200
