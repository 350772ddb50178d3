"""Verdicts that can fail: a SUT killed or frozen under load fails the run, a failure no
rule knows stays unclassified (and `unclassified == 0` then fails), and CI refuses to run
without root. (An expectation on leaks judged after the leak check: test_scenarios.py.)

The SUT charon is found through the run's own namespace (ist-<runid>-sut): the test signals
only a process the run under test started.
"""
import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def run_id_from(line: str) -> str:
    m = re.search(r"run ([0-9a-f]{6})", line)
    assert m, f"no run id in: {line!r}"
    return m.group(1)


def charons_in(run_id: str, part: str, deadline_s: float = 30) -> list:
    """The charon processes inside the run's namespace ist-<run_id>-<part>, once there is one
    (bounded wait)."""
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        r = subprocess.run(["ip", "netns", "pids", f"ist-{run_id}-{part}"], capture_output=True, text=True)
        pids = []
        for p in r.stdout.split():
            try:
                if Path(f"/proc/{p}/comm").read_text().strip() == "charon":
                    pids.append(int(p))
            except OSError:
                continue
        if pids:
            return pids
        time.sleep(0.2)
    pytest.fail(f"no charon in ist-{run_id}-{part} within {deadline_s} s")


def sut_charon_pid(run_id: str) -> int:
    """The charon inside the run's SUT namespace."""
    return charons_in(run_id, "sut")[0]


def start_run(ikestorm_bin, scenario: Path, out: Path, *extra):
    proc = subprocess.Popen([str(ikestorm_bin), "run", str(scenario), "--out", str(out), *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    first = proc.stdout.readline()
    return proc, run_id_from(first), first


def wait_for_phase(proc, phase: str, limit_s: float = 120) -> list:
    """Reads the run's progress lines (stderr; one every 5 s off a terminal) until one names
    `phase`. A loaded box may take far longer than any fixed sleep to get there."""
    seen, end = [], time.monotonic() + limit_s
    while time.monotonic() < end:
        line = proc.stderr.readline()
        seen.append(line)
        if not line or re.search(rf"\]\s+{phase}\s", line):
            break
    assert any(re.search(rf"\]\s+{phase}\s", line) for line in seen), "".join(seen)
    return seen


def finish(proc, timeout=180):
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        pytest.fail(f"run did not end within {timeout} s\n{out}\n{err}")
    return out, err


def report_of(out: Path) -> dict:
    return json.loads((out / "report.json").read_text())


def hold_scenario(tmp_path: Path, peers: int, hold: str, extra: str = "") -> Path:
    f = tmp_path / "scenario.yaml"
    f.write_text(f"""name: verdict-hold
peers:
  count: {peers}
  arrival: {{ rate: 500/s }}
{extra}phases:
  - connect: {{}}
  - hold: {{ duration: {hold} }}
  - teardown: {{}}
""")
    return f


def test_sut_killed_under_load_fails_the_run(ikestorm_bin, needs_root, tmp_path):
    # 500 peers, the SUT charon SIGKILLed during the hold: exit 1, the report names the
    # signal and when, and every peer that was up is lost.
    out = tmp_path / "out"
    proc, run_id, _ = start_run(ikestorm_bin, hold_scenario(tmp_path, 500, "60s"), out)
    pid = sut_charon_pid(run_id)
    wait_for_phase(proc, "hold")
    time.sleep(2)
    os.kill(pid, signal.SIGKILL)
    killed_at = time.monotonic()
    stdout, stderr = finish(proc)
    took = time.monotonic() - killed_at
    assert proc.returncode == 1, f"{stdout}\n{stderr}"
    run = report_of(out)["runs"][0]
    assert run["outcome"] == "sut-died", run["outcome"]
    death = run["sut_death"]
    assert "SIGKILL" in death["how"], death
    assert death["t_ms"] > 1000 and death["t_ms"] < run["summary"]["wall_s"] * 1000, death
    assert death["log_tail"], death
    s = run["summary"]
    assert s["sut_survived"] == 0
    assert s["established"] == 500
    assert s["lost"] == 500, s
    assert s["cpu_s"]["sut"] > 0 and s["rss_mb"]["sut"] > 0, s  # kept up to the death
    lost_events = [e for p in run["peers"] for e in p["events"] if e["event"] == "lost"]
    assert len(lost_events) == 500
    assert all(abs(e["t_ms"] - death["t_ms"]) < 1500 for e in lost_events)
    failed = [e for e in run["expectations"] if not e["ok"]]
    assert [e["expr"] for e in failed] == ["sut_survived == 1"], run["expectations"]
    assert "SUT DIED" in stdout and "SIGKILL" in stdout, stdout
    # No 20-second teardown against a dead SUT, and nothing left behind.
    assert took < 15, f"teardown took {took:.1f} s after the kill"
    assert f"ist-{run_id}" not in subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout


def test_sut_stopped_is_unresponsive_and_fails_the_run(ikestorm_bin, needs_root, tmp_path):
    # SIGSTOP the SUT for 8 s with sut.unresponsive_after 3s: a silent span is recorded from
    # its last answer until it answers again after SIGCONT, and the run exits 1.
    out = tmp_path / "out"
    scenario = hold_scenario(tmp_path, 50, "20s", extra="sut:\n  unresponsive_after: 3s\n")
    proc, run_id, _ = start_run(ikestorm_bin, scenario, out)
    pid = sut_charon_pid(run_id)
    wait_for_phase(proc, "hold")
    os.kill(pid, signal.SIGSTOP)
    try:
        time.sleep(8)
    finally:
        os.kill(pid, signal.SIGCONT)
    stdout, stderr = finish(proc)
    assert proc.returncode == 1, f"{stdout}\n{stderr}"
    run = report_of(out)["runs"][0]
    assert run["outcome"] == "sut-unresponsive", run["outcome"]
    assert run["sut_death"] is None
    spans = run["sut_unresponsive"]
    assert len(spans) == 1, spans
    span = spans[0]
    assert 5000 <= span["to_ms"] - span["from_ms"] <= 12000, span
    assert run["summary"]["sut_survived"] == 0
    assert run["summary"]["established"] == 50
    assert any(e["expr"] == "sut_survived == 1" and not e["ok"] for e in run["expectations"])
    assert "SUT SILENT" in stdout


def test_a_hung_peer_daemon_is_a_harness_fault_not_the_suts_silence(ikestorm_bin, needs_root, tmp_path):
    # A peer daemon that neither answers vici nor spends CPU (here: SIGSTOPped; in the wild a
    # deadlock inside charon) would let its peers' attempts time out as DROP_NO_RESPONSE, the
    # SUT's fault. It is the harness's: the run stops with harness-fault, exit 3, naming it.
    out = tmp_path / "out"
    scenario = hold_scenario(tmp_path, 20, "60s", extra="  daemons: 2\n")
    proc, run_id, _ = start_run(ikestorm_bin, scenario, out)
    pids = charons_in(run_id, "peers")  # the initiator daemons
    wait_for_phase(proc, "hold")
    stopped = pids[0]
    os.kill(stopped, signal.SIGSTOP)
    t0 = time.monotonic()
    try:
        stdout, stderr = finish(proc)
    finally:
        try:
            os.kill(stopped, signal.SIGCONT)
        except ProcessLookupError:
            pass
    took = time.monotonic() - t0
    assert proc.returncode == 3, f"{stdout}\n{stderr}"
    run = report_of(out)["runs"][0]
    assert run["outcome"] == "harness-fault", run["outcome"]
    hung = [n for n in run["notes"] if n.startswith("peer daemon hung: ")]
    assert hung and re.search(rf"\(pid {stopped}\) answered no vici request for 10 s and spent 0\.0\d s of CPU meanwhile",
                              hung[0]), run["notes"]
    # Noticed after 10-12 s of silence, long before the 60 s hold would have ended.
    assert took < 40, f"took {took:.1f} s"
    assert "ERROR_IPSEC_IKE_DROP_NO_RESPONSE" not in run["codes"], run["codes"]
    # The evidence for a deadlock report: where its threads wait (a SIGSTOPped process waits
    # in do_signal_stop, a deadlocked one in a futex) and, with gdb, their backtraces.
    assert re.search(r"; \d+ threads; waiting in do_signal_stop \d+", hung[0]), hung[0]
    if os.access("/usr/bin/gdb", os.X_OK):
        m = re.search(r"backtraces in (\S+/run-1/peers-\d+/hang-backtraces\.txt)$", hung[0])
        assert m and Path(m.group(1)).is_relative_to(out), hung[0]
        trace = Path(m.group(1))
        assert trace.read_text().count("\nThread ") >= 2, trace.read_text()[:2000]


def test_a_failure_no_rule_knows_stays_unclassified(needs_root, tmp_path, run_ikestorm):
    # A native peer whose IKE_SA_INIT answer arrives with one bit flipped in its SA payload
    # fails on an answer it cannot use (protocol_error: "responder chose a transform that was
    # not offered"), which no rule maps: unclassified with its evidence, no code, and
    # `unclassified == 0` fails with exit 1. One peer and a fixed seed: the impairment flips
    # the same bit of the same answer every run (seed 2 measured 4 of 4 times; seeds 1, 3, 5
    # flip bytes that give DROP_NO_RESPONSE or AUTH_FAIL instead).
    f = tmp_path / "scenario.yaml"
    f.write_text("""name: verdict-unclassified
seed: 2
peers:
  count: 1
  engine: native
  charon: { retransmit_tries: 1, retransmit_timeout: 1 }
  impair:
    - { exchange: IKE_SA_INIT, direction: in, message: response, action: corrupt, peers: 100% }
phases:
  - connect: {}
  - teardown: {}
expect:
  unclassified: "== 0"
""")
    out = tmp_path / "out"
    r = run_ikestorm("run", f, "--out", out, timeout=120)
    assert r.returncode == 1, r.stdout + r.stderr
    run = report_of(out)["runs"][0]
    s = run["summary"]
    assert (s["unclassified"], s["unclassified_attempts"], s["harness_faults"], s["failed"]) == (1, 1, 0, 1), s
    assert run["codes"] == {} and run["failures"] == [], (run["codes"], run["failures"])
    [rec] = run["unclassified"]
    assert rec["peer"] == "p0" and rec["side"] == "initiator" and rec["exchange"] == "IKE_SA_INIT", rec
    assert rec["evidence"] == ["native: protocol_error: responder chose a transform that was not offered"], rec
    assert [e["ok"] for e in run["expectations"] if e["expr"] == "unclassified == 0"] == [False]
    assert "unclassified   peers 1  attempts 1" in r.stdout, r.stdout


def test_ci_refuses_to_run_without_root(needs_root, tmp_path):
    # As nobody, the README's test command must fail at once rather than pass on skips.
    r = subprocess.run(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "bash",
                        str(REPO / "ci" / "test.sh")], capture_output=True, text=True, timeout=30,
                       cwd=tmp_path)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "must run as root" in r.stderr


@pytest.mark.long
def test_a_saturated_sut_is_busy_not_unresponsive(needs_root, tmp_path, run_ikestorm):
    # 4,000 native peers at once against the libipsec SUT with sut.unresponsive_after 3s: its
    # vici stats go unanswered for many seconds in a row (measured: 10 s during teardown),
    # but it spends CPU throughout, so no unresponsive span is recorded.
    out = tmp_path / "out"
    r = run_ikestorm("run", "--peers", "4000", "--set", "peers.arrival={burst: 4000}", "--set",
                     "peers.engine=native", "--set", "sut.unresponsive_after=3s", "--out", out, timeout=300)
    run = report_of(out)["runs"][0]
    unanswered = [p["t_s"] for p in run["timeseries"] if "sut" not in p]
    assert len(unanswered) >= 3, "the SUT was not saturated enough to test this"
    assert run["sut_unresponsive"] == [] and run["summary"]["sut_survived"] == 1, run["sut_unresponsive"]
    assert r.returncode in (0, 1), r.stdout + r.stderr
