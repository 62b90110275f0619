"""The four example requests of the product brief, as named examples of the create operation in the OpenAPI
document (Swagger UI offers them in its "Examples" list); ``tests/test_docs.py`` checks they are the brief's
own."""
import json

#: name -> (summary, the request body as the brief writes it)
SEEDS = {
    "new-customer-account": (
        "1. A new customer account (on John Doe's number: the Gateway greets him)", """
    {
      "title": "Create a new Customer Account for John Doe",
      "expireIn": "2",
      "parameters": {
        "channel": "SMS",
        "phoneNumber": "+16471234567",
        "introductoryMessage": "Create a new customer account"
      },
      "steps": [
        {
          "name": "notification"
        },
        {
          "name": "customer-account"
        }
      ]
    }"""),
    "new-debit-card": (
        "2. A new debit card for John Doe", """
    {
      "title": "Create a new Financial Account for John Doe",
      "expireIn": "2",
      "parameters": {
        "channel": "SMS",
        "phoneNumber": "+16471234567",
        "introductoryMessage": "Add a debit card",
        "customerId": "8c8cab63-4e53-4acf-9efa-e7324816aa36",
        "financialAccountSubType": "DEBIT"
      },
      "steps": [
        {
          "name": "notification"
        },
        {
          "name": "lookup-profile"
        },
        {
          "name": "financial-account"
        }
      ]
    }"""),
    "rebate-to-a-new-card": (
        "3. A rebate to a new card of a new customer", """
    {
      "title": "Send a rebate to a new Financial Account for new Customer John Doe",
      "expireIn": "2",
      "parameters": {
        "channel": "SMS",
        "phoneNumber": "+16471234567",
        "introductoryMessage": "You have a rebate",
        "financialAccountSubType": "DEBIT",
        "transactionType": "SEND",
        "solution": "push-to-card",
        "baFinancialAccountId": "31c6d624-6a0c-4049-b1f1-f3ea7d00ba35",
        "currency": "USD",
        "amount": 256.25,
        "priority": "IMMEDIATE",
        "paymentReasonId": "payment-of-rebates"
      },
      "steps": [
        {
          "name": "notification"
        },
        {
          "name": "customer-account"
        },
        {
          "name": "financial-account"
        },
        {
          "name": "move-money"
        }
      ]
    }"""),
    "rebate-to-an-existing-card": (
        "4. A rebate to John Doe's existing card", """
    {
      "title": "Send a rebate to an existing Financial Account for John Doe",
      "expireIn": "2",
      "parameters": {
        "channel": "SMS",
        "phoneNumber": "+16471234567",
        "introductoryMessage": "You have a rebate",
        "customerId": "8c8cab63-4e53-4acf-9efa-e7324816aa36",
        "customerFinancialAccountId": "bbbf2fbf-81d4-4f2d-8f80-201bcca921d4",
        "transactionType": "SEND",
        "solution": "push-to-card",
        "baFinancialAccountId": "31c6d624-6a0c-4049-b1f1-f3ea7d00ba35",
        "currency": "USD",
        "amount": 256.25,
        "priority": "IMMEDIATE",
        "paymentReasonId": "payment-of-rebates"
      },
      "steps": [
        {
          "name": "notification"
        },
        {
          "name": "lookup-profile"
        },
        {
          "name": "lookup-financial-account"
        },
        {
          "name": "move-money"
        }
      ]
    }"""),
}


def create_examples():
    """The ``examples`` of the create operation's JSON request body."""
    return {name: {"summary": summary, "value": json.loads(body)} for name, (summary, body) in SEEDS.items()}
