"""The Gateway's link page under load: ``GET /l/<token>``, the page a customer opens from the message.

One ``linx serve`` (with its worker thread, which sends each workflow's SMS through the console channel)
behind ``LINX_PROXY_HOPS=1``. The bench creates workflows through the API, reads their links from the
console inbox, then wrk (``bench/lua/get_links.lua``) opens them, each request from a client address of
its own, as customers do: each open binds a new session and renders the landing page. Rounds of a few
seconds at 1, 8 and 32 connections; medians of the rounds; the server's CPU time per page from ``/proc``.
Target: median and p99 under 20 ms at 8 connections.

    python bench/bench_gateway.py [--backend sqlite|postgres|both] [--quick|--tiny]
"""
import itertools
import json
import statistics
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

import loadgen
from common import (
    LINX,
    Process,
    arguments,
    database,
    free_port,
    init_demo,
    linx_env,
    numbered_bodies,
    table,
    wait_for,
    wait_up,
    workdir,
    write,
)

SIZES = {"full": {"links": 200, "seconds": 4, "rounds": 3, "connections": (1, 8, 32)},
         "quick": {"links": 40, "seconds": 2, "rounds": 2, "connections": (8,)},
         "tiny": {"links": 4, "seconds": 1, "rounds": 1, "connections": (2,)}}


def run(backend, sizes):
    with workdir() as tmp, database(backend, tmp) as url:
        folder = Path(tmp)
        port = free_port()
        env = linx_env(url, folder, port, LINX_PROXY_HOPS=1)
        key = init_demo(env, folder)
        server = Process([LINX, "serve", "--port", str(port), "--threads", "8"], env, folder, "serve")
        base = f"http://127.0.0.1:{port}"
        try:
            wait_up(base, server)
            paths = make_links(base, key, folder, sizes["links"])
            return measure(base, server, paths, sizes)
        finally:
            server.stop()


def make_links(base, key, folder, count):
    body = numbered_bodies(2)
    with ThreadPoolExecutor(4) as pool:
        made = list(pool.map(lambda _: requests.post(f"{base}/v2/linx/workflows", data=body(), timeout=30, headers={
            "Authorization": f"Bearer {key}", "Content-Type": "application/json"}).status_code, range(count)))
    if set(made) != {201}:
        raise SystemExit(f"creates answered {sorted(set(made))}")
    inbox = folder / "instance" / "dev-messages.jsonl"

    def links():
        if not inbox.exists():
            return None
        found = [json.loads(line)["text"].split("/l/")[1].split()[0]
                 for line in inbox.read_text().splitlines() if "/l/" in line]
        return found if len(found) >= count else None

    found = wait_for(links, 120)
    if not found:
        raise SystemExit("the worker did not send every link in 120 s")
    path = folder / "links.txt"
    path.write_text("".join(f"/l/{token}\n" for token in found))
    return path


def measure(base, server, paths, sizes):
    first_addresses = itertools.count(1, 3_000_000)
    pid = [server.popen.pid]
    levels = []
    loadgen.run(base, "get_links.lua", [paths, next(first_addresses)], 4, sizes["seconds"])  # warm-up
    for connections in sizes["connections"]:
        runs = []
        for _ in range(sizes["rounds"]):
            before = loadgen.cpu_seconds(pid)
            result = loadgen.run(base, "get_links.lua", [paths, next(first_addresses)], connections, sizes["seconds"])
            result["cpu_s"] = loadgen.cpu_seconds(pid) - before
            if result["status_errors"] or result["socket_errors"] or not result["requests"]:
                raise SystemExit(f"{result['status_errors']} error responses, {result['socket_errors']} socket errors "
                                 f"in {result['requests']} requests:\n{server.output()[-3000:]}")
            runs.append(result)
        levels.append({"connections": connections, "rps": statistics.median(r["rps"] for r in runs),
                       "p50_ms": statistics.median(r["p50_ms"] for r in runs),
                       "p99_ms": statistics.median(r["p99_ms"] for r in runs),
                       "cpu_ms": 1000 * sum(r["cpu_s"] for r in runs) / sum(r["requests"] for r in runs)})
    main_level = next((lv for lv in levels if lv["connections"] == 8), levels[0])
    return {"sizes": sizes, "levels": levels, "page": "GET /l/<token>", "load_generator": "wrk",
            "ratio": 20 / max(main_level["p99_ms"], 1e-9), "target_ms": 20}


def main():
    args = arguments(__doc__.splitlines()[0], SIZES)
    for backend in args.backends:
        result = run(backend, args.sizes)
        print(f"\nGateway link page on {backend} ({args.scale}, wrk): medians of {args.sizes['rounds']} rounds of "
              f"{args.sizes['seconds']} s")
        table(["conns", "pages/s", "p50 ms", "p99 ms", "cpu ms"],
              [[lv["connections"], lv["rps"], lv["p50_ms"], lv["p99_ms"], lv["cpu_ms"]] for lv in result["levels"]])
        print(f"ratio (20 ms over the p99 at 8 connections; >= 1 meets the target): {result['ratio']:.2f}")
        write("gateway", backend, result, args.out)


if __name__ == "__main__":
    main()
