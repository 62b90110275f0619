"""wrk, the C load generator the HTTP benchmarks drive, and the CPU time the servers spend, from ``/proc``.

wrk leaves the two cores to the servers (a Python client took much of one). Each request shape is a Lua
script in ``bench/lua/``; its ``done()`` prints one ``WRK_RESULT {json}`` line that :func:`run` reads.
"""
import contextlib
import json
import os
import shutil
import subprocess
from pathlib import Path

LUA = Path(__file__).resolve().parent / "lua"
TICKS = os.sysconf("SC_CLK_TCK")


def ensure_wrk():
    """The path of ``wrk``, installed from Debian's package when missing (as root: CI, the bench machine)."""
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True, env=env, stdout=subprocess.DEVNULL)
        found = shutil.which("wrk")
    if not found:
        raise SystemExit("the benchmarks need wrk: apt-get install wrk (Debian, Ubuntu) or build it from "
                         "https://github.com/wg/wrk")
    return found


def run(url, script, args, connections, seconds, threads=None):
    """One wrk run against ``url`` with ``bench/lua/<script>`` and its ``args``; returns its figures:
    requests, rps, p50_ms, p99_ms (wrk's own histogram), and the status and socket errors."""
    threads = threads or min(connections, 2)
    command = [ensure_wrk(), f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "30s",
               "-s", str(LUA / script), url, "--", *map(str, args)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 120)
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith("WRK_RESULT ")), None)
    if done.returncode or line is None:
        raise SystemExit(f"wrk failed ({done.returncode}): {done.stdout}{done.stderr}")
    raw = json.loads(line.removeprefix("WRK_RESULT "))
    return {"requests": raw["requests"], "rps": raw["requests"] / (raw["duration_us"] / 1e6),
            "p50_ms": raw["p50_us"] / 1000, "p99_ms": raw["p99_us"] / 1000,
            "status_errors": raw["status_errors"], "socket_errors": raw["socket_errors"]}


def cpu_seconds(pids):
    """User plus system CPU time of the processes ``pids`` and of their children alive now, from
    ``/proc/<pid>/stat``; a process that is gone counts 0."""
    total = 0.0
    for pid in set(pids) | {c for p in pids for c in _children(p)}:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime (fields 14 and 15 of stat)
    return total


def _children(pid):
    try:
        found = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return []
    return [int(c) for c in found] + [g for c in found for g in _children(int(c))]


def postgres_backends(url):
    """The pids of the PostgreSQL server processes connected to the database of ``url`` (on this host: their
    CPU is part of a request's cost); none for SQLite."""
    if url.startswith("sqlite"):
        return []
    from linx_core.testing.postgres import admin_connection

    with contextlib.closing(admin_connection()) as conn, conn.cursor() as cursor:
        cursor.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", (url.rsplit("/", 1)[1],))
        return [row[0] for row in cursor.fetchall()]
