"""Money-movement test helpers: a runtime whose rails keep their files in a folder of the test's own,
workflows driven to confirmation through the journey services (no browser), and the worker.

Each rail test gets its own instance folder (the rails' ledgers and NACHA files live there), so an
ACH window of one test never holds another test's entries.
"""
import json
import uuid

from gateway_app import create_app
from linx_core import clock
from linx_core.clock import FrozenClock
from linx_core.runtime import Runtime
from linx_core.services import journey
from linx_core.services.workflows import steps_of
from linx_core.store.models import Transaction, Workflow
from linx_core.worker import Worker

from .conftest import Api
from .conftest import test_settings as make_settings

DEBIT_CARD = "4000056655665556"
CARD_FORM = {"holderName": "Jane Doe", "cardNumber": DEBIT_CARD, "expiry": "12/30", "postalCode": "10001"}
ROUTING = "110000000"
BANK_ACCOUNT = "000123456789"
BANK_FORM = {"holderName": "Jane Doe", "routingNumber": ROUTING, "accountNumber": BANK_ACCOUNT}
ADDRESS = {"street": "1 Main Street", "city": "New York", "state": "NY", "postalCode": "10001", "country": "USA"}
CUSTOMER_FORM = {"firstName": "Jane", "lastName": "Doe", "email": "jane.doe@example.com"}
BA_ACCOUNT_ID = "31c6d624-6a0c-4049-b1f1-f3ea7d00ba35"  # Demo Co's operating account (USD)


def rail_runtime(rt, folder, plugins=None, **settings):
    """A runtime on ``rt``'s database whose instance folder (rails' ledgers, NACHA files) is ``folder``."""
    values = dict(database_url=rt.settings.database_url, instance_path=str(folder))
    values.update(settings)
    return Runtime(make_settings(**values), database=rt.database, plugins=plugins)


def make_app(runtime):
    """The app on ``runtime``, with the transactions API mounted at /v2 (if create_app does not yet)."""
    from gateway_app.api import transactions

    app = create_app(runtime=runtime)
    if "transactions" not in app.blueprints:
        app.register_blueprint(transactions.bp, url_prefix="/v2")
    app.config["TESTING"] = True
    return app


def api_for(runtime, key):
    return Api(make_app(runtime).test_client(), key)


def freeze(at):
    frozen = FrozenClock(at)
    clock.set_clock(frozen)
    return frozen


def body(solution="push-to-card", type="SEND", amount="256.25", subtype=None, priority=None, currency="USD",
         description=None, memo=None, phone="+16471234567", existing_account=None, customer_id=None):
    """A workflow body (JSON text: the amount is written as a JSON number) for a new customer's new account,
    or for an existing customer's existing account when ``existing_account`` is given."""
    subtype = subtype or {"push-to-card": "DEBIT"}.get(solution, "CHECKING")
    priority = priority or {"push-to-card": "IMMEDIATE", "ach": "SAME_DAY", "wire": "SAME_DAY",
                            "rtp": "IMMEDIATE"}[solution]
    params = {"channel": "SMS", "phoneNumber": phone, "introductoryMessage": "Your payment",
              "transactionType": type, "solution": solution, "baFinancialAccountId": BA_ACCOUNT_ID,
              "currency": currency, "amount": "__AMOUNT__", "priority": priority,
              "paymentReasonId": "payment-of-rebates"}
    if existing_account:
        params.update(customerId=customer_id, customerFinancialAccountId=existing_account)
        steps = ["notification", "lookup-profile", "lookup-financial-account", "move-money"]
    else:
        params["financialAccountSubType"] = subtype
        steps = ["notification", "customer-account", "financial-account", "move-money"]
    if description is not None:
        params["description"] = description
    if memo is not None:
        params["memo"] = memo
    doc = {"title": f"{type.title()} {amount} {currency} by {solution}", "expireIn": "2", "parameters": params,
           "steps": [{"name": n} for n in steps]}
    return json.dumps(doc).replace('"__AMOUNT__"', str(amount))


def create(api, raw):
    response = api.create(None, raw=raw)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def run(runtime):
    """Run the worker until nothing is due."""
    return Worker(runtime).run_until_idle()


def to_confirmation(runtime, workflow_id, account_form=None, customer_form=None, confirm=True):
    """Send the link, then do each step as the customer would; returns the transaction (or None)."""
    run(runtime)
    for _ in range(10):
        workflow = Workflow.get_by_id(uuid.UUID(str(workflow_id)))
        steps = steps_of(workflow)
        position = workflow.current_step
        name = steps[position].name
        if name == "customer-account":
            journey.submit(runtime, workflow.id, position, "customer-account", customer_form or CUSTOMER_FORM)
        elif name == "lookup-profile":
            journey.submit(runtime, workflow.id, position, "lookup-profile", {})
        elif name == "financial-account":
            journey.submit(runtime, workflow.id, position, "financial-account", account_form or CARD_FORM)
        elif name == "lookup-financial-account":
            journey.submit(runtime, workflow.id, position, "lookup-financial-account", {})
        elif name == "document-acceptance":
            wanted = [d["documentId"] for d in workflow.parameters.get("documents", [])]
            shown = {d: {"lang": "en", "sha256": "0" * 64} for d in wanted}
            journey.submit(runtime, workflow.id, position, "document-acceptance",
                           {"accepted": wanted, "shown": shown, "client": {"ipAddress": "192.0.2.1", "userAgent": "t"}})
            if position + 1 >= len(steps):
                return None
        elif name == "move-money":
            if not confirm:
                return None
            return journey.submit(runtime, workflow.id, position, "move-money", {})
        else:
            raise AssertionError(f"no driver for the step {name}")
    raise AssertionError("the workflow did not reach move-money")


def transaction_of(workflow_id):
    return Transaction.get(Transaction.workflow == uuid.UUID(str(workflow_id)))


def reload(tx):
    return Transaction.get_by_id(tx.id)
