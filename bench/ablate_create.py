"""What each of the create path's optimisations buys, measured by switching it off in the same process.

In one process (the Flask test client on a SQLite file, or ``--backend postgres``), batches of seed
example 3 creates alternate between everything on and one optimisation switched back to the code before
it (a monkeypatch), round after round; the figure for each is the median over rounds of the difference in
CPU time per create (``time.thread_time``), so a load that drifts during the run weighs on both sides
alike. Function calls per create (cProfile) are counted too: they do not move with the machine's load.
The threads' write lock (``SerialSqlite``) only shows with concurrent requests: ``bench_create.py``.

    python bench/ablate_create.py [--backend sqlite|postgres] [--rounds 15] [--batch 60]
"""
import argparse
import cProfile
import logging
import os
import pstats
import re
import statistics
import time
from pathlib import Path

from common import RESULTS, database, linx_env, numbered_bodies, table, workdir


def switches():
    """name -> a function that switches the optimisation off and returns the function that switches it on."""
    from flask import current_app

    from gateway_app.api import render
    from linx_core import events
    from linx_core.rules.fields import Phone
    from linx_core.services import businesses

    def patch(owner, name, value):
        def off():
            kept = getattr(owner, name)
            setattr(owner, name, value)
            return lambda: setattr(owner, name, kept)
        return off

    return {
        "event payload schemas made once per thread": patch(events, "_schema_instance", lambda schema: schema()),
        "API key kept under the revocation epoch": patch(
            businesses, "_key_row", lambda digest: businesses._KEY_OWNER.first(digest)),
        "North American E.164 numbers without libphonenumber": patch(Phone, "NANP_E164", re.compile(r"(?!)")),
        "responses written by orjson": patch(render, "json_response", lambda data: current_app.json.response(data)),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--batch", type=int, default=60)
    args = parser.parse_args()
    with workdir() as tmp, database(args.backend, tmp) as url:
        os.environ.update(linx_env(url, Path(tmp)))
        from gateway_app import create_app
        from linx_core.boot import runtime
        from linx_core.demo import init_demo
        from linx_core.logging_setup import configure

        rt = runtime(migrated=False, web=True)
        rt.migrate()
        with rt.database.connection_context():
            _, key = init_demo(rt)
        configure(rt.settings, level=logging.WARNING)
        client = create_app(runtime=rt).test_client()
        body = numbered_bodies(2)
        headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}

        def batch(n=args.batch):
            started = time.thread_time()
            for _ in range(n):
                assert client.post("/v2/linx/workflows", data=body(), headers=headers).status_code == 201
            return (time.thread_time() - started) * 1000 / n

        def calls():
            profiler = cProfile.Profile()
            profiler.enable()
            batch(20)
            profiler.disable()
            return pstats.Stats(profiler).total_calls / 20

        found = switches()
        batch(40)  # warm-up
        every = {"(all of them)": lambda: [off() for off in found.values()]}
        rows, result = [], {}
        for name, off in {**found, **every}.items():
            def switched_off(off=off):
                on = off()
                return on if callable(on) else (lambda ons=on: [o() for o in reversed(ons)])

            differences, on_ms = [], []
            for index in range(args.rounds):
                for side in (("on", "off") if index % 2 == 0 else ("off", "on")):
                    if side == "on":
                        on_ms.append(batch())
                        continue
                    on = switched_off()
                    try:
                        off_ms = batch()
                    finally:
                        on()
                    differences.append(off_ms)
            saved = [off - on for off, on in zip(differences, on_ms, strict=True)]
            calls_on = calls()
            on = switched_off()
            try:
                calls_off = calls()
            finally:
                on()
            result[name] = {"saved_ms": statistics.median(saved), "on_ms": statistics.median(on_ms),
                            "calls_saved": calls_off - calls_on, "calls_on": calls_on}
            rows.append([name, statistics.median(on_ms) + statistics.median(saved), statistics.median(on_ms),
                         statistics.median(saved), round(calls_off - calls_on)])
        print(f"\ncreate, in process, {args.backend}: CPU ms a create with the optimisation off and on "
              f"(medians of {args.rounds} alternating rounds of {args.batch}), and the function calls it saves")
        table(["optimisation", "off ms", "on ms", "saved ms", "calls saved"], rows)
        RESULTS.mkdir(exist_ok=True)
        import json

        (RESULTS / f"ablate-create-{args.backend}.json").write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
