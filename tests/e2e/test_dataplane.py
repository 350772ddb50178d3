"""Data plane of the native engine (scenario `traffic:`) against the libipsec SUT.

Probes go from each peer's inner address through its CHILD_SA (ESP in UDP, sealed by the
harness's userspace ESP) to a sink at the SUT's protected-subnet address, which echoes them
back through the SUT's IPsec stack. With no loss configured every count along the path must
agree; induced faults must not reach the sink, and the SUT's own traces must show them.
"""
import re
from pathlib import Path

from test_native import assert_nothing_left, only_run
from test_run import charon_pids, run_id_of

REPO = Path(__file__).resolve().parents[2]
SCENARIO = REPO / "scenarios" / "dataplane.yaml"


def data_of(run):
    return run["summary"]["data"]


def test_probes_through_10_tunnels_agree_end_to_end(run_ikestorm, needs_root, tmp_path):
    before = charon_pids()
    out = tmp_path / "out"
    r = run_ikestorm("run", SCENARIO, "--backend", "libipsec", "--out", out, timeout=90)
    assert r.returncode == 0, r.stdout + r.stderr
    run = only_run(out)
    d = data_of(run)
    # 10 tunnels x 20/s x 8 s (the 9 s hold less its 1 s drain): 160 or 161 each, plus the
    # first packet each sent as its CHILD_SA came up.
    assert d["tunnels"] == 10
    assert 1610 <= d["sent"] <= 1620
    assert d["sent"] == d["received_by_sut"] == d["echoed"] == d["received"]
    assert d["dropped"] == d["lost"] == d["not_sent"] == 0
    assert d["misrouted"] == d["unrecognized"] == 0
    assert d["sut_udp_rcvbuf_errors"] == 0  # read in the SUT namespace: no socket overflowed
    assert d["agree"] is True
    tunnels = run["data_tunnels"]
    assert sorted(t["peer"] for t in tunnels) == [f"p{i}" for i in range(10)]
    for t in tunnels:
        assert t["sent"] in (161, 162), t
        assert t["sent"] == t["received_by_sut"] == t["echoed"] == t["received"], t
    # Faults: none reached the sink. libipsec logs each replay (sequence check, ESP level 1);
    # an unknown SPI only at level 2, so the sink's silence is its only trace here.
    bad_spi, replay = d["faults"]["bad_spi"], d["faults"]["replay"]
    assert bad_spi["injected"] == 5 and bad_spi["delivered_by_sut"] == 0
    assert replay["injected"] == 5 and replay["delivered_by_sut"] == 0
    sut_log = (out / "run-1" / "sut" / "charon.log").read_text()
    assert len(re.findall(r"ESP sequence number verification failed", sut_log)) == 5
    assert any("5 x 'ESP sequence number verification failed'" in e for e in replay["evidence"])
    assert any("traffic, hold 1: 10 tunnels at 20/s" in n for n in run["notes"])
    # Time to first packet: each tunnel's initiate -> its first probe back. It covers the
    # setup (never shorter, tunnel by tunnel, so neither are its percentiles) and no more
    # than a round trip after it: the first packet leaves as the CHILD_SA comes up, long
    # before the hold starts (the last of the 10 peers arrives 180 ms after the first).
    ttfp, setup = run["summary"]["time_to_first_packet_ms"], run["summary"]["setup_latency_ms"]
    for k in ("p50", "p90", "p99", "max"):
        assert setup[k] <= ttfp[k] <= setup[k] + 150, (k, ttfp, setup)
    assert any("10 tunnels sent their first packet as their CHILD_SA came up; 10 had a probe back" in n
               for n in run["notes"]), run["notes"]
    assert_nothing_left(run_id_of(r.stdout), out, before)


def test_traffic_across_child_rekeys_and_after_expiry(run_ikestorm, needs_root, tmp_path):
    # CHILD_SAs rekey every 3 s while probes flow; the SUT deletes a rekeyed inbound SA 1 s
    # after the rekey (charon.delete_rekeyed_delay, 5 s by default), so a probe on the oldest
    # replaced SA near the end of the window must be refused.
    out = tmp_path / "out"
    r = run_ikestorm("run", SCENARIO, "--backend", "libipsec", "--out", out,
                     "--set", "peers.child.rekey_time=3s", "--set", "traffic.faults.after_expiry=5",
                     "--set", "sut.charon.delete_rekeyed_delay=1", timeout=90)
    assert r.returncode == 0, r.stdout + r.stderr
    run = only_run(out)
    assert run["summary"]["rekeys"]["child"] >= 20
    d = data_of(run)
    assert d["agree"] is True and d["sent"] >= 1600 and d["lost"] == 0
    expiry = d["faults"]["after_expiry"]
    assert expiry["injected"] == 5 and expiry["not_injectable"] == 0
    assert expiry["delivered_by_sut"] == 0


def test_traffic_is_refused_for_charon_peers(run_ikestorm, tmp_path):
    scenario = tmp_path / "s.yaml"
    scenario.write_text("peers: { count: 2 }\ntraffic: { rate: 5/s }\n")
    r = run_ikestorm("validate", scenario)
    assert r.returncode == 2
    assert re.search(r"s\.yaml:2:\d+: traffic: needs peers\.engine: native", r.stdout + r.stderr), r.stdout + r.stderr


def test_traffic_keys_are_checked_with_positions(run_ikestorm, tmp_path):
    scenario = tmp_path / "s.yaml"
    scenario.write_text("peers: { engine: native }\n"
                        "traffic: { peers: 0, rate: 5000/s, size: 4, faults: { bad_spy: 1 } }\n")
    r = run_ikestorm("validate", scenario)
    assert r.returncode == 2
    text = r.stdout + r.stderr
    for pattern in (r"s\.yaml:2:19: traffic\.peers", r"s\.yaml:2:\d+: traffic\.rate", r"s\.yaml:2:\d+: traffic\.size",
                    r"unknown key 'bad_spy' in traffic\.faults; did you mean 'bad_spi'"):
        assert re.search(pattern, text), (pattern, text)
    ok = tmp_path / "ok.yaml"
    ok.write_text("peers: { engine: native }\ntraffic: { peers: 50%, rate: 5/s, size: 100, duration: 2s }\n")
    assert run_ikestorm("validate", ok).returncode == 0
