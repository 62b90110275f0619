"""Exactly once: a worker killed after the rail accepted a transfer but before LinX recorded it leaves one
transfer at the rail and a SETTLED transaction; two confirmations at once make one transaction."""
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from linx_core.errors import LinxError
from linx_core.services import journey
from linx_core.store.models import Job, Transaction, Workflow
from linx_plugins.push_to_card import PushToCardSandbox

from .conftest import DATA_KEY, SECRET_KEY
from .journeys import api_for, body, create, rail_runtime, reload, to_confirmation


def _start_worker(env):
    return subprocess.Popen([str(Path(sys.executable).parent / "linx"), "worker"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def _wait(condition, seconds=40, step=0.1):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step)
    return condition()


@pytest.mark.system
def test_a_worker_killed_between_the_rails_answer_and_linx_recording_it(rt, demo, backend_url, tmp_path):
    runtime = rail_runtime(rt, tmp_path)
    workflow_id = create(api_for(runtime, demo[1]), body(phone="+16475550601"))
    tx = to_confirmation(runtime, workflow_id)  # PENDING, its submit job due now
    rail = PushToCardSandbox(tmp_path / "rails" / "push-to-card")  # the rail's side, read by the test
    env = dict(os.environ, LINX_DATABASE_URL=backend_url, LINX_SECRET_KEY=SECRET_KEY, LINX_DATA_KEY=DATA_KEY,
               LINX_JOB_LEASE_SECONDS="2", LINX_WORKER_POLL_SECONDS="0.2", LINX_ENV="test",
               LINX_INSTANCE_PATH=str(tmp_path))
    # the first worker's rail takes 60 seconds to answer once it has recorded the transfer
    first = _start_worker(dict(env, LINX_SANDBOX_RESPONSE_DELAY="60"))
    try:
        assert _wait(lambda: rail.ledger.path.exists() and len(rail.ledger.transfers()) == 1)
        row = reload(tx)
        assert (row.status, row.rail_reference) == ("PROCESSING", None)  # LinX has not recorded the answer
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    finally:
        if first.poll() is None:
            first.kill()
    second = _start_worker(env)
    try:
        _wait(lambda: reload(tx).status == "SETTLED", seconds=60, step=0.2)
    finally:
        second.send_signal(signal.SIGTERM)
        out = second.communicate(timeout=20)[0].decode()
    row = reload(tx)
    assert row.status == "SETTLED", out
    transfers = rail.ledger.transfers()
    assert len(transfers) == 1 and transfers[0]["key"] == str(tx.id)
    assert row.rail_reference == transfers[0]["reference"]
    from linx_core.services.transactions import history

    assert [h.status for h in history(row)] == ["NEW", "PENDING", "PROCESSING", "APPROVED", "SETTLED"]
    submit = Job.get(Job.kind == "transaction.submit")
    assert (submit.status, submit.attempts) == ("DONE", 2)
    assert Workflow.get_by_id(workflow_id).status == "COMPLETED"


@pytest.mark.parametrize("confirmations", [2, 6])
def test_confirmations_at_once_make_one_transaction(rt, demo, tmp_path, confirmations):
    runtime = rail_runtime(rt, tmp_path)
    workflow_id = create(api_for(runtime, demo[1]), body(phone="+16475550602"))
    to_confirmation(runtime, workflow_id, confirm=False)
    position = Workflow.get_by_id(workflow_id).current_step
    barrier = threading.Barrier(confirmations)
    outcomes = []

    def confirm():
        runtime.bind()
        with runtime.database.connection_context():
            barrier.wait()
            try:
                workflow = Workflow.get_by_id(workflow_id)
                outcomes.append(("ok", journey.submit(runtime, workflow.id, position, "move-money", {}).id))
            except LinxError as exc:
                outcomes.append(("refused", exc.code))
            except Exception as exc:  # noqa: BLE001 - any other failure is reported by the assert below
                outcomes.append(("crashed", repr(exc)))

    threads = [threading.Thread(target=confirm) for _ in range(confirmations)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    runtime.database.connect(reuse_if_open=True)
    assert sorted(kind for kind, _ in outcomes) == ["ok"] + ["refused"] * (confirmations - 1), outcomes
    assert {code for kind, code in outcomes if kind == "refused"} <= {"ALREADY_CONFIRMED", "CONCURRENT_UPDATE",
                                                                      "STEP_NOT_CURRENT"}
    assert Transaction.select().where(Transaction.workflow == workflow_id).count() == 1
    assert Job.select().where(Job.kind == "transaction.submit").count() == 1
