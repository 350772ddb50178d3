"""peers.family: ipv6 end to end with the charon engine (issue 19).

The SUT charon listens on 2001:2::1, the peers hold IPv6 addresses only (2001:2:0:2::1 + i,
inner 2001:2:0:3::1 + i) and every traffic selector is IPv6; the report, the SUT's own count
and an offline `ikestorm classify` of the run's IPv6 charon log agree.
"""
import ipaddress
import json
import time

import pytest

from test_run import assert_nothing_left, charon_pids, run_id_of

PEERS_V6 = ipaddress.ip_network("2001:2:0:2::/64")
SHORT_PHASES = "phases=[{connect: {}}, {hold: {duration: 1s}}, {teardown: {}}]"


def is_peer_v6(text: str) -> bool:
    return ipaddress.ip_address(text) in PEERS_V6


def check_ipv6_run(out, r, peers: int):
    run = json.loads((out / "report.json").read_text())["runs"][0]
    s = run["summary"]
    assert (s["peers"], s["established"], s["failed"]) == (peers, peers, 0), r.stdout + r.stderr
    # The harness's count equals the SUT's own list-sas count at the end of connect.
    assert s["sut_ike_sas_at_connect_end"] == peers
    assert f"the SUT's own count: {peers}" in r.stdout
    assert all(is_peer_v6(p["address"]) for p in run["peers"]), run["peers"][:3]
    assert {p["address"] for p in run["peers"]} == {f"2001:2:0:2::{i + 1:x}" for i in range(peers)}
    sut_conf = (out / "run-1/sut/swanctl.conf").read_text()
    for line in ("local_addrs = 2001:2::1", "remote_addrs = 2001:2:0:2::/64", "local_ts = 2001:2:0:ff::/64",
                 "remote_ts = 2001:2:0:3::/64"):
        assert line in sut_conf, sut_conf
    sample = (out / "run-1/peers-sample.swanctl.conf").read_text()
    for line in ("local_addrs = 2001:2:0:2::1", "remote_addrs = 2001:2::1", "local_ts = 2001:2:0:3::1/128"):
        assert line in sample, sample
    sut_log = (out / "run-1/sut/charon.log").read_text()
    assert "2001:2:0:2::1 is initiating an IKE_SA" in sut_log
    assert " 198.19." not in sut_log  # no IPv4 peer anywhere
    return run


def test_ipv6_charon_run_establishes_every_peer(run_ikestorm, needs_root, tmp_path):
    before = charon_pids()
    out = tmp_path / "out"
    t0 = time.monotonic()
    r = run_ikestorm("run", "--set", "peers.family=ipv6", "--peers", "200", "--set", SHORT_PHASES,
                     "--out", out, timeout=120)
    wall = time.monotonic() - t0
    assert r.returncode == 0, r.stdout + r.stderr
    check_ipv6_run(out, r, 200)
    assert wall < 40, f"took {wall:.1f} s"
    assert_nothing_left(run_id_of(r.stdout), before, out)


@pytest.mark.long
def test_ipv6_default_run_establishes_1000_peers(run_ikestorm, needs_root, tmp_path):
    before = charon_pids()
    out = tmp_path / "out"
    t0 = time.monotonic()
    r = run_ikestorm("run", "--set", "peers.family=ipv6", "--out", out, timeout=180)
    wall = time.monotonic() - t0
    assert r.returncode == 0, r.stdout + r.stderr
    run = check_ipv6_run(out, r, 1000)
    assert run["summary"]["peak_sas"]["ike_active"] == 1000
    assert wall < 60, f"the default IPv6 run took {wall:.1f} s"
    assert_nothing_left(run_id_of(r.stdout), before, out)


def test_ipv6_ikesa_limit_refuses_exactly_the_excess_and_classify_names_the_addresses(
        run_ikestorm, needs_root, tmp_path):
    before = charon_pids()
    out = tmp_path / "out"
    r = run_ikestorm("run", "--set", "peers.family=ipv6", "--set", "sut.charon.ikesa_limit=20",
                     "--set", "peers.charon.retransmit_tries=2", "--set", "peers.charon.retransmit_timeout=1", "--peers", "40", "--set", SHORT_PHASES,
                     "--out", out, timeout=120)
    # The implied expectation (established_ratio >= 1) fails: exit 1.
    assert r.returncode == 1, r.stdout + r.stderr
    run = json.loads((out / "report.json").read_text())["runs"][0]
    s = run["summary"]
    assert (s["established"], s["failed"], s["sut_ike_sas_at_connect_end"]) == (20, 20, 20)
    assert run["codes"]["ERROR_IPSEC_IKE_MM_LIMIT"]["peers"] == 20
    assert s["unclassified"] == 0
    limit = [f for f in run["failures"] if f["code"]["name"] == "ERROR_IPSEC_IKE_MM_LIMIT"]
    failed = {p["peer"]: p["address"] for p in run["peers"] if p["state"] == "failed"}
    assert {f["peer"] for f in limit} == set(failed) and len(failed) == 20
    # Each record names its peer's IPv6 address, as the screen and report print it.
    assert all(f["address"] == failed[f["peer"]] and is_peer_v6(f["address"]) for f in limit), limit[:2]
    assert_nothing_left(run_id_of(r.stdout), before, out)

    # Offline: the same IPv6 charon log, classified by `ikestorm classify`.
    log = out / "run-1/sut/charon.log"
    c = run_ikestorm("classify", log, "--json", timeout=30)
    assert c.returncode == 0, c.stderr
    doc = json.loads(c.stdout)
    assert doc["codes"]["ERROR_IPSEC_IKE_MM_LIMIT"]["attempts"] == 20 * 3  # 1 + 2 retransmits each
    # The deletes of the 20 established peers name their IPv6 addresses and identities.
    established = {p["address"] for p in run["peers"] if p["state"] == "established"}
    named = {rec["address"] for rec in doc["informational_records"]}
    assert named == established, sorted(named)
    text = run_ikestorm("classify", log, timeout=30)
    assert text.returncode == 0 and "ERROR_IPSEC_IKE_MM_LIMIT" in text.stdout, text.stdout
