"""A 10,000-entry batch (issue 14 §5): the 202's time, the expansion's time, against a bare baseline in the same
run, and the process's RSS growth.

In one process on a fresh database: ``linx init --demo``, a template, then ``POST /v2/linx/batches`` with a CSV
body of N rows through the app (the 202's time), then the worker's batch jobs until the batch is expanded
(N workflows CREATED with their steps, events and first-message jobs). The baseline, on the same database
after, parses each entry's phone number (phonenumbers) and inserts the same rows (workflows, steps,
notifications, events, jobs: clones of one expanded workflow's rows with new ids) with peewee's
``insert_many``, 250 entries per transaction as the expansion's chunks. ``ratio`` is the baseline's time over
the expansion's (the issue asks >= 0.3). RSS is read from ``/proc`` (psutil) before the POST, after it and
after the expansion.
"""
import os
import time
import uuid
from pathlib import Path

import psutil

from common import arguments, database, init_demo, linx_env, table, workdir, write

SIZES = {"full": {"entries": 10_000}, "quick": {"entries": 1000}, "tiny": {"entries": 50}}
CHUNK = 250
TEMPLATE = {
    "name": "bench-notice", "title": "Open your account", "expireIn": 3,
    "steps": [{"name": "notification"}, {"name": "customer-account"}],
    "parameters": {"channel": "SMS", "introductoryMessage": "Open your account"},
}


def _rss_mb():
    return psutil.Process().memory_info().rss / 2 ** 20


def _expand(rt):
    """Run the batch jobs (expansion) until none is due, as the worker would (the messages stay queued)."""
    from linx_core import clock
    from linx_core.store.models import Job
    from linx_core.worker import Worker

    worker = Worker(rt)
    while True:
        with rt.database.connection_context():
            due = list(Job.select().where(Job.kind.startswith("batch.") & (Job.status == "DUE")
                                          & (Job.run_at <= clock.now())))
            for job in due:
                Job.update(status="RUNNING", attempts=Job.attempts + 1, locked_by="bench").where(
                    Job.id == job.id).execute()
        if not due:
            return
        for job in due:
            with rt.database.connection_context():
                job = Job.get_by_id(job.id)
            worker._run(job)


def _baseline(rt, phones):
    """Parse each phone number and insert the rows one expanded workflow has, cloned, with insert_many."""
    import phonenumbers

    from linx_core.store import db
    from linx_core.store.models import Event, Job, Notification, Workflow, WorkflowStep

    E164 = phonenumbers.PhoneNumberFormat.E164  # noqa: N806 - a constant

    with rt.database.connection_context():
        sample = Workflow.select().where(Workflow.batch_id.is_null(False)).first()
        wid = sample.id
        rows = {Workflow: [dict(sample.__data__)],
                WorkflowStep: [dict(r.__data__) for r in WorkflowStep.select().where(WorkflowStep.workflow == wid)],
                Notification: [dict(r.__data__) for r in Notification.select().where(Notification.workflow == wid)],
                Event: [dict(r.__data__) for r in Event.select().where(Event.subject_id == wid)]}
        note_ids = {str(n["id"]) for n in rows[Notification]}
        rows[Job] = [dict(r.__data__) for r in Job.select().where(Job.kind == "notify")
                     if str(r.payload.get("notificationId")) in note_ids]
        started = time.perf_counter()
        for start in range(0, len(phones), CHUNK):
            batch = {model: [] for model in rows}
            for phone in phones[start:start + CHUNK]:
                number = phonenumbers.format_number(phonenumbers.parse(phone, None), E164)
                new = uuid.uuid4()
                for model, samples in rows.items():
                    for sample_row in samples:
                        row = {k: (new if v == wid else v) for k, v in sample_row.items()}
                        if "id" in row:
                            row["id"] = new if model is Workflow else uuid.uuid4()
                        if model is Workflow:
                            row["phone_number"] = number
                        batch[model].append(row)
            with db.atomic():
                for model, made in batch.items():
                    model.insert_many(made).execute()
        return time.perf_counter() - started


def run(backend, sizes):
    n = sizes["entries"]
    with workdir() as tmp, database(backend, tmp) as url:
        folder = Path(tmp)
        env = linx_env(url, folder)
        key = init_demo(env, folder)
        os.environ.update(env)
        from gateway_app import create_app
        from linx_core.boot import runtime
        from linx_core.store.models import Workflow

        rt = runtime()
        app = create_app(runtime=rt)
        client = app.test_client()
        headers = {"Authorization": f"Bearer {key}"}
        made = client.post("/v2/linx/templates", json=TEMPLATE, headers=headers)
        assert made.status_code == 201, made.get_json()
        phones = [f"+1647555{i:04d}" for i in range(n)]  # up to 10,000, as a batch
        body = "externalId,phoneNumber\n" + "".join(f"e-{i},{p}\n" for i, p in enumerate(phones))
        rss = [_rss_mb()]
        started = time.perf_counter()
        response = client.post("/v2/linx/batches?templateName=bench-notice", data=body, content_type="text/csv",
                               headers={**headers, "Idempotency-Key": "bench-batch-1"})
        accepted = time.perf_counter() - started
        assert response.status_code == 202, response.get_json()
        rss.append(_rss_mb())
        batch_id = response.get_json()["id"]
        started = time.perf_counter()
        _expand(rt)
        expanded = time.perf_counter() - started
        rss.append(_rss_mb())
        shown = client.get(f"/v2/linx/batches/{batch_id}", headers=headers).get_json()
        assert shown["status"] == "COMPLETED" and shown["counts"]["created"] == n, shown
        bare = _baseline(rt, phones)
        with rt.database.connection_context():
            assert Workflow.select().count() == 2 * n
        return {"sizes": sizes, "accepted_seconds": round(accepted, 4), "expanded_seconds": round(expanded, 4),
                "baseline_seconds": round(bare, 4), "ratio": round(bare / expanded, 4), "target_ratio": 0.3,
                "rss_mb": [round(x, 1) for x in rss], "rss_growth_mb": round(rss[-1] - rss[0], 1)}


def main():
    args = arguments("A 10,000-entry batch: 202, expansion, baseline, RSS.", SIZES)
    rows = []
    for backend in args.backends:
        result = run(backend, args.sizes)
        write("batch", backend, result, args.out)
        rows.append((backend, args.sizes["entries"], result["accepted_seconds"], result["expanded_seconds"],
                     result["baseline_seconds"], result["ratio"], result["rss_growth_mb"]))
    table(("backend", "entries", "202 s", "expanded s", "baseline s", "ratio", "RSS growth MB"), rows)


if __name__ == "__main__":
    main()
