"""`ikestorm run` end to end against a real charon (issue 6's acceptance).

Each test runs the built binary as root, then checks the report against the SUT's own view
and that nothing of the run is left on the host.
"""
import json
import os
import re
import subprocess
import time

import pytest


def charon_pids():
    out = subprocess.run(["pgrep", "-x", "charon"], capture_output=True, text=True).stdout
    return set(int(p) for p in out.split())


def in_another_runs_netns(pid: int, run_id: str) -> bool:
    names = subprocess.run(["ip", "netns", "identify", str(pid)], capture_output=True, text=True).stdout.split()
    return any(n.startswith("ist-") and not n.startswith(f"ist-{run_id}-") for n in names)


def run_id_of(stdout: str) -> str:
    m = re.search(r"run ([0-9a-f]{6})", stdout)
    assert m, f"no run id in output:\n{stdout}"
    return m.group(1)


def charon_of_this_run(pid: int, run_id: str, out=None) -> bool:
    """Whether a charon that appeared during the run is the run's: not one inside another
    run's namespace (other tests or users may run charons meanwhile) and, when the run's
    output folder is known, one that has it open as its working directory or in its command."""
    if in_another_runs_netns(pid, run_id):
        return False
    if out is None:
        return True
    try:
        cwd = os.readlink(f"/proc/{pid}/cwd")
        cmd = open(f"/proc/{pid}/cmdline", "rb").read().decode(errors="replace")
    except OSError:
        return False  # gone meanwhile
    return str(out) in cwd or str(out) in cmd


def assert_nothing_left(run_id: str, charons_before: set, out=None):
    netns = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert f"ist-{run_id}" not in netns, f"namespaces of run {run_id} left:\n{netns}"
    links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
    assert f"ist{run_id}" not in links
    new = {p for p in charon_pids() - charons_before if charon_of_this_run(p, run_id, out)}
    assert not new, f"charon processes left behind: {new}"
    assert not os.path.exists(f"/run/ikestorm/{run_id}"), "run state folder left behind"


def test_default_run_establishes_1000_peers(run_ikestorm, needs_root, tmp_path):
    before = charon_pids()
    out = tmp_path / "out"
    t0 = time.monotonic()
    r = run_ikestorm("run", "--out", out, timeout=180)
    wall = time.monotonic() - t0
    assert r.returncode == 0, r.stdout + r.stderr
    report = json.loads((out / "report.json").read_text())
    run = report["runs"][0]
    s = run["summary"]
    assert s["peers"] == 1000
    assert s["established"] == 1000
    assert s["failed"] == 0
    # The harness's count equals the SUT's own list-sas count at the end of connect.
    assert s["sut_ike_sas_at_connect_end"] == s["established"]
    assert s["setup_rate_per_s"] > 0
    assert 0 < s["setup_latency_ms"]["p50"] <= s["setup_latency_ms"]["p99"] <= s["setup_latency_ms"]["max"]
    assert len(run["samples"]["setup_latency_ms"]) == 1000
    assert s["cpu_s"]["sut"] > 0 and s["cpu_s"]["peers"] > 0
    assert s["leaks"] == 0
    assert report["backend"] in ("libipsec", "xfrm")
    assert run["expectations"] == [{"expr": "established_ratio >= 1", "ok": True, "observed": 1.0},
                                   {"expr": "sut_survived == 1", "ok": True, "observed": 1}]
    assert run["outcome"] == "complete" and run["sut_death"] is None and run["sut_unresponsive"] == []
    assert (s["sut_survived"], s["lost"], s["harness_faults"], s["unclassified_attempts"]) == (1, 0, 0, 0)
    # Benchmarking metrics: 1,000 initiations at 500/s, all 1,000 SAs up at once in the hold.
    assert 400 <= s["tunnel_attempts_per_s"] <= 600, s["tunnel_attempts_per_s"]
    assert sum(p["attempts"] for p in run["timeseries"]) == 1000
    assert s["peak_sas"]["ike_active"] == 1000 and s["peak_sas"]["child_active"] == 1000
    assert s["peak_sas"]["ike_pending"] == max(p["ike_pending"] for p in run["timeseries"])
    assert s["rekeys_per_s"] == {"ike_peak": 0, "ike_mean": 0, "child_peak": 0, "child_mean": 0}
    # The run folder keeps configs, logs and the effective scenario.
    for f in ("run-1/scenario.json", "run-1/sut/strongswan.conf", "run-1/sut/swanctl.conf",
              "run-1/sut/charon.log", "run-1/peers-sample.swanctl.conf"):
        assert (out / f).is_file(), f
    # The summary on screen names the key figures.
    for word in ("established", "setup rate", "setup latency", "SUT", "report:"):
        assert word in r.stdout
    assert wall < 60, f"the default run took {wall:.1f} s"
    assert_nothing_left(run_id_of(r.stdout), before)


def test_ikesa_limit_refuses_exactly_the_excess(run_ikestorm, needs_root, tmp_path):
    before = charon_pids()
    out = tmp_path / "out"
    t0 = time.monotonic()
    r = run_ikestorm("run", "--set", "sut.charon.ikesa_limit=50", "--set", "peers.charon.retransmit_tries=2",
                     "--set", "peers.charon.retransmit_timeout=1",
                     "--set", "phases=[{connect: {}}, {teardown: {}}]",
                     "--peers", "100", "--out", out, timeout=180)
    wall = time.monotonic() - t0
    # The implied expectation (established_ratio >= 1) fails: exit 1.
    assert r.returncode == 1, r.stdout + r.stderr
    run = json.loads((out / "report.json").read_text())["runs"][0]
    s = run["summary"]
    assert s["established"] == 50
    assert s["failed"] == 50
    assert s["sut_ike_sas_at_connect_end"] == 50
    # Precision: exactly the 50 refused peers carry MM_LIMIT on the responder side (the SUT's
    # log names no peer; the harness joins it with the initiators' view), none misattributed,
    # and each also carries the initiator's DROP_NO_RESPONSE.
    assert run["codes"]["ERROR_IPSEC_IKE_MM_LIMIT"]["peers"] == 50
    assert run["codes"]["ERROR_IPSEC_IKE_DROP_NO_RESPONSE"]["peers"] == 50
    assert s["unclassified"] == 0
    limit = [f for f in run["failures"] if f["code"]["name"] == "ERROR_IPSEC_IKE_MM_LIMIT"]
    assert all(f["side"] == "responder" and f["exact"] and f["code"]["value"] == 13882 for f in limit)
    failed_peers = {p["peer"] for p in run["peers"] if p["state"] == "failed"}
    assert {f["peer"] for f in limit} == failed_peers
    assert len(failed_peers) == 50
    # retransmit_tries=2 with a 1 s first timeout gives up after 1+1.8+3.2 s; the run (no
    # hold) ends well inside connect's bound of that budget plus margins.
    assert wall < 40, f"took {wall:.1f} s"
    assert_nothing_left(run_id_of(r.stdout), before)


def test_bad_set_path_is_exit_2_without_root_work(run_ikestorm, tmp_path):
    r = run_ikestorm("run", "--set", "peers.cuont=5", "--out", tmp_path / "o")
    assert r.returncode == 2
    assert "cuont" in r.stderr and "count" in r.stderr
    assert not (tmp_path / "o").exists()


def test_ctrl_c_tears_down_and_keeps_a_partial_report(ikestorm_bin, needs_root, tmp_path):
    before = charon_pids()
    out = tmp_path / "out"
    p = subprocess.Popen([str(ikestorm_bin), "run", "--set", "phases=[{connect: {}}, {hold: {duration: 60s}}]",
                          "--peers", "200", "--out", str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    # Inside the hold phase: wait for a progress line that says so (a loaded box may take far
    # longer than any fixed sleep to get there), bounded in time.
    deadline = time.monotonic() + 90
    seen = []
    while time.monotonic() < deadline:
        line = p.stderr.readline()  # progress lines go to stderr
        seen.append(line)
        if not line or re.search(r"\]\s+hold\s", line):
            break
    assert any(re.search(r"\]\s+hold\s", line) for line in seen), "".join(seen)
    p.send_signal(2)  # SIGINT, as Ctrl-C
    stdout, stderr = p.communicate(timeout=60)
    stderr = "".join(seen) + stderr
    assert p.returncode == 3, stdout + stderr
    assert "interrupted" in stdout
    run = json.loads((out / "report.json").read_text())["runs"][0]
    assert run["outcome"] == "interrupted"
    assert run["summary"]["established"] == 200
    assert run["summary"]["leaks"] == 0
    assert_nothing_left(run_id_of(stdout), before)
