"""Debit authorizations (issue 14, section 4): a customer accepts the ACH debit authorization on the Gateway
with a bank account, and the business reads, lists and revokes the record; erasure keeps it. Both backends."""
import hashlib
from pathlib import Path

import pytest

from gateway_app import create_app
from linx_core.runtime import Runtime
from linx_core.services import businesses, erasure
from linx_core.store.models import Authorization, Event, Workflow

from .conftest import Api
from .conftest import test_settings as make_settings
from .drive import link_token
from .test_gateway import ROUTING, Visitor, create, profile

ROOT = Path(__file__).resolve().parent.parent
STEPS = ["notification", "customer-account", "financial-account", "document-acceptance"]
BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AuthzTest/1.0"


def sha(name):
    return hashlib.sha256((ROOT / "gateway_app" / "documents" / name).read_bytes()).hexdigest()


def debit_workflow(api, phone="+14165550100"):
    return create(api, 0, steps=STEPS, phoneNumber=phone, financialAccountSubType="CHECKING",
                  documents=[{"documentId": "ach-debit-authorization"}, {"documentId": "privacy-policy"}])


def complete(rt, api, visitor, phone="+14165550100"):
    """Create the workflow, and as the customer: profile, checking account, both documents accepted."""
    wid, passcode = debit_workflow(api, phone)
    go = "Continuer" if visitor.headers.get("Accept-Language", "").startswith("fr") else "Continue"
    landing = visitor.get(f"/l/{link_token(rt, wid)}")
    page = visitor.submit(landing, go, passcode=passcode)
    page = visitor.submit(page, go, **profile())
    page = visitor.submit(page, go, holderName="Jane Roe", routingNumber=ROUTING,
                          accountNumber="000123456789")
    assert page.h1 in ("Documents to accept", "Documents à accepter"), page.html
    return wid, page


def accept(visitor, page):
    return visitor.submit(page, "Continuer" if "Continuer" in page.html else "Continue",
                          **{"accept-ach-debit-authorization": "yes", "accept-privacy-policy": "yes"})


def test_accepting_the_debit_authorization_keeps_its_record_named_on_the_workflow(rt, app, api):
    visitor = Visitor(app, addr="198.51.100.23")
    visitor.headers["User-Agent"] = BROWSER
    wid, page = complete(rt, api, visitor)
    assert "you authorize the business" in page.html  # the text itself is on the page, not only behind a link
    done = accept(visitor, page)
    assert done.h1 == "All done"
    [auth] = Authorization.select().where(Authorization.workflow == wid)
    workflow = api.get(f"/v2/linx/workflows/{wid}").get_json()
    step = next(s for s in workflow["steps"] if s["name"] == "document-acceptance")
    assert step["data"]["authorizationId"] == str(auth.id)
    body = api.get(f"/v2/authorizations/{auth.id}").get_json()
    assert body["status"] == "ACTIVE" and body["workflowId"] == wid
    assert body["customerId"] == str(Workflow.get_by_id(wid).customer_id)
    assert body["document"] == {"id": "ach-debit-authorization", "version": "2026-01",
                                "title": "ACH Debit Authorization", "language": "en",
                                "sha256": sha("ach-debit-authorization.txt")}
    assert body["financialAccount"]["maskedNumber"].endswith("6789") and "000123456789" not in str(body)
    assert body["financialAccount"]["id"] == str(Workflow.get_by_id(wid).customer_account_id)
    assert body["financialAccount"]["type"] == "BANK" and body["financialAccount"]["subtype"] == "CHECKING"
    assert body["ipAddress"] == "198.51.100.23" and body["userAgent"] == BROWSER
    assert body["acceptedAt"] and body["revokedAt"] is None and body["retainUntil"] is None
    [event] = Event.select().where(Event.type == "authorization.created")
    assert event.data["authorizationId"] == str(auth.id) and event.subject_id == auth.id
    assert "ipAddress" not in event.data  # webhooks get the reference, not the session


def test_in_french_the_hash_is_of_the_french_text(rt, app, api):
    visitor = Visitor(app, lang="fr-CA")
    wid, page = complete(rt, api, visitor)
    assert "vous autorisez" in page.html
    accept(visitor, page)
    body = api.get(f"/v2/authorizations?workflowId={wid}").get_json()["content"][0]
    assert body["document"]["language"] == "fr" and body["document"]["sha256"] == sha("ach-debit-authorization.fr.txt")


def test_behind_a_proxy_the_ip_is_the_forwarded_client(rt, api):
    app = create_app(runtime=Runtime(make_settings(database_url=rt.settings.database_url, proxy_hops=1),
                                     database=rt.database))
    app.config["TESTING"] = True
    visitor = Visitor(app, addr="10.0.0.2")
    visitor.headers["X-Forwarded-For"] = "203.0.113.9"
    wid, page = complete(rt, api, visitor)
    accept(visitor, page)
    rt.bind()
    assert Authorization.get(Authorization.workflow == wid).ip_address == "203.0.113.9"


def test_no_bank_account_no_record_and_other_documents_make_none(rt, app, api):
    wid, passcode = create(api, 0, steps=["notification", "customer-account", "document-acceptance"],
                           phoneNumber="+14165550100", financialAccountSubType=None,
                           documents=[{"documentId": "ach-debit-authorization"}])
    visitor = Visitor(app)
    page = visitor.open(link_token(rt, wid), passcode)
    page = visitor.submit(page, "Continue", **profile())
    done = visitor.submit(page, "Continue", **{"accept-ach-debit-authorization": "yes"})
    assert done.h1 == "All done"
    assert Authorization.select().count() == 0
    step = next(s for s in api.get(f"/v2/linx/workflows/{wid}").get_json()["steps"]
                if s["name"] == "document-acceptance")
    assert "authorizationId" not in step["data"] and step["data"]["accepted"][0]["documentId"] == \
        "ach-debit-authorization"


def test_list_filters_revoke_is_idempotent_with_one_event_and_keeps_the_record(rt, app, api):
    # two customers, each completing their own workflow
    v1 = Visitor(app)
    w1, p1 = complete(rt, api, v1, "+14165550100")
    accept(v1, p1)
    v2 = Visitor(app)
    w2, p2 = complete(rt, api, v2, "+14165550111")
    accept(v2, p2)
    listed = api.get("/v2/authorizations?size=1").get_json()
    assert listed["totalElements"] == 2 and len(listed["content"]) == 1 and listed["totalPages"] == 2
    c2 = str(Workflow.get_by_id(w2).customer_id)
    by_customer = api.get(f"/v2/authorizations?customerId={c2}").get_json()["content"]
    assert [a["workflowId"] for a in by_customer] == [w2]
    aid = by_customer[0]["id"]
    revoked = api.client.post(f"/v2/authorizations/{aid}/revoke", headers=api.headers())
    assert revoked.status_code == 200 and revoked.get_json()["status"] == "REVOKED"
    body = revoked.get_json()
    assert body["revokedAt"] and body["retainUntil"] > body["revokedAt"][:4]
    assert int(body["retainUntil"][:4]) - int(body["revokedAt"][:4]) == 2
    again = api.client.post(f"/v2/authorizations/{aid}/revoke", headers=api.headers({"Idempotency-Key": "revoke-1"}))
    assert again.status_code == 200 and again.get_json()["revokedAt"] == body["revokedAt"]
    replay = api.client.post(f"/v2/authorizations/{aid}/revoke", headers=api.headers({"Idempotency-Key": "revoke-1"}))
    assert replay.headers.get("Idempotent-Replayed") == "true" and replay.get_json() == again.get_json()
    assert Event.select().where(Event.type == "authorization.revoked").count() == 1
    assert [a["id"] for a in api.get("/v2/authorizations?status=REVOKED").get_json()["content"]] == [aid]
    assert api.get(f"/v2/authorizations/{aid}").get_json()["document"]["sha256"]  # still readable
    assert [a["workflowId"] for a in api.get("/v2/authorizations?status=ACTIVE").get_json()["content"]] == [w1]


def test_the_batch_filter_lists_only_the_authorizations_given_on_that_batchs_workflows(rt, app, api, client, other):
    import uuid
    v1 = Visitor(app)
    w1, p1 = complete(rt, api, v1, "+14165550100")
    accept(v1, p1)
    v2 = Visitor(app)
    w2, p2 = complete(rt, api, v2, "+14165550111")
    accept(v2, p2)
    batch_id, other_batch = uuid.uuid4(), uuid.uuid4()
    # the batch that made the workflow (its expansion is tested in test_batches; here only the link matters)
    Workflow.update(batch_id=batch_id).where(Workflow.id == w2).execute()
    listed = api.get(f"/v2/authorizations?batchId={batch_id}").get_json()
    assert [a["workflowId"] for a in listed["content"]] == [w2] and listed["totalElements"] == 1
    assert api.get(f"/v2/authorizations?batchId={other_batch}").get_json()["content"] == []
    both = api.get(f"/v2/authorizations?batchId={batch_id}&workflowId={w1}").get_json()
    assert both["content"] == []  # filters combine
    stranger = Api(client, other["key"])
    assert stranger.get(f"/v2/authorizations?batchId={batch_id}").get_json()["content"] == []


@pytest.mark.parametrize("query, path", [("status=GONE", "query.status"), ("customerId=nope", "query.customerId"),
                                         ("workflowId=1", "query.workflowId"), ("size=0", "query.size"),
                                         ("batchId=x", "query.batchId"), ("batchId=", "query.batchId"),
                                         ("page=x", "query.page"), ("batch=1", "query.batch")])
def test_bad_queries_are_400_with_their_path(api, query, path):
    response = api.get(f"/v2/authorizations?{query}")
    assert response.status_code == 400
    assert path in [p["path"] for p in response.get_json()["errors"]], response.get_json()


def test_another_business_gets_404_and_a_read_only_key_reads_but_cannot_revoke(rt, app, api, demo, other, client):
    visitor = Visitor(app)
    wid, page = complete(rt, api, visitor)
    accept(visitor, page)
    aid = str(Authorization.get(Authorization.workflow == wid).id)
    stranger = Api(client, other["key"])
    assert stranger.get(f"/v2/authorizations/{aid}").status_code == 404
    assert stranger.get("/v2/authorizations").get_json()["totalElements"] == 0
    assert stranger.get(f"/v2/authorizations?workflowId={wid}").get_json()["content"] == []
    assert client.post(f"/v2/authorizations/{aid}/revoke", headers=stranger.headers()).status_code == 404
    assert api.get("/v2/authorizations/not-a-uuid").status_code == 404
    reader = Api(client, businesses.issue_key(rt, demo[0], "auditor", read_only=True))
    assert reader.get(f"/v2/authorizations/{aid}").status_code == 200
    refused = client.post(f"/v2/authorizations/{aid}/revoke", headers=reader.headers())
    assert refused.status_code == 403 and refused.get_json()["errorCode"] == "READ_ONLY_API_KEY"
    assert Authorization.get_by_id(aid).status == "ACTIVE"


def test_erasure_keeps_the_record_but_not_the_ip_address_and_user_agent(rt, app, api, demo):
    visitor = Visitor(app)
    visitor.headers["User-Agent"] = BROWSER
    wid, page = complete(rt, api, visitor)
    accept(visitor, page)
    customer_id = Workflow.get_by_id(wid).customer_id
    erasure.erase_customer(rt, demo[0], customer_id)
    body = api.get(f"/v2/authorizations?customerId={customer_id}").get_json()["content"][0]
    assert body["ipAddress"] is None and body["userAgent"] is None and body["personalDataErasedAt"]
    assert body["document"]["sha256"] == sha("ach-debit-authorization.txt") and body["status"] == "ACTIVE"
    assert body["financialAccount"]["maskedNumber"].endswith("6789") and body["acceptedAt"]


def test_the_routes_and_events_are_in_the_openapi_document_and_webhooks_can_subscribe(client, api):
    subscribed = client.post("/v2/push-notifications", headers=api.headers(), json={
        "url": "https://93.184.216.34/authorizations",
        "eventTypes": ["authorization.created", "authorization.revoked"]})
    assert subscribed.status_code == 201, subscribed.get_json()
    document = client.get("/v2/openapi.json").get_json()
    for path in ("/v2/authorizations", "/v2/authorizations/{authorizationId}",
                 "/v2/authorizations/{authorizationId}/revoke"):
        assert path in document["paths"]
    params = document["paths"]["/v2/authorizations"]["get"]["parameters"]
    assert "batchId" in [p["name"] for p in params]
    assert "403" in document["paths"]["/v2/authorizations/{authorizationId}/revoke"]["post"]["responses"]
    types = document["components"]["schemas"]["Event"]["properties"]["type"]["enum"]
    assert {"authorization.created", "authorization.revoked"} <= set(types)


def test_the_catalog_marks_the_document_and_refuses_an_unknown_kind(rt):
    assert rt.rules.catalog["documents"]["ach-debit-authorization"]["kind"] == "debit-authorization"
    from linx_core.rules.meta import catalog_entry_schema

    problems = catalog_entry_schema("documents").validate({"title": "X", "version": "1", "kind": "other"})
    assert "kind" in problems

