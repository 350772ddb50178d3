"""peers.impair and peers.flood with the native engine against a real charon SUT: each
scenario of scenarios/impair/ (and scenarios/taxonomy/qm-delay-drop.yaml) runs once and its
report is checked: the Windows codes the impairment should produce, every failure
classified, the SUT alive and answering afterwards."""
import json
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
IMPAIR = REPO / "scenarios" / "impair"
TAX = REPO / "scenarios" / "taxonomy"

_RUNS = {}

# Scenarios whose peers give up on silence run with a 1 s first retransmit instead of 2 s:
# the same three retransmits, given up after ~12 s instead of ~24 s.
_SETS = {name: ["--set", "peers.charon.retransmit_timeout=1"] for name in ("drop-ike-auth.yaml", "half-open-flood.yaml")}


def run_scenario(run_ikestorm, tmp_path, path, timeout=120):
    key = str(path)
    if key not in _RUNS:
        out = tmp_path / "out"
        r = run_ikestorm("run", path, *_SETS.get(path.name, []), "--out", out, timeout=timeout)
        report = json.loads((out / "report.json").read_text())
        assert len(report["runs"]) == 1
        _RUNS[key] = (r, report["runs"][0], out)
    return _RUNS[key]


def records(run, code):
    return [f for f in run["failures"] if f["code"]["name"] == code]


def check_common(r, run):
    assert r.returncode == 0, f"expectations failed or harness fault:\n{r.stdout}\n{r.stderr}"
    assert run["outcome"] == "complete"
    assert run["summary"]["unclassified"] == 0
    assert run["summary"]["leaks"] == 0


def test_dropping_every_ike_auth_answer_is_drop_no_response(run_ikestorm, needs_root, tmp_path):
    r, run, out = run_scenario(run_ikestorm, tmp_path, IMPAIR / "drop-ike-auth.yaml")
    check_common(r, run)
    s = run["summary"]
    assert s["established"] == 0 and s["failed"] == 5
    recs = records(run, "ERROR_IPSEC_IKE_DROP_NO_RESPONSE")
    assert {f["side"] for f in recs} == {"initiator"}
    assert len({f["peer"] for f in recs}) == 5
    assert all(f["exact"] for f in recs)
    # The answers were lost on the way in: the SUT did establish every IKE_SA and answered
    # each peer's IKE_AUTH and its three retransmits.
    sut_log = (out / "run-1" / "sut" / "charon.log").read_text()
    assert len(re.findall(r"IKE_SA \S+ established between", sut_log)) == 5
    assert len(re.findall(r"received retransmit of request with ID 1", sut_log)) == 15
    notes = "\n".join(run["notes"])
    assert "impairment 1: drop IKE_AUTH responses in, 100% of peers: chosen for 5 peers, applied to 20 datagrams" in notes


def test_half_open_flood_hits_init_limit_half_open(run_ikestorm, needs_root, tmp_path):
    r, run, out = run_scenario(run_ikestorm, tmp_path, IMPAIR / "half-open-flood.yaml")
    check_common(r, run)
    recs = records(run, "ERROR_IPSEC_IKE_QUEUE_DROP_MM")
    assert recs and {f["side"] for f in recs} == {"responder"}
    assert all(f["exact"] is False for f in recs)
    # Drops name spoofed sources of the flood and real peers that arrived after it.
    spoofed = [f for f in recs if f["address"].startswith("198.19.11") or f["address"].startswith("198.19.12")]
    assert spoofed, [f["address"] for f in recs]
    # The first peer got in ahead of the flood; the five after it were dropped and gave up.
    assert run["summary"]["established"] == 1 and run["summary"]["failed"] == 5
    starved = {f["peer"] for f in recs if f["peer"]}
    gave_up = {f["peer"] for f in records(run, "ERROR_IPSEC_IKE_DROP_NO_RESPONSE")}
    assert starved == gave_up and len(starved) == 5, (starved, gave_up)
    sut_log = (out / "run-1" / "sut" / "charon.log").read_text()
    assert "half-open IKE_SA limit of 50 reached" in sut_log
    # The SUT's own vici stats saw its half-open table full; the summary keeps that peak.
    samples = [p["sut"] for p in run["timeseries"] if "sut" in p]
    assert run["summary"]["sut_peak"]["half_open"] == max(s["half_open"] for s in samples) == 50
    assert run["summary"]["sut_peak"]["jobs_queued"] == max(s["jobs_queued"] for s in samples)
    notes = "\n".join(run["notes"])
    m = re.search(r"flood 1: half_open 300/s for 3000 ms from 198.19.112.0/20: sent (\d+)", notes)
    assert m and 850 <= int(m.group(1)) <= 920, notes


def test_dos_resilience_compares_the_floods_window_with_the_one_before(run_ikestorm, needs_root, tmp_path):
    r, run, out = run_scenario(run_ikestorm, tmp_path, IMPAIR / "dos-resilience.yaml")
    check_common(r, run)
    d = run["summary"]["dos_resilience"]
    # The flood starts 2 s after the first initiate and runs 2 s: the window before is the
    # 2 s from the first initiate, in which 40 peers at 8/s set up about 16 tunnels.
    assert 1.9 <= d["flood_from_s"] <= 2.6 and abs(d["flood_to_s"] - d["flood_from_s"] - 2) < 1e-6, d
    assert abs(d["before_from_s"] - (d["flood_from_s"] - 2)) < 0.1, d
    assert 10 <= d["setups_before"] <= 20, d
    assert 5 <= d["setup_rate_before_per_s"] <= 10, d
    # During the flood the SUT's half-open table is full: the healthy peers hardly get in
    # (the one or two arriving while the flood fills it in its first 0.17 s do).
    assert d["setups_during"] <= 3 and d["ratio"] is not None and d["ratio"] < 0.25, d
    assert d["setup_rate_during_per_s"] == pytest.approx(d["setups_during"] / 2)
    assert d["ratio"] == pytest.approx(d["setup_rate_during_per_s"] / d["setup_rate_before_per_s"])
    # The same setups the peers' timelines hold (child_up is each peer's establishment).
    ups = [e["t_ms"] / 1000 for p in run["peers"] for e in p["events"] if e["event"] == "child_up"]
    assert sum(d["before_from_s"] <= t < d["flood_from_s"] for t in ups) == d["setups_before"]
    # The flood's entries time out (3 s) and the starved peers' retransmits get in afterwards.
    assert run["summary"]["established"] > d["setups_before"] + d["setups_during"]
    assert all(e["ok"] for e in run["expectations"]), run["expectations"]
    html = (out / "report.html").read_text()
    assert "DoS resilience: setups/s before / during the flood" in html


def test_malformed_messages_sut_survives_and_codes_name_the_errors(run_ikestorm, needs_root, tmp_path):
    r, run, out = run_scenario(run_ikestorm, tmp_path, IMPAIR / "malformed.yaml")
    check_common(r, run)
    s = run["summary"]
    # The two untouched peers establish: the SUT kept answering through the malformed ones.
    assert s["established"] == 2 and s["failed"] == 10
    codes = run["codes"]
    by_side = {}
    for f in run["failures"]:
        by_side.setdefault(f["code"]["name"], set()).add(f["side"])
    # Both sides name the unknown critical payload and the IKE version.
    for code in ("ERROR_IPSEC_IKE_CRITICAL_PAYLOAD_NOT_RECOGNIZED", "ERROR_IPSEC_IKE_INVALID_MAJOR_VERSION"):
        assert codes[code]["peers"] == 2
        assert by_side[code] == {"initiator", "responder"}, (code, by_side[code])
    # The SUT's log names the payload it refused; the peers saw INVALID_SYNTAX.
    assert codes["ERROR_IPSEC_IKE_PROCESS_ERR_KE"]["peers"] == 2
    assert codes["ERROR_IPSEC_IKE_PROCESS_ERR_NONCE"]["attempts"] == 2
    assert codes["ERROR_IPSEC_IKE_PROCESS_ERR_SA"]["attempts"] >= 2 + 90  # 2 peers + the flood
    assert codes["ERROR_IPSEC_IKE_INVALID_PAYLOAD"]["peers"] == 4
    assert by_side["ERROR_IPSEC_IKE_PROCESS_ERR_KE"] == {"responder"}
    assert codes["ERROR_IPSEC_IKE_ATTRIB_FAIL"]["peers"] == 2  # bad_ke is answered NO_PROPOSAL_CHOSEN
    notes = "\n".join(run["notes"])
    m = re.search(r"flood 1: malformed bad_length 50/s for 2000 ms from 198.19.112.0/20: sent (\d+)", notes)
    assert m and 95 <= int(m.group(1)) <= 105, notes
    # The SUT survived: it was still running at teardown and shut down normally.
    assert run["outcome"] == "complete"
    sut_log = (out / "run-1" / "sut" / "charon.log").read_text()
    assert "received, shutting down" in sut_log
    assert "killing ourself" not in sut_log


def test_qm_delay_drop_from_late_create_child_sa_answers(run_ikestorm, needs_root, tmp_path):
    r, run, out = run_scenario(run_ikestorm, tmp_path, TAX / "qm-delay-drop.yaml")
    check_common(r, run)
    recs = records(run, "ERROR_IPSEC_IKE_QM_DELAY_DROP")
    assert len({f["peer"] for f in recs}) == 3
    assert all(f["exact"] is False and f["side"] == "initiator" and f["exchange"] == "CREATE_CHILD_SA" for f in recs)
    for f in recs:
        took = int(re.search(r"answered (\d+) ms after", f["evidence"][0]).group(1))
        assert 6000 <= took < 7500, f["evidence"]
    assert run["summary"]["rekeys"]["child"] >= 6


def test_impair_needs_the_native_engine(run_ikestorm, tmp_path):
    f = tmp_path / "charon-impair.yaml"
    f.write_text("peers:\n  count: 2\n  impair: [{ action: drop }]\n")
    r = run_ikestorm("validate", f)
    assert r.returncode == 2
    assert f"{f}:3:11: peers.impair: needs peers.engine: native" in r.stdout + r.stderr


def test_esp_rules_touch_esp_only(run_ikestorm, needs_root, tmp_path):
    # ESP probes through every CHILD_SA (traffic); one peer of three loses the echoes coming
    # back to it, while IKE (setup, rekeys, delete) is left alone.
    out = tmp_path / "out"
    r = run_ikestorm("run", "--set", "peers.engine=native", "--peers", "3",
                     "--set", "traffic={peers: 3, rate: 20/s, size: 200}",
                     "--set", "peers.impair=[{action: drop, esp: true, direction: in, peers: 33.4%}]",
                     "--set", "phases=[{connect: {}}, {hold: {duration: 3s}}, {teardown: {}}]",
                     "--out", out, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    run = json.loads((out / "report.json").read_text())["runs"][0]
    assert run["summary"]["established"] == 3 and run["summary"]["failed"] == 0
    tunnels = run["data_tunnels"]
    assert len(tunnels) == 3
    assert all(t["sent"] > 0 and t["received_by_sut"] == t["sent"] for t in tunnels)
    starved = [t for t in tunnels if t["received"] == 0]
    assert len(starved) == 1
    assert all(t["received"] == t["echoed"] for t in tunnels if t not in starved)
    notes = "\n".join(run["notes"])
    assert f"drop ESP in, 33.4% of peers: chosen for 1 peers, applied to {starved[0]['echoed']} datagrams" in notes
