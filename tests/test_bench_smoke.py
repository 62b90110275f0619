"""The benchmarks in their tiniest mode, on SQLite: each runs to the end and writes well-formed JSON
with its ratio, so the bench code cannot rot. No timing is asserted (speed belongs in bench/)."""
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.system  # real processes, servers or a browser: `make test-fast` skips them

BENCH = Path(__file__).resolve().parent.parent / "bench"


def run_bench(name, tmp_path):
    out = tmp_path / f"{name}.json"
    done = subprocess.run([sys.executable, str(BENCH / f"bench_{name}.py"), "--tiny", "--backend", "sqlite",
                           "--out", str(out)], capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads(out.read_text())
    assert result["benchmark"] == name and result["backend"] == "sqlite"
    assert isinstance(result["ratio"], float) and math.isfinite(result["ratio"]) and result["ratio"] > 0
    assert result["machine"]["cpus"] >= 1
    return result, done.stdout


@pytest.mark.parametrize("name", ["create", "worker"])
def test_a_ratio_bench_measures_both_sides(name, tmp_path):
    result, printed = run_bench(name, tmp_path)
    assert "ratio" in printed
    if name == "create":
        assert result["load_generator"] == "wrk"
        level = result["levels"][0]
        for side in ("bare", "linx"):  # wrk's figures and the server's CPU time from /proc
            assert level[side]["rps"] > 0 and 0 < level[side]["p50_ms"] <= level[side]["p99_ms"]
            assert level[side]["cpu_ms"] > 0
        assert level["ratio"] == pytest.approx(level["linx"]["rps"] / level["bare"]["rps"])
    else:
        assert result["raw"]["jobs_per_second"] > 0 and result["linx"]["jobs_per_second"] > 0
        assert result["ratio"] == pytest.approx(result["linx"]["jobs_per_second"] / result["raw"]["jobs_per_second"])


def test_the_gateway_bench_opens_links_through_wrk(tmp_path):
    result, printed = run_bench("gateway", tmp_path)
    level = result["levels"][0]
    assert result["load_generator"] == "wrk" and result["page"] == "GET /l/<token>"
    assert level["rps"] > 0 and 0 < level["p50_ms"] <= level["p99_ms"] and level["cpu_ms"] > 0


def test_end_to_end_completes_every_workflow_and_delivers_webhooks(tmp_path):
    result, _ = run_bench("e2e", tmp_path)
    level = result["levels"][0]
    assert level["workflows_per_second"] > 0 and level["workflow_ms"] > level["create_ms"] > 0
    assert result["webhook_deliveries"] > 0


def test_memory_samples_both_processes_at_each_checkpoint(tmp_path):
    result, _ = run_bench("memory", tmp_path)
    checkpoints = [s["workflows"] for s in result["samples"] if s["checkpoint"]]
    assert checkpoints == result["sizes"]["checkpoints"]
    assert all(s["server_mb"] > 0 and s["worker_mb"] > 0 for s in result["samples"])
    assert set(result["growth"]) == {"server", "worker"}


def test_the_batch_bench_expands_and_measures_the_baseline(tmp_path):
    result, printed = run_bench("batch", tmp_path)
    assert "baseline" in printed and result["sizes"]["entries"] == 50
    assert result["accepted_seconds"] > 0 and result["expanded_seconds"] > 0 and result["baseline_seconds"] > 0
    assert result["ratio"] == pytest.approx(result["baseline_seconds"] / result["expanded_seconds"], rel=0.02)
    assert len(result["rss_mb"]) == 3
