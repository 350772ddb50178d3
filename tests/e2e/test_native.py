"""`ikestorm run` with peers.engine: native against a real charon SUT.

The native IKEv2 initiators run inside the harness process; the SUT's own count, its log
and the host must agree with what the report says.
"""
import json
import re

import pytest

import test_run
from test_run import charon_pids, run_id_of


def assert_nothing_left(run_id, out, charons_before):
    # test_run's check; other engineers' charons may start meanwhile, so only a charon with
    # the run's folder as its working directory or in its command counts as the run's.
    test_run.assert_nothing_left(run_id, charons_before, out)


def only_run(out):
    return json.loads((out / "report.json").read_text())["runs"][0]


def test_native_engine_establishes_200_peers_and_tears_down(run_ikestorm, needs_root, tmp_path):
    before = charon_pids()
    out = tmp_path / "out"
    r = run_ikestorm("run", "--set", "peers.engine=native", "--peers", "200", "--out", out, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    run = only_run(out)
    s = run["summary"]
    assert s["established"] == 200 and s["failed"] == 0
    assert s["sut_ike_sas_at_connect_end"] == 200
    assert s["leaks"] == 0
    assert s["cpu_s"]["peers"] == 0  # the native peers' CPU is the harness's own
    assert any("peers.engine native" in n for n in run["notes"])
    # Teardown: every IKE_SA deleted by its peer (the SUT saw 200 deletes), none left.
    assert run["timeseries"][-1]["ike_active"] == 0
    sut_log = (out / "run-1" / "sut" / "charon.log").read_text()
    assert len(re.findall(r"received DELETE for IKE_SA", sut_log)) == 200
    assert_nothing_left(run_id_of(r.stdout), out, before)


def test_native_engine_rekeys_on_schedule(run_ikestorm, needs_root, tmp_path):
    out = tmp_path / "out"
    r = run_ikestorm("run", "--set", "peers.engine=native", "--peers", "10",
                     "--set", "peers.child.rekey_time=4s", "--set", "peers.ike.rekey_time=7s",
                     "--set", "phases=[{connect: {}}, {hold: {duration: 10s}}, {teardown: {}}]",
                     "--out", out, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    s = only_run(out)["summary"]
    assert s["established"] == 10
    # 10 s hold: CHILD_SAs rekey at 4 s and 8 s, IKE_SAs at 7 s (started by the native side).
    assert 15 <= s["rekeys"]["child"] <= 30, s["rekeys"]
    assert 10 <= s["rekeys"]["ike"] <= 20, s["rekeys"]


def test_native_engine_proposal_mismatch_is_classified(run_ikestorm, needs_root, tmp_path):
    out = tmp_path / "out"
    r = run_ikestorm("run", "--set", "peers.engine=native", "--peers", "5",
                     "--set", "sut.ike.proposals=[aes256-sha256-ecp256]",
                     "--set", "phases=[{connect: {}}, {teardown: {}}]", "--out", out, timeout=120)
    assert r.returncode == 1, r.stdout + r.stderr  # the expectation established_ratio >= 1 fails
    run = only_run(out)
    assert run["summary"]["failed"] == 5
    assert "NO_PROPOSAL_CHOSEN notify error" in run["peers"][0]["events"][-1]["detail"]
    assert sum(c["peers"] for c in run["codes"].values()) == 5


def test_native_engine_failed_rekey_is_classified_and_the_peer_stays_up(run_ikestorm, needs_root, tmp_path):
    """The SUT's answers to INFORMATIONAL never arrive (peers.impair), so each peer's delete
    of the CHILD_SA it replaced by a rekey goes unanswered: a rekey_failed in its timeline and
    DROP_NO_RESPONSE on INFORMATIONAL, while the peer stays established. The retransmit
    schedule is peers.charon's, which the native peers follow (0.5 s, one retransmit)."""
    before = charon_pids()
    scenario = tmp_path / "rekey-delete-unanswered.yaml"
    scenario.write_text("""\
name: rekey-delete-unanswered
peers:
  count: 5
  engine: native
  arrival: { burst: 5 }
  child: { rekey_time: 2s, rand_time: 0 }
  charon: { retransmit_tries: 1, retransmit_timeout: 0.5 }
  impair:
    - { exchange: INFORMATIONAL, direction: in, message: response, action: drop, peers: 100% }
phases:
  - connect: {}
  - hold: { duration: 6s }
  - teardown: {}
""")
    out = tmp_path / "out"
    r = run_ikestorm("run", scenario, "--out", out, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    run = only_run(out)
    s = run["summary"]
    assert s["established"] == 5 and s["failed"] == 0 and s["unclassified"] == 0, s
    assert run["codes"] == {"ERROR_IPSEC_IKE_DROP_NO_RESPONSE": {"attempts": 5, "peers": 5}}, run["codes"]
    for f in run["failures"]:
        assert (f["side"], f["sa"], f["exchange"]) == ("initiator", "child", "INFORMATIONAL"), f
        assert "delete of the rekeyed CHILD_SA" in f["evidence"][0], f
    for p in run["peers"]:
        kinds = [e["event"] for e in p["events"]]
        assert kinds.index("rekey_failed") > kinds.index("child_up"), kinds
        # 2 s rekey, then 0.5 + 0.9 s of waiting for the delete's answer (the harness's default
        # schedule, 3 retransmits from 2 s, would give up only after 25 s).
        t = next(e["t_ms"] for e in p["events"] if e["event"] == "rekey_failed")
        assert 3000 < t < 6500, p["events"]
        assert p["state"] == "established"
    assert_nothing_left(run_id_of(r.stdout), out, before)


def test_native_engine_refuses_what_it_cannot_do(run_ikestorm, tmp_path):
    # The scenario validator says so, before anything is created (exit 2, as `validate`).
    cases = [
        (["--set", "peers.ike.proposals=[3des-sha1-modp1024]"],
         "--set peers.ike.proposals: peers.ike.proposals: '3des' in '3des-sha1-modp1024' is not supported"),
        (["--set", "peers.auth=ecdsa"], "--set peers.auth: peers.auth: ecdsa needs peers.engine: charon"),
    ]
    for i, (extra, message) in enumerate(cases):
        out = tmp_path / f"out{i}"
        r = run_ikestorm("run", "--set", "peers.engine=native", "--peers", "2", *extra, "--out", out, timeout=60)
        assert r.returncode == 2, r.stdout + r.stderr
        assert message in r.stderr, r.stderr
        assert not out.exists()


def test_native_engine_churn_storm_and_sut_rekeys(run_ikestorm, needs_root, tmp_path):
    # Churn and storm re-initiate peers from the observation sink; the SUT rekeys on its own
    # schedule and the native peers answer.
    out = tmp_path / "out"
    r = run_ikestorm("run", "--set", "peers.engine=native", "--peers", "50",
                     "--set", "phases=[{connect: {}}, {churn: {rate: 20/s, duration: 4s}}, "
                              "{storm: {peers: 50%}}, {hold: {duration: 2s}}, {teardown: {}}]",
                     "--set", "sut.child.rekey_time=3s", "--set", "sut.ike.rekey_time=5s",
                     "--out", out, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    run = only_run(out)
    s = run["summary"]
    assert s["established"] == 50 and s["failed"] == 0 and s["leaks"] == 0
    assert s["rekeys"]["child"] > 0
    last = run["timeseries"][-1]
    assert last["ike_active"] == 0
    # Every establishment (initial, churned, stormed) ended with the peer's delete.
    assert last["established_total"] > 50 + 25
    sut_log = (out / "run-1" / "sut" / "charon.log").read_text()
    assert len(re.findall(r"received DELETE for IKE_SA", sut_log)) == last["established_total"]


def short_lifetime_hold(run_ikestorm, tmp_path, peers, child_s, ike_s, hold_s, timeout):
    """Both sides rekey on one short schedule (each SA's CHILD every child_s, IKE every
    ike_s), so their rekeys cross (RFC 7296 2.8.1, 2.8.2, 2.25) during a hold of hold_s.
    The SUT's hard lifetimes are 4 s past the rekey (not the default 1 s): at teardown a
    peer that is closing its IKE_SA refuses the SUT's rekeys with TEMPORARY_FAILURE (2.25),
    and with 1,000 peers deleting at once the SUT takes a second or two to hear every
    delete (dropped datagrams, then retransmits); a 1 s margin let ~5% of the CHILD_SAs
    hard-expire in that window."""
    before = charon_pids()
    out = tmp_path / "out"
    r = run_ikestorm("run", "--set", "peers.engine=native", "--peers", peers,
                     "--set", f"peers.child.rekey_time={child_s}s", "--set", f"peers.ike.rekey_time={ike_s}s",
                     "--set", f"sut.child.rekey_time={child_s}s", "--set", f"sut.ike.rekey_time={ike_s}s",
                     "--set", f"sut.child.life_time={child_s + 4}s", "--set", "sut.ike.over_time=4s",
                     "--set", f"phases=[{{connect: {{}}}}, {{hold: {{duration: {hold_s}s}}}}, {{teardown: {{}}}}]",
                     "--out", out, timeout=timeout)
    assert r.returncode == 0, r.stdout + r.stderr
    run = only_run(out)
    s = run["summary"]
    # Every rekey completed: no peer failed or went down, no SA expired unreplaced (that
    # would be classified, e.g. QM_EXPIRED), nothing unclassified.
    assert s["established"] == peers and s["failed"] == 0, s
    assert s["unclassified"] == 0 and s["leaks"] == 0, s
    # Crossing rekeys are what this scenario provokes: SIMULTANEOUS_REKEY is expected (the
    # SUT logs each collision). The SUT's kernel-libipsec also fails, rarely, to install an
    # outbound SA it installs late after a collision ("failed to create ESP context:
    # unsupported AEAD algorithm", then ADD_UPDATE_KEY_FAILED attributed to no peer); that
    # is tolerated below 1% of the rekeys and reported. Any other code is a failure. It is the
    # SUT's: charon initiators at the 1,000-peer settings provoke it too (6 of 7,454 rekeys,
    # 1,109 collisions, 2026-11-24); native peers there saw 31-59 of ~6,900.
    sut_log = (out / "run-1" / "sut" / "charon.log").read_text()
    codes = dict(run["codes"])
    codes.pop("ERROR_IPSEC_IKE_SIMULTANEOUS_REKEY", None)
    libipsec = codes.pop("ERROR_IPSEC_IKE_ADD_UPDATE_KEY_FAILED", {"attempts": 0, "peers": 0})
    assert codes == {}, run["codes"]
    assert libipsec["peers"] == 0
    assert libipsec["attempts"] == sut_log.count("failed to create ESP context: unsupported AEAD algorithm")
    assert libipsec["attempts"] * 100 <= s["rekeys"]["child"] + s["rekeys"]["ike"], run["codes"]
    assert "closing expired CHILD_SA" not in sut_log
    # Several rekeys of each SA: at least all but the last interval of the hold, per peer.
    assert s["rekeys"]["child"] >= peers * (hold_s // child_s - 1), s["rekeys"]
    assert s["rekeys"]["ike"] >= peers * (hold_s // ike_s - 1), s["rekeys"]
    assert s["rekeys"]["child"] <= peers * (hold_s // child_s + 2), s["rekeys"]
    # Teardown deleted everything: the SUT saw one delete per IKE_SA and holds none.
    assert run["timeseries"][-1]["ike_active"] == 0
    assert len(re.findall(r"received DELETE for IKE_SA", sut_log)) >= peers
    assert_nothing_left(run_id_of(r.stdout), out, before)
    collisions = len(re.findall(r"detected (CHILD|IKE)_REKEY collision", sut_log))
    temporary = len(re.findall(r"N\(TEMP_FAIL\)", sut_log))
    print(f"{peers} native peers, hold {hold_s} s: rekeys {s['rekeys']}, SUT-detected collisions {collisions}, "
          f"TEMPORARY_FAILURE exchanges {temporary}, libipsec outbound SA install failures {libipsec['attempts']}")
    return s


def test_native_engine_rekeys_complete_when_both_sides_rekey_100_peers(run_ikestorm, needs_root, tmp_path):
    short_lifetime_hold(run_ikestorm, tmp_path, peers=100, child_s=4, ike_s=9, hold_s=20, timeout=120)


@pytest.mark.long
def test_native_engine_rekeys_complete_when_both_sides_rekey_1000_peers(run_ikestorm, needs_root, tmp_path):
    short_lifetime_hold(run_ikestorm, tmp_path, peers=1000, child_s=8, ike_s=19, hold_s=40, timeout=300)
