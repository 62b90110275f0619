"""The Portal (issue 15): users, sign-in, lockout, sessions, roles, pages, isolation, the audit log (both backends)."""
import datetime as dt
import re

import pytest

from linx_core import clock
from linx_core.errors import Conflict, RuleViolation
from linx_core.services import portal_users
from linx_core.store.models import AuditEvent, PortalSession, Workflow

PASSWORD = "correct-staple-97-horse"


@pytest.fixture
def people(rt, demo, other):
    business = demo[0]
    return {
        "admin": portal_users.create_user(business, "ada@demo.example", "admin", PASSWORD),
        "operator": portal_users.create_user(business, "otto@demo.example", "operator", PASSWORD),
        "viewer": portal_users.create_user(business, "vera@demo.example", "viewer", PASSWORD),
        "other": portal_users.create_user(other["business"], "olga@other.example", "admin", PASSWORD),
    }


def _csrf(client, path="/portal/login"):
    page = client.get(path)
    return re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True)).group(1)


def sign_in(client, email, password=PASSWORD):
    return client.post("/portal/login", data={"email": email, "password": password, "csrf_token": _csrf(client)})


def _workflow(api_client, key, title="Portal test"):
    body = {"title": title, "expireIn": "2", "parameters": {"channel": "SMS", "phoneNumber": "+16475550100"},
            "steps": [{"name": "notification"}, {"name": "customer-account"}]}
    response = api_client.post("/v2/linx/workflows", json=body, headers={"Authorization": f"Bearer {key}"})
    assert response.status_code in (200, 201), response.get_json()
    return response.get_json()["workflowId"] if "workflowId" in response.get_json() else response.get_json()["id"]


# -- users ---------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("password,code", [("short-pass", "TOO_SHORT"), ("password1234", "COMMON_PASSWORD"),
                                           ("aaaaaaaaaaaaaaa", "COMMON_PASSWORD"),
                                           ("Password123456", "COMMON_PASSWORD")])
def test_weak_passwords_are_refused(rt, demo, password, code):
    with pytest.raises(RuleViolation) as refused:
        portal_users.create_user(demo[0], "new@demo.example", "admin", password)
    assert refused.value.problems[0].code == code


def test_a_user_is_created_once_and_hashed_with_argon2(rt, demo):
    user = portal_users.create_user(demo[0], " New@Demo.Example ", "operator", PASSWORD)
    assert user.email == "new@demo.example" and user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash
    with pytest.raises(Conflict):
        portal_users.create_user(demo[0], "new@demo.example", "viewer", PASSWORD)
    assert AuditEvent.select().where(AuditEvent.action == "user.created").count() == 1


# -- sign-in -------------------------------------------------------------------------------------------------------

def test_sign_in_shows_the_labels_and_a_good_password_opens_home(client, people):
    page = client.get("/portal/login").get_data(as_text=True)
    for text in ('<label for="email">Email</label>', '<label for="password">Password</label>', ">Sign in</button>"):
        assert text in page
    assert client.get("/portal/").status_code == 303  # not signed in: to the sign-in page
    response = sign_in(client, "ada@demo.example")
    assert response.status_code == 303 and response.headers["Location"].endswith("/portal/")
    home = client.get("/portal/")
    assert home.status_code == 200 and "<svg" in home.get_data(as_text=True)
    for name in ("Content-Security-Policy", "X-Frame-Options", "Referrer-Policy", "X-Content-Type-Options"):
        assert name in home.headers


def test_a_post_without_csrf_is_refused(client, people):
    response = client.post("/portal/login", data={"email": "ada@demo.example", "password": PASSWORD})
    assert response.status_code == 400 and "This page has expired" in response.get_data(as_text=True)
    assert client.get("/portal/").status_code == 303


def test_wrong_passwords_lock_the_account(app, client, people):
    for _ in range(portal_users.LOCK_AFTER - 1):
        assert sign_in(client, "ada@demo.example", "wrong-password-123").status_code == 401
    locked = sign_in(client, "ada@demo.example", "wrong-password-123")
    assert locked.status_code == 429 and "locked" in locked.get_data(as_text=True)
    assert sign_in(client, "ada@demo.example").status_code == 429  # even the right password, while locked
    assert sign_in(app.test_client(), "otto@demo.example").status_code == 303  # another account is not locked
    portal_users.reset_password(people["admin"], "another-good-pass-42")
    assert sign_in(client, "ada@demo.example", "another-good-pass-42").status_code == 303


def test_an_unknown_email_gets_the_same_answer(client, people):
    assert sign_in(client, "nobody@demo.example").status_code == 401


def test_sign_out_idle_and_disable_end_the_session(app, client, people):
    sign_in(client, "ada@demo.example")
    assert client.get("/portal/").status_code == 200
    client.post("/portal/logout", data={"csrf_token": _csrf(client, "/portal/")})
    assert client.get("/portal/").status_code == 303

    sign_in(client, "ada@demo.example")
    row = PortalSession.select().where(PortalSession.ended_at.is_null()).get()
    row.seen_at = clock.now() - dt.timedelta(seconds=app.config["LINX_PORTAL_IDLE_SECONDS"] + 5)
    row.save()
    assert client.get("/portal/").status_code == 303

    sign_in(client, "ada@demo.example")
    assert client.get("/portal/").status_code == 200
    portal_users.disable_user(people["admin"])
    assert client.get("/portal/").status_code == 303
    assert sign_in(client, "ada@demo.example").status_code == 401


# -- pages, roles, isolation -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/portal/", "/portal/workflows", "/portal/customers", "/portal/transactions",
                                  "/portal/api-keys", "/portal/audit", "/portal/workflows?status=ACTIVE&q=x"])
def test_every_page_renders(client, people, path):
    sign_in(client, "vera@demo.example")
    assert client.get(path).status_code == 200


def test_a_viewer_sees_no_buttons_and_a_forged_post_is_403(app, client, people, demo):
    wid = _workflow(app.test_client(), demo[1])
    sign_in(client, "vera@demo.example")
    page = client.get(f"/portal/workflows/{wid}").get_data(as_text=True)
    assert "Cancel workflow" not in page and "Resend" not in page
    token = _csrf(client, f"/portal/workflows/{wid}")
    assert client.post(f"/portal/workflows/{wid}/cancel", data={"csrf_token": token}).status_code == 403
    assert Workflow.get_by_id(wid).status != "CANCELLED"


def test_an_operator_cancels_and_the_audit_log_says_who(app, client, people, demo):
    wid = _workflow(app.test_client(), demo[1])
    sign_in(client, "otto@demo.example")
    page = client.get(f"/portal/workflows/{wid}").get_data(as_text=True)
    assert "Cancel workflow" in page and "Archive" not in page
    token = _csrf(client, f"/portal/workflows/{wid}")
    assert client.post(f"/portal/workflows/{wid}/cancel", data={"csrf_token": token}).status_code == 303
    assert Workflow.get_by_id(wid).status == "CANCELLED"
    listed = app.test_client().get("/v2/audit-events", headers={"Authorization": f"Bearer {demo[1]}"}).get_json()
    first = listed["content"][0]
    assert (first["action"], first["actor"], first["objectId"]) == ("workflow.cancel", "otto@demo.example", wid)
    assert first["address"] == "127.0.0.1"


def test_the_audit_api_is_tenant_isolated_and_checks_its_query(app, people, demo, other):
    api = app.test_client()
    mine = api.get("/v2/audit-events", headers={"Authorization": f"Bearer {demo[1]}"}).get_json()
    theirs = api.get("/v2/audit-events", headers={"Authorization": f"Bearer {other['key']}"}).get_json()
    assert {e["details"]["email"] for e in mine["content"]} == {"ada@demo.example", "otto@demo.example",
                                                                 "vera@demo.example"}
    assert [e["details"]["email"] for e in theirs["content"]] == ["olga@other.example"]
    bad = api.get("/v2/audit-events?size=0&nope=1", headers={"Authorization": f"Bearer {demo[1]}"})
    assert bad.status_code == 400 and bad.get_json()["errorCode"]
    assert api.get("/v2/audit-events").status_code == 401


@pytest.mark.parametrize("method,path", [
    ("GET", "/portal/workflows/{wf}"), ("POST", "/portal/workflows/{wf}/cancel"),
    ("POST", "/portal/workflows/{wf}/resend"), ("POST", "/portal/workflows/{wf}/extend"),
    ("POST", "/portal/workflows/{wf}/archive"), ("POST", "/portal/workflows/{wf}/recover"),
    ("POST", "/portal/workflows/{wf}/nonsense"), ("GET", "/portal/customers/{customer}"),
    ("GET", "/portal/transactions/{wf}"), ("POST", "/portal/api-keys/{key}/revoke"),
])
def test_another_business_objects_are_404(app, client, people, demo, other, method, path):
    wid = _workflow(app.test_client(), other["key"], "Other's")
    from linx_core.services.businesses import list_keys

    url = path.format(wf=wid, customer=other["customer"].id, key=list_keys(other["business"])[0].id)
    sign_in(client, "ada@demo.example")
    if method == "GET":
        assert client.get(url).status_code == 404
    else:
        assert client.post(url, data={"csrf_token": _csrf(client, "/portal/")}).status_code == 404
    assert Workflow.get_by_id(wid).status not in ("CANCELLED",)


def test_a_key_created_in_the_portal_is_shown_once_and_revoked_gets_401(app, client, people):
    sign_in(client, "ada@demo.example")
    page = client.post("/portal/api-keys",
                       data={"label": "portal-made", "csrf_token": _csrf(client, "/portal/api-keys")})
    key = re.search(r'<code id="new-key">([^<]+)</code>', page.get_data(as_text=True)).group(1)
    api = app.test_client()
    assert api.get("/v2/audit-events", headers={"Authorization": f"Bearer {key}"}).status_code == 200
    from linx_core.store.models import ApiKey

    row = ApiKey.get(ApiKey.label == "portal-made")
    assert client.post(f"/portal/api-keys/{row.id}/revoke",
                       data={"csrf_token": _csrf(client, "/portal/api-keys")}).status_code == 303
    assert api.get("/v2/audit-events", headers={"Authorization": f"Bearer {key}"}).status_code == 401
    assert key not in client.get("/portal/api-keys").get_data(as_text=True)


def test_csv_export_escapes_formulas(app, client, people, demo):
    _workflow(app.test_client(), demo[1], "=HYPERLINK(\"http://evil\")")
    sign_in(client, "ada@demo.example")
    response = client.get("/portal/workflows.csv")
    assert response.mimetype == "text/csv"
    text = response.get_data(as_text=True)
    assert "'=HYPERLINK" in text and "\n=HYPERLINK" not in text and ",=HYPERLINK" not in text


def test_french_sign_in_page(client, people):
    page = client.get("/portal/login", headers={"Accept-Language": "fr-CA"}).get_data(as_text=True)
    assert "Courriel" in page and "Mot de passe" in page and "Se connecter" in page


def test_the_actions_follow_the_lifecycle_and_each_is_audited(app, client, people, demo):
    wid = _workflow(app.test_client(), demo[1])
    sign_in(client, "ada@demo.example")

    def act(action, expect=303):
        response = client.post(f"/portal/workflows/{wid}/{action}",
                               data={"csrf_token": _csrf(client, f"/portal/workflows/{wid}")})
        assert response.status_code == expect, response.get_data(as_text=True)[:500]
        return response

    before = Workflow.get_by_id(wid).expire_at
    act("extend")
    assert Workflow.get_by_id(wid).expire_at >= before
    act("resend")
    act("cancel")
    page = client.get(f"/portal/workflows/{wid}").get_data(as_text=True)
    assert ">Recover</button>" in page and ">Archive</button>" in page and ">Cancel workflow</button>" not in page
    recovered = act("recover")
    new_id = recovered.headers["Location"].rsplit("/", 1)[1]
    assert new_id != wid and Workflow.get_by_id(wid).recovered_by is not None
    assert ">Recover</button>" not in client.get(f"/portal/workflows/{wid}").get_data(as_text=True)  # recovered once
    act("archive")
    assert Workflow.get_by_id(wid).status == "ARCHIVED"
    actions = [e.action for e in AuditEvent.select().where(AuditEvent.object_id == wid).order_by(AuditEvent.created_at)]
    assert actions == ["workflow.extend", "workflow.resend", "workflow.cancel", "workflow.recover", "workflow.archive"]
    assert act("nonsense", 404)


def test_a_refused_action_is_shown_not_a_500(app, client, people, demo):
    wid = _workflow(app.test_client(), demo[1])
    sign_in(client, "ada@demo.example")
    token = _csrf(client, f"/portal/workflows/{wid}")
    response = client.post(f"/portal/workflows/{wid}/archive", data={"csrf_token": token}, follow_redirects=True)
    assert response.status_code == 200 and 'class="flash flash-error"' in response.get_data(as_text=True)
    assert Workflow.get_by_id(wid).status != "ARCHIVED"


@pytest.mark.parametrize("query", ["status=BOGUS", "page=abc", "page=-1", "q=" + "x" * 300, "q=%00", "page=9999999"])
def test_bad_list_queries_never_crash(client, people, query):
    sign_in(client, "ada@demo.example")
    for path in ("/portal/workflows", "/portal/workflows.csv", "/portal/customers", "/portal/transactions",
                 "/portal/audit"):
        assert client.get(f"{path}?{query}").status_code in (200, 400), (path, query)
    assert client.get("/portal/workflows/not-a-uuid").status_code == 404


def test_the_audit_api_is_in_the_openapi_document(client):
    spec = client.get("/v2/openapi.json").get_json()
    assert "get" in spec["paths"]["/v2/audit-events"]
    assert "AuditEventPage" in spec["components"]["schemas"]


def test_the_workflow_list_filters_and_pages(app, client, people, demo):
    for i in range(3):
        _workflow(app.test_client(), demo[1], f"Listed {i}")
    sign_in(client, "vera@demo.example")
    page = client.get("/portal/workflows?q=Listed 1").get_data(as_text=True)
    assert "Listed 1" in page and "Listed 2" not in page
    assert "Listed" not in client.get("/portal/workflows?status=COMPLETED").get_data(as_text=True)


def test_totp_enrolment_and_sign_in(app, client, people):
    import pyotp

    sign_in(client, "ada@demo.example")
    page = client.get("/portal/account/two-factor").get_data(as_text=True)
    assert "<svg" in page and "<script" not in page
    secret = re.search(r'<code id="totp-secret">([A-Z2-7]+)</code>', page).group(1)
    sealed = re.search(r'name="sealed" value="([^"]+)"', page).group(1)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    wrong = client.post("/portal/account/two-factor", data={"csrf_token": token, "sealed": sealed, "code": "000000"})
    assert wrong.status_code == 400 and not portal_users.find_user("ada@demo.example").totp_sealed
    forged = client.post("/portal/account/two-factor", data={"csrf_token": token, "sealed": "forged", "code": "1"})
    assert forged.status_code == 400
    done = client.post("/portal/account/two-factor",
                       data={"csrf_token": token, "sealed": sealed, "code": pyotp.TOTP(secret).now()})
    assert done.status_code == 200 and "is on" in done.get_data(as_text=True)
    assert secret not in (portal_users.find_user("ada@demo.example").totp_sealed or "")

    fresh = app.test_client()
    assert sign_in(fresh, "ada@demo.example").status_code == 401  # the password alone is not enough now
    with_code = fresh.post("/portal/login", data={"email": "ada@demo.example", "password": PASSWORD,
                                                  "code": pyotp.TOTP(secret).now(), "csrf_token": _csrf(fresh)})
    assert with_code.status_code == 303
    assert AuditEvent.select().where(AuditEvent.action == "user.totp_enrolled").count() == 1


def test_home_counts_and_what_needs_attention(app, client, people, demo, other):
    import uuid

    from linx_core.store.models import Event, Job, WebhookDelivery, WebhookSubscription

    _workflow(app.test_client(), demo[1], "Counted")
    _workflow(app.test_client(), other["key"], "Not ours")
    Job.create(business=demo[0], kind="deliver", payload={}, status="PARKED", run_at=clock.now())
    sub = WebhookSubscription.create(business=demo[0], url="https://hooks.example/x", sealed_secret="s")
    event = Event.create(business=demo[0], type="linx.workflow-status-changed", subject_id=uuid.uuid4(), data={})
    WebhookDelivery.create(subscription=sub, event=event, attempt=1, outcome="FAILED", http_status=500)
    sign_in(client, "vera@demo.example")
    page = client.get("/portal/").get_data(as_text=True)
    assert "<td>Created</td><td>1</td>" in page  # ours only
    assert "Parked jobs: 1" in page and "in the last day): 1" in page and "Failed payments: 0" in page
