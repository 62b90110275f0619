"""What every benchmark shares: a database per backend, LinX's settings, real server and worker
processes, a load client, medians, the table and the JSON file.

The benchmarks measure real processes over real HTTP on loopback, started the way an operator starts
them (``linx serve``, ``linx worker``, or ``bench/server.py``, which serves the LinX app exactly as
``linx serve`` does and mounts the bare baseline next to it).
"""
import argparse
import contextlib
import itertools
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil
import requests
from cryptography.fernet import Fernet

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
RESULTS = BENCH / "results"
BIN = Path(sys.executable).parent
LINX = str(BIN / "linx")
BACKENDS = ("sqlite", "postgres")

if str(ROOT) not in sys.path:  # the seed document's reader lives with the tests
    sys.path.append(str(ROOT))


def seed_body(index=2):
    """Seed example ``index`` (0-based; 2 is the issue's example 3) as the JSON text the seed document holds."""
    from tests.conftest import seed_examples

    return seed_examples()[index]


SEED_PHONE = "+16471234567"


def numbered_bodies(index=2):
    """A function giving seed example ``index`` as bytes, each call to a phone number of its own (thread-safe).

    The rules limit the messages one recipient gets (rules/limits.yaml: 20 an hour), so a benchmark sends
    each workflow to a new number, as a business's real traffic does; both sides of a ratio take these bodies.
    """
    text = seed_body(index)
    assert text.count(SEED_PHONE) == 1, "the seed example names its phone number once"
    head, tail = text.split(SEED_PHONE)
    counter = itertools.count()
    lock = threading.Lock()

    def next_body():
        with lock:
            n = next(counter)
        return f"{head}+1647{n % 10_000_000:07d}{tail}".encode()

    return next_body


def arguments(description, sizes, extra=None):
    """Command-line options shared by the benchmarks: ``--backend``, ``--quick`` / ``--tiny`` sizes;
    ``extra(parser)`` adds a benchmark's own."""
    parser = argparse.ArgumentParser(description=description)
    if extra:
        extra(parser)
    parser.add_argument("--backend", choices=BACKENDS + ("both",), default="both")
    parser.add_argument("--quick", action="store_const", dest="scale", const="quick", help="smoke-run sizes")
    parser.add_argument("--tiny", action="store_const", dest="scale", const="tiny", help="the test suite's sizes")
    parser.add_argument("--out", default=None, help="the JSON file (default: bench/results/<name>-<backend>.json)")
    args = parser.parse_args()
    args.scale = args.scale or "full"
    args.sizes = sizes[args.scale]
    args.backends = BACKENDS if args.backend == "both" else (args.backend,)
    return args


# -- databases -------------------------------------------------------------------------------------

@contextlib.contextmanager
def database(backend, folder):
    """A fresh database URL for ``backend``: a SQLite file in ``folder``, or a PostgreSQL database dropped after."""
    if backend == "sqlite":
        yield f"sqlite:///{folder}/linx.db"
        return
    from linx_core.testing.postgres import temporary_database

    with temporary_database("linx_bench") as (url, _, _):
        yield url


def linx_env(url, folder, port=None, **extra):
    """The environment of a LinX process on ``url``: development (the console channel's inbox, loopback
    webhook receivers), fixed secrets shared by every process of the run, logs at warning level, and the
    shipped rules with the business's daily message cap raised (:func:`bench_rules`)."""
    env = dict(os.environ, LINX_ENV="development", LINX_DATABASE_URL=url, LINX_INSTANCE_PATH=str(folder / "instance"),
               LINX_SECRET_KEY="bench-secret-key", LINX_DATA_KEY=_DATA_KEY, LINX_WORKER_POLL_SECONDS="0.05",
               LINX_RULES_DIR=str(bench_rules(folder)))
    if port:
        env["LINX_PUBLIC_URL"] = f"http://127.0.0.1:{port}"
    env.update({k: str(v) for k, v in extra.items()})
    return env


_DATA_KEY = Fernet.generate_key().decode()
BENCH_BUSINESS_PER_DAY = 10_000_000


def bench_rules(folder):
    """A copy of the shipped rules in ``folder`` with Demo Co's daily message cap raised, as an admin raises it:
    the memory benchmark alone creates 100,000 workflows in a run, past the shipped 25,000 a day."""
    target = Path(folder) / "rules"
    if not target.exists():
        shutil.copytree(ROOT / "rules", target, ignore=shutil.ignore_patterns("__pycache__"))
        limits = target / "limits.yaml"
        text = limits.read_text()
        assert text.count("perDay: 25000") == 1, "rules/limits.yaml names the business's daily cap once"
        limits.write_text(text.replace("perDay: 25000", f"perDay: {BENCH_BUSINESS_PER_DAY}"))
    return target


def init_demo(env, folder):
    """``linx init --demo``: the schema and Demo Co; returns Demo Co's API key."""
    done = subprocess.run([LINX, "init", "--demo", "--json"], env=env, cwd=folder, capture_output=True, text=True,
                          timeout=300)
    if done.returncode:
        raise SystemExit(f"linx init failed: {done.stderr}")
    return json.loads(done.stdout)["apiKey"]


# -- processes -------------------------------------------------------------------------------------

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Process:
    """A server or worker subprocess, its output kept in a file; stopped with SIGTERM."""

    def __init__(self, args, env, folder, name):
        self.log_path = Path(folder) / f"{name}.log"
        self.log = open(self.log_path, "w")  # noqa: SIM115 - the process writes to it until stop() closes it
        self.popen = subprocess.Popen(args, env=env, cwd=folder, stdout=self.log, stderr=subprocess.STDOUT)
        self.ps = psutil.Process(self.popen.pid)

    def rss_mb(self):
        return self.ps.memory_info().rss / 2 ** 20

    def output(self):
        return self.log_path.read_text(errors="replace")

    def stop(self):
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(20)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(10)
        self.log.close()
        if "Traceback" in self.output():
            print(f"warning: {self.log_path} holds a traceback", file=sys.stderr)


def wait_up(base, process, seconds=60):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.popen.poll() is not None:
            raise SystemExit(f"the server exited: {process.output()}")
        try:
            if requests.get(f"{base}/healthz", timeout=2).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"the server did not come up: {process.output()}")


def wait_for(condition, seconds, step=0.05):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(step)
    return condition()


# -- the load client -------------------------------------------------------------------------------

def load(send, total, concurrency):
    """Call ``send(session)`` ``total`` times from ``concurrency`` threads (one keep-alive session each).

    ``send`` returns the response; anything but 2xx stops the run. Returns requests per second and the
    median latency in milliseconds.
    """
    counter = iter(range(total))
    lock = threading.Lock()
    latencies, failures = [], []

    def client():
        with requests.Session() as session:
            while not failures:
                with lock:
                    if next(counter, None) is None:
                        return
                started = time.perf_counter()
                response = send(session)
                elapsed = time.perf_counter() - started
                if not 200 <= response.status_code < 300:
                    failures.append(f"{response.status_code}: {response.text[:500]}")
                    return
                with lock:
                    latencies.append(elapsed)

    threads = [threading.Thread(target=client) for _ in range(concurrency)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    if failures:
        raise SystemExit(f"a request failed: {failures[0]}")
    return {"rps": len(latencies) / wall, "median_ms": statistics.median(latencies) * 1000}


# -- reporting -------------------------------------------------------------------------------------

def machine():
    """What the figures were measured on."""
    freq = psutil.cpu_freq()
    return {"python": platform.python_version(), "platform": platform.platform(), "cpus": psutil.cpu_count(),
            "cpu_mhz": round(freq.current) if freq else None, "processor": _cpu_model(),
            "memory_gb": round(psutil.virtual_memory().total / 2 ** 30, 1),
            "load_average": [round(x, 2) for x in os.getloadavg()]}


def _cpu_model():
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def table(headers, rows):
    widths = [max(len(str(h)), *(len(_cell(r[i])) for r in rows)) for i, h in enumerate(headers)]
    print("  ".join(str(h).rjust(w) for h, w in zip(headers, widths, strict=True)))
    for row in rows:
        print("  ".join(_cell(v).rjust(w) for v, w in zip(row, widths, strict=True)))


def _cell(value):
    return f"{value:.2f}" if isinstance(value, float) else str(value)


def write(name, backend, data, out=None):
    """Write the results of ``name`` on ``backend`` as JSON; returns the path."""
    path = Path(out) if out else RESULTS / f"{name}-{backend}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {"benchmark": name, "backend": backend, "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "machine": machine(), **data}
    path.write_text(json.dumps(data, indent=2))
    print(f"wrote {path}")
    return path


def workdir():
    return tempfile.TemporaryDirectory(prefix="linx-bench-")
