"""Worker throughput: jobs per second through LinX's claim loop (claim under a lease, run the
handler, mark DONE) against a raw claim-and-complete loop on the same table.

Each round fills the ``job`` table with N due jobs of a no-op kind (``bench.noop``, whose handler
does nothing, so the figure is the outbox's own cost), then drains it. The baseline is the least a
correct claim loop can do, written as plain SQL on one open DB-API connection: per job, a transaction
that selects the oldest due job (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, under ``BEGIN IMMEDIATE``
on SQLite) and marks it RUNNING, then an UPDATE that marks it DONE. Rounds alternate baseline and
LinX; figures are medians; the ratio is LinX's jobs per second over the baseline's (target >= 0.5).
Both run in this process, one job at a time (``linx worker``'s default concurrency): LinX's figure is
``Worker.run_forever`` (what ``linx worker`` runs) in a thread, timed until every job is DONE;
``run_until_idle`` (``linx worker --once``) is shown too.

    python bench/bench_worker.py [--backend sqlite|postgres|both] [--quick|--tiny]
"""
import datetime as dt
import os
import statistics
import threading
import time
import uuid
from pathlib import Path

from common import arguments, database, linx_env, table, workdir, write

SIZES = {"full": {"jobs": 2000, "rounds": 3}, "quick": {"jobs": 300, "rounds": 2}, "tiny": {"jobs": 20, "rounds": 1}}
KIND = "bench.noop"
SIDES = ("raw", "linx", "linx-until-idle")


def fill(n):
    from linx_core import clock
    from linx_core.store.models import Job

    now = clock.now() - dt.timedelta(seconds=1)
    rows = [{"id": uuid.uuid4(), "kind": KIND, "payload": {"n": i}, "status": "DUE", "run_at": now, "attempts": 0,
             "created_at": now, "updated_at": now} for i in range(n)]
    with Job._meta.database.atomic():
        for start in range(0, n, 500):
            Job.insert_many(rows[start:start + 500]).execute()


def done_count():
    from linx_core.store.models import Job

    return Job.select().where((Job.kind == KIND) & (Job.status == "DONE")).count()


def clear():
    from linx_core.store.models import Job

    Job.delete().where(Job.kind == KIND).execute()


class RawLoop:
    """Claim one due job, mark it RUNNING, then DONE: plain SQL on one connection."""

    def __init__(self, rt):
        from linx_core.store import is_postgres

        self.postgres = is_postgres(rt.database)
        self.conn = rt.database.connection()  # the runtime's own connection, used raw
        self.lock = " FOR UPDATE SKIP LOCKED" if self.postgres else ""
        self.mark = "%s" if self.postgres else "?"

    def run(self):
        from linx_core import clock
        from linx_core.store.models import Job

        q = self.mark
        ran = 0
        while True:
            now = Job.run_at.db_value(clock.now())
            cur = self.conn.cursor()
            cur.execute("BEGIN" if self.postgres else "BEGIN IMMEDIATE")
            cur.execute(f"SELECT id FROM job WHERE status = 'DUE' AND run_at <= {q} ORDER BY run_at LIMIT 1{self.lock}",
                        (now,))
            row = cur.fetchone()
            if row is None:
                cur.execute("COMMIT")
                return ran
            lease = Job.run_at.db_value(clock.now() + dt.timedelta(seconds=60))
            cur.execute(f"UPDATE job SET status = 'RUNNING', lease_until = {q}, attempts = attempts + 1, "
                        f"locked_by = {q}, updated_at = {q} WHERE id = {q}", (lease, "raw", now, row[0]))
            cur.execute("COMMIT")
            cur.execute("BEGIN")
            cur.execute(f"UPDATE job SET status = 'DONE', lease_until = NULL, updated_at = {q} "
                        f"WHERE id = {q} AND status = 'RUNNING' AND locked_by = {q}", (now, row[0], "raw"))
            cur.execute("COMMIT")
            ran += 1


def run(backend, sizes):
    with workdir() as tmp, database(backend, tmp) as url:
        os.environ.update(linx_env(url, Path(tmp)))
        from linx_core.boot import runtime

        rt = runtime(migrated=False)
        rt.migrate()
        n = sizes["jobs"]
        rounds = {name: [] for name in SIDES}
        sides = {"raw": lambda: _raw(rt), "linx": lambda: _forever(_worker(rt), n),
                 "linx-until-idle": lambda: _worker(rt).run_until_idle(max_batches=n + 1)}
        for _ in range(sizes["rounds"]):
            for name, drain in sides.items():
                with rt.database.connection_context():
                    clear()
                    fill(n)
                started = time.perf_counter()
                ran = drain()
                elapsed = time.perf_counter() - started
                with rt.database.connection_context():
                    finished = done_count()
                if ran != n or finished != n:
                    raise SystemExit(f"{name}: ran {ran}, {finished} DONE, of {n} jobs")
                rounds[name].append(n / elapsed)
        result = {"sizes": sizes, **{name: {"jobs_per_second": statistics.median(r), "rounds": [round(x, 1) for x in r]}
                                     for name, r in rounds.items()}}
        result["ratio"] = result["linx"]["jobs_per_second"] / result["raw"]["jobs_per_second"]
        result["target"] = 0.5
        return result


def _worker(rt):
    """LinX's worker with a handler for the no-op kind that counts its calls."""
    from linx_core.worker import Worker

    worker = Worker(rt)
    worker.ran = threading.Semaphore(0)
    worker.handlers[KIND] = lambda rt, job: worker.ran.release()
    return worker


def _forever(worker, n):
    """The production loop (``linx worker``): ``run_forever`` in a thread, stopped once all ``n`` are DONE.

    The handler counts its calls, so nothing polls the table (and competes for it) until the last one ran.
    """
    thread = threading.Thread(target=worker.run_forever)
    thread.start()
    try:
        for _ in range(n):
            worker.ran.acquire()
        worker.rt.bind()
        while True:
            with worker.rt.database.connection_context():
                if done_count() >= n:
                    return n
            time.sleep(0.001)
    finally:
        worker.stop()
        thread.join()


def _raw(rt):
    rt.bind()
    with rt.database.connection_context():
        return RawLoop(rt).run()


def main():
    args = arguments(__doc__.splitlines()[0], SIZES)
    for backend in args.backends:
        result = run(backend, args.sizes)
        print(f"\nworker on {backend} ({args.scale}): {args.sizes['jobs']} no-op jobs, "
              f"medians of {args.sizes['rounds']} rounds")
        table(["loop", "jobs/s"], [[name, result[name]["jobs_per_second"]] for name in SIDES])
        print(f"ratio: {result['ratio']:.2f} (target >= {result['target']})")
        write("worker", backend, result, args.out)


if __name__ == "__main__":
    main()
