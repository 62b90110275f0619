"""Memory: resident memory of a ``linx serve --no-worker`` process and a ``linx worker`` process as
workflows go through them, and its growth from the first checkpoint to the last (target <= 10%).

Every workflow is real work for both processes: the bench sends seed example 3 to the server's
``POST /v2/linx/workflows`` over HTTP (4 keep-alive clients), and the worker sends each one's SMS
through the console channel, which moves the workflow CREATED -> ACTIVE (the lifecycle's state
machine) and schedules its reminder. At each checkpoint (10,000 and 100,000 workflows; ``--quick``
and ``--tiny`` use fewer, ``--checkpoints N N ...`` chooses) the bench waits until the worker has no
due job left, then reads both processes' RSS (psutil). A per-workflow leak (a state machine or a
model kept per workflow, a cache without bound) shows as growth with the count.

    python bench/bench_memory.py [--backend sqlite|postgres|both] [--quick|--tiny]
"""
import os
import time
from pathlib import Path

from common import (
    LINX,
    Process,
    arguments,
    database,
    free_port,
    init_demo,
    linx_env,
    load,
    numbered_bodies,
    table,
    wait_for,
    wait_up,
    workdir,
    write,
)

SIZES = {"full": {"checkpoints": (10_000, 100_000), "clients": 4},
         "quick": {"checkpoints": (1_000, 3_000), "clients": 4},
         "tiny": {"checkpoints": (20, 60), "clients": 2}}
STEPS = 5  # RSS samples between checkpoints, to show the curve


def run(backend, sizes):
    with workdir() as tmp, database(backend, tmp) as url:
        folder = Path(tmp)
        port = free_port()
        env = linx_env(url, folder, port)
        key = init_demo(env, folder)
        os.environ.update(env)
        from linx_core.boot import runtime

        rt = runtime()
        server = Process([LINX, "serve", "--no-worker", "--port", str(port)], env, folder, "serve")
        worker = Process([LINX, "worker"], env, folder, "worker")
        base = f"http://127.0.0.1:{port}"
        try:
            wait_up(base, server)
            return measure(rt, base, key, sizes, server, worker)
        finally:
            server.stop()
            worker.stop()


def due_jobs(rt):
    from linx_core import clock
    from linx_core.store.models import Job

    rt.bind()
    with rt.database.connection_context():
        return Job.select().where((Job.status.in_(("DUE", "RUNNING"))) & (Job.run_at <= clock.now())).count()


def measure(rt, base, key, sizes, server, worker):
    body = numbered_bodies(2)  # each workflow to a number of its own (the rules limit one recipient's messages)
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {key}"}

    def send(session):
        return session.post(f"{base}/v2/linx/workflows", data=body(), headers=headers)

    samples, made, started = [], 0, time.perf_counter()
    targets = _targets(sizes["checkpoints"])
    for target in targets:
        load(send, target - made, sizes["clients"])
        made = target
        if not wait_for(lambda: due_jobs(rt) == 0, seconds=3600, step=0.5):
            raise SystemExit(f"the worker did not catch up after {made} workflows: {worker.output()[-2000:]}")
        time.sleep(1)  # let both settle (no request or job in flight)
        samples.append({"workflows": made, "server_mb": server.rss_mb(), "worker_mb": worker.rss_mb(),
                        "elapsed_s": time.perf_counter() - started, "checkpoint": target in sizes["checkpoints"]})
        last = samples[-1]
        print(f"  {made:>7} workflows: server {last['server_mb']:.1f} MB, worker {last['worker_mb']:.1f} MB "
              f"({last['elapsed_s']:.0f} s)", flush=True)
    first, last = (next(s for s in samples if s["workflows"] == n) for n in (sizes["checkpoints"][0],
                                                                          sizes["checkpoints"][-1]))
    growth = {side: last[f"{side}_mb"] / first[f"{side}_mb"] - 1 for side in ("server", "worker")}
    return {"sizes": sizes, "samples": samples, "growth": growth, "ratio": 1 + max(growth.values()),
            "target_growth": 0.10}


def _targets(checkpoints):
    """The checkpoints, with samples between them."""
    out, previous = [], 0
    for checkpoint in checkpoints:
        span = checkpoint - previous
        out += [previous + span * i // STEPS for i in range(1, STEPS)] if previous else []
        out.append(checkpoint)
        previous = checkpoint
    return out


def main():
    args = arguments(__doc__.splitlines()[0], SIZES, lambda parser: parser.add_argument(
        "--checkpoints", type=int, nargs="+", metavar="N", help="workflow counts to measure at (default: by size)"))
    if args.checkpoints:
        args.sizes = dict(args.sizes, checkpoints=tuple(sorted(args.checkpoints)))
    for backend in args.backends:
        print(f"memory on {backend} ({args.scale}):")
        result = run(backend, args.sizes)
        table(["workflows", "server MB", "worker MB"],
              [[s["workflows"], s["server_mb"], s["worker_mb"]] for s in result["samples"] if s["checkpoint"]])
        print(f"growth from {args.sizes['checkpoints'][0]} to {args.sizes['checkpoints'][-1]} workflows: server "
              f"{result['growth']['server']:+.1%}, worker {result['growth']['worker']:+.1%} (target <= 10%)")
        write("memory", backend, result, args.out)


if __name__ == "__main__":
    main()
