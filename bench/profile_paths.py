"""Profile the slow paths with pyinstrument: the create request and the worker's job handling.

In one process, on a SQLite file (or ``--backend postgres``): Demo Co, then ``--n`` creates of seed
example 3 through the app (the Flask test client: the view, validation, persistence, outbox, JSON),
then the worker running the jobs those creates made. Prints each profile and writes it as text to
``bench/results/profile-<path>-<backend>.txt``.

    python bench/profile_paths.py [--backend sqlite|postgres] [--n 300]
"""
import argparse
import logging
from pathlib import Path

from pyinstrument import Profiler

from common import RESULTS, database, linx_env, numbered_bodies, workdir


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--n", type=int, default=300)
    args = parser.parse_args()
    with workdir() as tmp, database(args.backend, tmp) as url:
        import os

        os.environ.update(linx_env(url, Path(tmp)))
        from gateway_app import create_app
        from linx_core.boot import runtime
        from linx_core.demo import init_demo
        from linx_core.logging_setup import configure
        from linx_core.worker import Worker

        rt = runtime(migrated=False)
        rt.migrate()
        with rt.database.connection_context():
            _, key = init_demo(rt)
        configure(rt.settings, level=logging.WARNING)
        client = create_app(runtime=rt).test_client()
        body = numbered_bodies(2)  # each workflow to a number of its own (the rules limit one recipient's messages)
        headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
        for _ in range(20):  # warm-up: imports, caches
            assert client.post("/v2/linx/workflows", data=body(), headers=headers).status_code == 201
        profiles = {}
        profiler = Profiler(interval=0.0005)
        profiler.start()
        for _ in range(args.n):
            client.post("/v2/linx/workflows", data=body(), headers=headers)
        profiler.stop()
        profiles["create"] = profiler
        profiler = Profiler(interval=0.0005)
        profiler.start()
        Worker(rt).run_until_idle(max_batches=100_000)
        profiler.stop()
        profiles["worker"] = profiler
        RESULTS.mkdir(exist_ok=True)
        for name, found in profiles.items():
            text = found.output_text(unicode=True, show_all=False)
            print(f"=== {name} ({args.n} workflows, {args.backend}) ===\n{text}")
            (RESULTS / f"profile-{name}-{args.backend}.txt").write_text(text)


if __name__ == "__main__":
    main()
