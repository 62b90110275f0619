"""Create throughput: ``POST /v2/linx/workflows`` (seed example 3: full validation, persistence, the
outbox) against a bare Flask endpoint that inserts one row through peewee.

Both run in one waitress process (``bench/server.py``: the LinX app as ``linx serve --no-worker``
serves it, the baseline mounted at ``/bare``) and take the same body from the same client: threads,
each with a keep-alive ``requests.Session``. After a warm-up, rounds alternate baseline and LinX at
each concurrency level, to cancel drift on a shared machine; the figures are the rounds' medians and
the ratio is LinX's requests per second over the baseline's (target >= 0.5).

    python bench/bench_create.py [--backend sqlite|postgres|both] [--quick|--tiny]
"""
import statistics
import sys
from pathlib import Path

from common import (
    Process,
    arguments,
    database,
    free_port,
    init_demo,
    linx_env,
    load,
    numbered_bodies,
    table,
    wait_up,
    workdir,
    write,
)

SIZES = {"full": {"warmup": 100, "requests": 500, "rounds": 3, "concurrency": (1, 8)},
         "quick": {"warmup": 20, "requests": 100, "rounds": 2, "concurrency": (4,)},
         "tiny": {"warmup": 2, "requests": 10, "rounds": 1, "concurrency": (2,)}}


def run(backend, sizes):
    with workdir() as tmp, database(backend, tmp) as url:
        folder = Path(tmp)
        port = free_port()
        env = linx_env(url, folder, port)
        key = init_demo(env, folder)
        server = Process([sys.executable, str(Path(__file__).parent / "server.py"), "--port", str(port)], env, folder,
                         "server")
        base = f"http://127.0.0.1:{port}"
        try:
            wait_up(base, server)
            return measure(base, key, sizes)
        finally:
            server.stop()


def measure(base, key, sizes):
    body = numbered_bodies(2)  # each workflow to a number of its own (the rules limit one recipient's messages)
    sides = {
        "bare": lambda s: s.post(f"{base}/bare/rows", data=body(), headers={"Content-Type": "application/json"}),
        "linx": lambda s: s.post(f"{base}/v2/linx/workflows", data=body(), headers={
            "Content-Type": "application/json", "Authorization": f"Bearer {key}"}),
    }
    for send in sides.values():
        load(send, sizes["warmup"], 2)
    levels = []
    for concurrency in sizes["concurrency"]:
        rounds = {name: [] for name in sides}
        for _ in range(sizes["rounds"]):
            for name, send in sides.items():
                rounds[name].append(load(send, sizes["requests"], concurrency))
        level = {"concurrency": concurrency}
        for name, runs in rounds.items():
            level[name] = {"rps": statistics.median(r["rps"] for r in runs),
                           "median_ms": statistics.median(r["median_ms"] for r in runs),
                           "rounds_rps": [round(r["rps"], 1) for r in runs]}
        level["ratio"] = level["linx"]["rps"] / level["bare"]["rps"]
        levels.append(level)
    return {"sizes": sizes, "levels": levels, "ratio": min(lv["ratio"] for lv in levels), "target": 0.5}


def main():
    args = arguments(__doc__.splitlines()[0], SIZES)
    for backend in args.backends:
        result = run(backend, args.sizes)
        print(f"\ncreate on {backend} ({args.scale}): requests per second, medians of {args.sizes['rounds']} rounds")
        table(["clients", "bare rps", "linx rps", "bare ms", "linx ms", "ratio"],
              [[lv["concurrency"], lv["bare"]["rps"], lv["linx"]["rps"], lv["bare"]["median_ms"],
                lv["linx"]["median_ms"], lv["ratio"]] for lv in result["levels"]])
        print(f"ratio (worst level): {result['ratio']:.2f} (target >= {result['target']})")
        write("create", backend, result, args.out)


if __name__ == "__main__":
    main()
