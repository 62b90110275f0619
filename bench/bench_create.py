"""Create throughput: ``POST /v2/linx/workflows`` (seed example 3: full validation, persistence, the
outbox) on ``linx serve --no-worker``, against the bare stack (``bench/bare.py``: Flask, peewee and
waitress inserting one row, a process of its own with nothing of LinX loaded, on a database of its own
of the same kind and settings).

wrk drives both (``bench/lua/post_numbered.lua``: a new phone number on every request, no
Idempotency-Key). After a warm-up, short rounds alternate the two sides at each number of connections
(the side that goes first alternates too), to cancel drift on a shared machine; the figures are the
rounds' medians. Each side's CPU time per request is read from ``/proc`` over its rounds: the server
process, and on PostgreSQL the database's server processes too. The ratio is LinX's requests per second
over the bare stack's (target >= 0.5 at 8 connections); the JSON's ``ratio`` is the one at 8 (or the
only level measured).

``--before DIR`` adds a third side: ``linx serve`` from the source tree DIR (``git archive <commit> linx_core
gateway_app | tar -x -C DIR``, its ``.mo`` files compiled), on the same database, in the same alternating rounds:
a before-and-after measured in one run.

    python bench/bench_create.py [--backend sqlite|postgres|both] [--quick|--tiny] [--before DIR]
"""
import contextlib
import itertools
import statistics
import sys
from pathlib import Path

import loadgen
from common import (
    LINX,
    SEED_PHONE,
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

SIZES = {"full": {"warmup_seconds": 2, "seconds": 4, "rounds": 3, "connections": (1, 8, 32)},
         "quick": {"warmup_seconds": 1, "seconds": 2, "rounds": 2, "connections": (8,)},
         "tiny": {"warmup_seconds": 1, "seconds": 1, "rounds": 1, "connections": (2,)}}
NUMBERS_PER_RUN = 200_000  # post_numbered.lua: a run's wrk threads take numbers 100,000 apart


def run(backend, sizes, before=None):
    with contextlib.ExitStack() as stack:
        folder = Path(stack.enter_context(workdir()))
        url = stack.enter_context(database(backend, folder))
        bare_url = (f"sqlite:///{folder}/bare.db" if backend == "sqlite"
                    else stack.enter_context(database(backend, folder)))
        port, bare_port = free_port(), free_port()
        env = linx_env(url, folder, port)
        key = init_demo(env, folder)
        servers = {
            "bare": Process([sys.executable, str(Path(__file__).parent / "bare.py"), "--port", str(bare_port),
                             "--database", bare_url], env, folder, "bare"),
            "linx": Process([LINX, "serve", "--no-worker", "--port", str(port), "--threads", "8"], env, folder, "linx"),
        }
        if before:
            before_port = free_port()
            servers["before"] = Process([LINX, "serve", "--no-worker", "--port", str(before_port), "--threads", "8"],
                                        dict(env, PYTHONPATH=str(Path(before).resolve())), folder, "before")
        for server in servers.values():
            stack.callback(server.stop)
        body = folder / "body.json"
        body.write_text(seed_body(2))
        assert body.read_text().count(SEED_PHONE) == 1
        sides = {
            "bare": {"url": f"http://127.0.0.1:{bare_port}", "args": ["/rows", body], "process": servers["bare"],
                     "database": bare_url},
            "linx": {"url": f"http://127.0.0.1:{port}", "args": ["/v2/linx/workflows", body],
                     "auth": f"Bearer {key}", "process": servers["linx"], "database": url},
        }
        if before:
            sides["before"] = dict(sides["linx"], url=f"http://127.0.0.1:{before_port}", process=servers["before"])
        for side in sides.values():
            wait_up(side["url"], side["process"])
        return measure(sides, sizes)


def measure(sides, sizes):
    first_numbers = itertools.count(0, NUMBERS_PER_RUN)

    def one_round(name, connections, seconds):
        side = sides[name]
        pids = [side["process"].popen.pid]
        backends = loadgen.postgres_backends(side["database"])
        before, db_before = loadgen.cpu_seconds(pids), loadgen.cpu_seconds(backends)
        args = [*side["args"], next(first_numbers)] + ([side["auth"]] if "auth" in side else [])
        result = loadgen.run(side["url"], "post_numbered.lua", args, connections, seconds)
        backends = set(backends) | set(loadgen.postgres_backends(side["database"]))
        result["cpu_s"] = loadgen.cpu_seconds(pids) - before
        result["db_cpu_s"] = loadgen.cpu_seconds(backends) - db_before
        if result["status_errors"] or result["socket_errors"] or not result["requests"]:
            raise SystemExit(f"{name}: {result['status_errors']} error responses, {result['socket_errors']} socket "
                             f"errors in {result['requests']} requests:\n{side['process'].output()[-3000:]}")
        return result

    for name in sides:
        one_round(name, 8, sizes["warmup_seconds"])
    levels = []
    for connections in sizes["connections"]:
        rounds = {name: [] for name in sides}
        for index in range(sizes["rounds"]):
            for name in (list(sides) if index % 2 == 0 else list(sides)[::-1]):
                rounds[name].append(one_round(name, connections, sizes["seconds"]))
        level = {"connections": connections}
        for name, runs in rounds.items():
            requests = sum(r["requests"] for r in runs)
            level[name] = {"rps": statistics.median(r["rps"] for r in runs),
                           "p50_ms": statistics.median(r["p50_ms"] for r in runs),
                           "p99_ms": statistics.median(r["p99_ms"] for r in runs),
                           "cpu_ms": 1000 * sum(r["cpu_s"] for r in runs) / requests,
                           "db_cpu_ms": 1000 * sum(r["db_cpu_s"] for r in runs) / requests,
                           "rounds_rps": [round(r["rps"], 1) for r in runs]}
        level["ratio"] = level["linx"]["rps"] / level["bare"]["rps"]
        level["cpu_ratio"] = level["bare"]["cpu_ms"] / level["linx"]["cpu_ms"] if level["linx"]["cpu_ms"] else None
        if "before" in level:
            level["before_ratio"] = level["before"]["rps"] / level["bare"]["rps"]
        levels.append(level)
    main_level = next((lv for lv in levels if lv["connections"] == 8), levels[0])
    return {"sizes": sizes, "levels": levels, "ratio": main_level["ratio"], "target": 0.5,
            "load_generator": "wrk"}


def main():
    args = arguments(__doc__.splitlines()[0], SIZES, lambda parser: parser.add_argument(
        "--before", metavar="DIR", help="also measure linx serve from the source tree DIR (before a change)"))
    for backend in args.backends:
        result = run(backend, args.sizes, args.before)
        print(f"\ncreate on {backend} ({args.scale}, wrk): medians of {args.sizes['rounds']} alternating rounds of "
              f"{args.sizes['seconds']} s; CPU ms a request: the server process (+ its PostgreSQL backends)")
        table(["conns", "bare rps", "linx rps", "ratio", "bare p50", "linx p50", "bare p99", "linx p99",
               "bare cpu", "linx cpu", "bare db cpu", "linx db cpu"],
              [[lv["connections"], lv["bare"]["rps"], lv["linx"]["rps"], lv["ratio"], lv["bare"]["p50_ms"],
                lv["linx"]["p50_ms"], lv["bare"]["p99_ms"], lv["linx"]["p99_ms"], lv["bare"]["cpu_ms"],
                lv["linx"]["cpu_ms"], lv["bare"]["db_cpu_ms"], lv["linx"]["db_cpu_ms"]] for lv in result["levels"]])
        if args.before:
            table(["conns", "before rps", "before ratio", "before p50", "before p99", "before cpu", "before db cpu"],
                  [[lv["connections"], lv["before"]["rps"], lv["before_ratio"], lv["before"]["p50_ms"],
                    lv["before"]["p99_ms"], lv["before"]["cpu_ms"], lv["before"]["db_cpu_ms"]]
                   for lv in result["levels"]])
        print(f"ratio at {8 if any(lv['connections'] == 8 for lv in result['levels']) else 'the one level'} "
              f"connections: {result['ratio']:.2f} (target >= {result['target']})")
        write("create", backend, result, args.out)


if __name__ == "__main__":
    main()
