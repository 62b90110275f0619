"""What ``make run`` prints before serving: the URL, the demo API key and a curl to paste."""
import json
import os
import sys

CURL = """curl -s -X POST {url}/v2/linx/workflows \\
  -H 'Authorization: Bearer {key}' \\
  -H 'Content-Type: application/json' \\
  -d '{{"title": "Create a new Customer Account for John Doe", "expireIn": "2",
       "parameters": {{"channel": "SMS", "phoneNumber": "+16471234567",
                      "introductoryMessage": "Create a new customer account"}},
       "steps": [{{"name": "notification"}}, {{"name": "customer-account"}}]}}'"""


def main(path: str) -> None:
    with open(path) as fh:
        demo = json.load(fh)
    url = os.environ.get("LINX_PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/")
    print(f"""
LinX (demo) at {url}
  API docs:     {url}/v2/docs
  Demo Co key:  {demo['apiKey']}

Create a workflow:
{CURL.format(url=url, key=demo['apiKey'])}
""")


if __name__ == "__main__":
    main(sys.argv[1])
