"""Several generators against one gateway (run --generator I/N, --start-at, merge), each in a
generator host of its own, running the very commands deploy/kubernetes's pods run."""
import datetime
import json
import os
import subprocess
import threading
import time
from pathlib import Path

import pytest
import yaml

from conftest import REPO
from gateway_host import GatewayHost


def _pod_script(scenario: Path, reports: Path) -> str:
    """The generator pod's shell script, pointed at this test's files."""
    job = yaml.safe_load((REPO / "deploy" / "kubernetes" / "generators-job.yaml").read_text())
    (container,) = job["spec"]["template"]["spec"]["containers"]
    return container["args"][0].replace("/scenario/target.yaml", str(scenario)).replace("/reports", str(reports))


def _start_in(seconds: float) -> str:
    t = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=seconds)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def _run_generators(gw, ikestorm_bin, scenario, reports, start_at, timeout=240):
    env = dict(os.environ, PATH=f"{Path(ikestorm_bin).parent}:{os.environ['PATH']}",
               GENERATORS=str(gw.generators), START_AT=start_at, INTERFACE="eth1",
               GENERATOR_LOCALS=" ".join(gw.generator_local(k) for k in range(1, gw.generators + 1)))
    script = _pod_script(scenario, reports)
    procs = [subprocess.Popen(["ip", "netns", "exec", ns, "/bin/sh", "-c", script],
                              env=dict(env, JOB_COMPLETION_INDEX=str(k)), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
             for k, ns in enumerate(gw.gen_nss)]
    return [(p.wait(timeout=timeout), *p.communicate()) for p in procs]


def _most_sas_seen(gw, stop, seen):
    while not stop.is_set():
        try:
            seen.append(gw.list_sas_count())
        except subprocess.SubprocessError:
            pass
        stop.wait(1.0)


def test_two_generators_drive_one_gateway_and_merge(tmp_path, ikestorm_bin, run_ikestorm, needs_root):
    reports = tmp_path / "reports"
    reports.mkdir()
    with GatewayHost(tmp_path, generators=2) as gw:
        scenario = gw.scenario(count=1000, engine="native", extra=(
            "phases: [connect, {hold: {duration: 6s}}, teardown]\n"))
        text = scenario.read_text().replace("  engine: native\n", "  engine: native\n  arrival: {rate: 400/s}\n")
        scenario.write_text(text)
        stop, seen = threading.Event(), []
        watcher = threading.Thread(target=_most_sas_seen, args=(gw, stop, seen), daemon=True)
        watcher.start()
        start_at = _start_in(10)
        results = _run_generators(gw, ikestorm_bin, scenario, reports, start_at)
        stop.set()
        watcher.join(timeout=30)
    for rc, out, err in results:
        assert rc == 0, out[-3000:] + err[-3000:]
    # Each generator printed its block, prefixes and local first.
    assert "generator 1/2: peers p0..p499 from 198.19.0.0/18 (inner 198.19.128.0/18) via target.local " \
           "198.18.100.50/24" in results[0][1]
    assert "generator 2/2: peers p500..p999 from 198.19.64.0/18 (inner 198.19.192.0/18)" in results[1][1]
    assert max(seen) == 1000, seen  # the gateway's own count while both held

    singles = [json.loads((reports / f"generator-{k}" / "report.json").read_text()) for k in (1, 2)]
    for k, rep in enumerate(singles, start=1):
        g = rep["generator"]
        assert (g["index"], g["count"], g["start_at"], g["peers"]) == (k, 2, start_at, 500)
        assert 0 <= g["start_skew_ms"] < 50, g
    names = {p["peer"] for rep in singles for p in rep["runs"][0]["peers"]}
    assert names == {f"p{i}" for i in range(1000)}  # global names, no peer twice

    r = run_ikestorm("merge", "-o", tmp_path / "merged", reports / "generator-1", reports / "generator-2")
    assert r.returncode == 0, r.stderr
    merged = json.loads((tmp_path / "merged" / "report.json").read_text())
    run = merged["runs"][0]
    assert run["summary"]["established"] == 1000 and run["summary"]["peers"] == 1000
    assert [g["generator"]["index"] for g in merged["generators"]] == [1, 2]
    assert [g["established"] for g in merged["generators"]] == [500, 500]
    # Percentiles of the union of both generators' samples.
    union = sorted(s for rep in singles for s in rep["runs"][0]["samples"]["setup_latency_ms"])
    rank = lambda p: union[max(1, -(-p * len(union) // 100)) - 1]  # nearest rank
    assert run["summary"]["setup_latency_ms"]["p50"] == rank(50)
    assert run["summary"]["setup_latency_ms"]["p99"] == rank(99)
    assert all(e["ok"] for e in run["expectations"])
