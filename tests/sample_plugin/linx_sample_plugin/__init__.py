"""A third-party LinX plugin, written as an integrator would write one.

- An SMS channel ("Outbox SMS") that writes each message as a JSON file into
  the folder named by ``LINX_SAMPLE_OUTBOX``; it serves SMS only when that is set.
- A job kind ``sample.effect`` whose handler appends a line to a file once per
  key, with pauses before and after, so tests can kill a worker mid-job.
"""
import json
import os
import time
import uuid
from pathlib import Path

from linx_core import hookimpl
from linx_core.channels import ChannelError, Sent


class OutboxSms:
    name = "sample-outbox"

    def __init__(self, folder):
        self.folder = Path(folder)

    def send(self, message):
        if message.to.endswith("0000"):
            raise ChannelError("SAMPLE_REFUSED", "numbers ending in 0000 are refused", permanent=True)
        self.folder.mkdir(parents=True, exist_ok=True)
        message_id = uuid.uuid4().hex
        (self.folder / f"{message_id}.json").write_text(json.dumps({
            "id": message_id, "to": message.to, "text": message.text, "origin": message.origin}))
        return Sent(provider="sample-outbox", provider_id=message_id)


@hookimpl
def linx_channel(name, rt):
    folder = os.environ.get("LINX_SAMPLE_OUTBOX")
    if name == "SMS" and folder:
        return OutboxSms(folder)
    return None


def effect(rt, job):
    payload = job.payload
    time.sleep(float(payload.get("sleepBefore", 0)))
    path = Path(payload["path"])
    lines = path.read_text().splitlines() if path.exists() else []
    if payload["key"] not in lines:
        with open(path, "a") as fh:
            fh.write(payload["key"] + "\n")
            fh.flush()
            os.fsync(fh.fileno())
    time.sleep(float(payload.get("sleepAfter", 0)))


@hookimpl
def linx_job_handlers(rt):
    return {"sample.effect": effect}
