"""End to end: complete workflows per second, each the way a business and its customer do it.

One ``linx serve`` (the API, the Gateway and a worker thread, as ``make run`` starts it), in
development: the console channel writes each SMS to its inbox file. Every simulated customer (a
thread with its own ``requests.Session``: cookies, keep-alive) creates a seed-example-3 workflow
through the API for a new phone number, waits for the link in the inbox, opens it, gives the
passcode, fills the customer and card forms found on the pages (CSRF and hidden fields included) and
confirms; the push-to-card sandbox approves and settles, and the workflow is done when a loopback
webhook receiver (subscribed to every event) gets ``transactions.status-changed`` with SETTLED.

Printed and written: workflows per second at each number of customers at once, and the time per
workflow (create to webhook) as a multiple of one create request's time in the same run (its
``ratio``). The sandbox settles 5 seconds after approval; ``LINX_CLOCK_SPEED`` (a development
setting) runs LinX's clock 30 times faster, so that wait is about 0.17 s and the figure shows LinX's
own work. Customers come from distinct addresses (``X-Forwarded-For``, ``LINX_PROXY_HOPS=1``), as
real ones would, so the Gateway's per-address rate limits do not throttle the run.

    python bench/bench_e2e.py [--backend sqlite|postgres|both] [--quick|--tiny]
"""
import json
import statistics
import threading
import time
from collections import defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urljoin

import requests

from common import (
    LINX,
    Process,
    arguments,
    database,
    free_port,
    init_demo,
    linx_env,
    seed_body,
    table,
    wait_up,
    workdir,
    write,
)

SIZES = {"full": {"workflows": 40, "concurrency": (1, 4), "rounds": 1},
         "quick": {"workflows": 8, "concurrency": (4,), "rounds": 1},
         "tiny": {"workflows": 2, "concurrency": (2,), "rounds": 1}}
CLOCK_SPEED = 30
WAIT_SECONDS = 120
PROFILE = {"firstName": "Jane", "lastName": "Roe", "email": "jane.roe@example.com", "dateOfBirth": "1990-01-31",
           "street": "1 Main St", "city": "Toronto", "state": "ON", "postalCode": "M5V 2T6", "country": "CAN"}
CARD = {"holderName": "Jane Roe", "cardNumber": "4000056655665556", "expiry": "12/30", "postalCode": "M5V 2T6"}


class Mailbox:
    """Values by workflow id, waited for by the customer threads (a value may come before its waiter)."""

    def __init__(self):
        self._values, self._events, self._lock = {}, defaultdict(threading.Event), threading.Lock()

    def put(self, key, value):
        with self._lock:
            self._values.setdefault(key, value)
            event = self._events[key]
        event.set()

    def get(self, key, what):
        with self._lock:
            event = self._events[key]
        if not event.wait(WAIT_SECONDS):
            raise SystemExit(f"no {what} for workflow {key} in {WAIT_SECONDS} s")
        return self._values[key]


class InboxTail(threading.Thread):
    """Reads the console channel's inbox file as it grows and posts each link by workflow id."""

    def __init__(self, path, links):
        super().__init__(daemon=True)
        self.path, self.links, self.stopping = path, links, threading.Event()

    def run(self):
        position, partial = 0, ""
        while not self.stopping.wait(0.01):
            if not self.path.exists():
                continue
            with open(self.path, encoding="utf-8") as fh:
                fh.seek(position)
                chunk = fh.read()
                position = fh.tell()
            lines = (partial + chunk).split("\n")
            partial = lines.pop()
            for line in lines:
                record = json.loads(line)
                if "/l/" in record["text"] and record.get("workflowId"):
                    self.links.put(record["workflowId"], record["text"].split("/l/")[1].split()[0])


def webhook_receiver(settled, counts):
    """A loopback receiver: answers 204 to every delivery, notes SETTLED transactions by workflow id."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            event = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            counts["deliveries"] += 1
            data = event.get("data") or {}
            if event["type"] == "transactions.status-changed" and data.get("status") == "SETTLED":
                settled.put(data["workflowId"], time.perf_counter())
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


class Customer:
    """One browser: a session, an address, the pages' forms."""

    def __init__(self, base, address):
        from tests.test_gateway import Parsed  # the test suite's reader of the Gateway's forms

        self.parsed = Parsed
        self.base = base
        self.session = requests.Session()
        self.session.headers["X-Forwarded-For"] = address

    def open(self, path):
        return self._page(self.session.get(urljoin(self.base, path), timeout=30))

    def submit(self, page, button, **values):
        response, parsed = page
        form = next((f for f in parsed.forms if button in f["buttons"]), None)
        if form is None:
            raise SystemExit(f"no {button!r} button on the page {parsed.h1.strip()!r} ({response.url})")
        data = dict(form["fields"], **values)
        url = urljoin(response.url, form["action"])
        if form["method"] == "get":
            return self._page(self.session.get(url, params=data, timeout=30))
        return self._page(self.session.post(url, data=data, timeout=30))

    def _page(self, response):
        deadline = time.monotonic() + WAIT_SECONDS
        while response.status_code == 409 and "Almost ready" in response.text and time.monotonic() < deadline:
            # the link came before LinX recorded the message as sent: reload, as the page asks
            time.sleep(0.05)
            response = self.session.get(response.url, timeout=30)
        if response.status_code != 200:
            raise SystemExit(f"{response.request.method} {response.url}: {response.status_code} {response.text[:300]}")
        return response, self.parsed(response.text)


def journey(base, key, number, links, settled):
    """One workflow from the business's create to the settled webhook; returns (create s, whole s)."""
    body = json.loads(seed_body(2))
    body["parameters"]["phoneNumber"] = f"+1647{5550000 + number:07d}"
    customer = Customer(base, f"10.{number // 65536 % 256}.{number // 256 % 256}.{number % 256}")
    started = time.perf_counter()
    created = requests.post(f"{base}/v2/linx/workflows", json=body, timeout=30,
                            headers={"Authorization": f"Bearer {key}"})
    create_seconds = time.perf_counter() - started
    if created.status_code != 201:
        raise SystemExit(f"create: {created.status_code} {created.text[:300]}")
    workflow_id, passcode = created.json()["id"], created.json().get("passcode")
    page = customer.open(f"/l/{links.get(workflow_id, 'link')}")
    page = customer.submit(page, "Continue", **({"passcode": passcode} if passcode else {}))
    page = customer.submit(page, "Continue", **PROFILE)
    page = customer.submit(page, "Continue", **CARD)
    customer.submit(page, "Confirm")
    done = settled.get(workflow_id, "settled webhook")
    return create_seconds, done - started


def run(backend, sizes):
    with workdir() as tmp, database(backend, tmp) as url:
        folder = Path(tmp)
        port = free_port()
        env = linx_env(url, folder, port, LINX_CLOCK_SPEED=CLOCK_SPEED, LINX_PROXY_HOPS=1)
        key = init_demo(env, folder)
        links, settled, counts = Mailbox(), Mailbox(), defaultdict(int)
        receiver = webhook_receiver(settled, counts)
        tail = InboxTail(folder / "instance" / "dev-messages.jsonl", links)
        tail.start()
        server = Process([LINX, "serve", "--port", str(port)], env, folder, "serve")
        base = f"http://127.0.0.1:{port}"
        try:
            wait_up(base, server)
            subscribed = requests.post(f"{base}/v2/push-notifications", timeout=30, headers={
                "Authorization": f"Bearer {key}"}, json={"url": f"http://127.0.0.1:{receiver.server_port}/hook",
                                                          "eventTypes": ["*"]})
            if subscribed.status_code != 201:
                raise SystemExit(f"subscribe: {subscribed.status_code} {subscribed.text}")
            return measure(base, key, sizes, links, settled, counts)
        finally:
            server.stop()
            tail.stopping.set()
            receiver.shutdown()


def measure(base, key, sizes, links, settled, counts):
    numbers = iter(range(1, 10 ** 6))
    journey(base, key, next(numbers), links, settled)  # warm-up
    levels = []
    for concurrency in sizes["concurrency"]:
        results, failures, lock = [], [], threading.Lock()
        todo = iter(range(sizes["workflows"]))

        def customer(lock=lock, todo=todo, results=results, failures=failures):  # bound to this level
            while True:
                with lock:
                    if next(todo, None) is None:
                        return
                    number = next(numbers)
                try:
                    outcome = journey(base, key, number, links, settled)
                except BaseException as exc:  # noqa: BLE001 - a thread's SystemExit would vanish: report it
                    failures.append(str(exc) or repr(exc))
                    return
                with lock:
                    results.append(outcome)

        threads = [threading.Thread(target=customer) for _ in range(concurrency)]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wall = time.perf_counter() - started
        if failures or len(results) != sizes["workflows"]:
            raise SystemExit(f"{sizes['workflows'] - len(results)} workflow(s) did not finish: {failures}")
        create = statistics.median(r[0] for r in results)
        whole = statistics.median(r[1] for r in results)
        levels.append({"concurrency": concurrency, "workflows_per_second": len(results) / wall,
                       "create_ms": create * 1000, "workflow_ms": whole * 1000, "ratio": whole / create})
    return {"sizes": sizes, "clock_speed": CLOCK_SPEED, "levels": levels, "webhook_deliveries": counts["deliveries"],
            "ratio": statistics.median(lv["ratio"] for lv in levels)}


def main():
    args = arguments(__doc__.splitlines()[0], SIZES)
    for backend in args.backends:
        result = run(backend, args.sizes)
        print(f"\nend to end on {backend} ({args.scale}): {args.sizes['workflows']} workflows per level")
        table(["customers", "workflows/s", "create ms", "workflow ms", "x create"],
              [[lv["concurrency"], lv["workflows_per_second"], lv["create_ms"], lv["workflow_ms"], lv["ratio"]]
               for lv in result["levels"]])
        print(f"webhook deliveries: {result['webhook_deliveries']}")
        write("e2e", backend, result, args.out)


if __name__ == "__main__":
    main()
