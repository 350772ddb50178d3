"""An external target over IPv6 (peers.family: ipv6 with target:), from inside a generator host.

The gateway host is gateway_host.GatewayHost6: a bare charon the test starts itself on
2001:2:100::1, the peers' prefixes 2001:2:4000::/64 and 2001:2:4001::/64 routed back via
target.local 2001:2:100::50. Every ikestorm call runs under `ip netns exec <generator host>`.
"""
import json
import os
import subprocess
import time

import pytest

from gateway_host import GatewayHost6
from test_target import HOLD, _check_up
from test_target_input import refused_alike


def test_target_ipv6_charon_engine_1000_peers_up(tmp_path, needs_root, ikestorm_bin):
    with GatewayHost6(tmp_path) as gw:
        _check_up(gw, ikestorm_bin, tmp_path, "charon", 1000)


def test_target_ipv6_native_engine_1000_peers_up(tmp_path, needs_root, ikestorm_bin):
    with GatewayHost6(tmp_path) as gw:
        _check_up(gw, ikestorm_bin, tmp_path, "native", 1000)


@pytest.mark.long
def test_target_ipv6_native_engine_5000_peers_up(tmp_path, needs_root, ikestorm_bin):
    # As test_target.py's 5,000-peer run: the gateway gets the harness SUT's settings.
    settings = {"ikesa_table_size": 4096, "ikesa_table_segments": 16, "threads": 32, "cookie_threshold": 0}
    with GatewayHost6(tmp_path, charon_settings=settings) as gw:
        _check_up(gw, ikestorm_bin, tmp_path, "native", 5000, rate=200)


def test_target_ipv6_ikesa_limit_is_mm_limit_naming_the_peers(tmp_path, needs_root, ikestorm_bin):
    # The gateway's vici log events name the peers by their IPv6 addresses: each refused one
    # is this run's peer (none left out as another generator's) and becomes MM_LIMIT.
    with GatewayHost6(tmp_path, ikesa_limit=5) as gw:
        path = gw.scenario(count=12, engine="charon", extra=HOLD % "1s")
        path.write_text(path.read_text().replace(
            "  engine: charon\n", "  engine: charon\n  charon: {retransmit_tries: 1, retransmit_timeout: 1}\n"))
        r = gw.run_in_generator(ikestorm_bin, "run", path, "--out", tmp_path / "out",
                                env={"IKESTORM_STATE_DIR": str(tmp_path / "state")})
        assert r.returncode == 1, r.stdout[-2000:] + r.stderr[-2000:]
        run = json.loads((tmp_path / "out" / "report.json").read_text())["runs"][0]
        assert run["summary"]["established"] == 5, run["notes"]
        assert "ERROR_IPSEC_IKE_MM_LIMIT" in run["codes"], run["codes"]
        assert not [n for n in run["notes"] if "not this run's peers left out" in n], run["notes"]
        log = (tmp_path / "out" / "run-1" / "sut" / "gateway.log").read_text()
        assert "2001:2:4000::" in log


@pytest.fixture(scope="module")
def gw6(tmp_path_factory):
    if os.geteuid() != 0:
        pytest.skip("needs root (network namespaces)")
    with GatewayHost6(tmp_path_factory.mktemp("target-ipv6"), charon_settings={"send_vendor_id": "yes"}) as g:
        # A host route the peers' prefix must not overlap (the generator host's own).
        subprocess.run(["ip", "netns", "exec", g.gen_ns, "ip", "-6", "route", "add", "2001:2:4100::/64",
                        "via", g.address], check=True)
        yield g


def _probe(gw, ikestorm_bin, target, *extra, state=None):
    env = {"IKESTORM_STATE_DIR": str(state)} if state else None
    return gw.run_in_generator(ikestorm_bin, "probe", "--target", target, "--interface", "eth1",
                               "--local", gw.local, "--peers", gw.peers, *extra, timeout=60, env=env)


def test_probe_target_over_ipv6_answers(gw6, ikestorm_bin, tmp_path):
    state = tmp_path / "state"
    r = _probe(gw6, ikestorm_bin, gw6.address, state=state)
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"target      [{gw6.address}]:500 from 2001:2:4000::1" in r.stdout, r.stdout
    assert "answer      proposal: aes128gcm16-prfsha256-x25519" in r.stdout, r.stdout
    assert "vendor IDs  strongSwan" in r.stdout
    assert "route back  works: the answer reached 2001:2:4000::1" in r.stdout, r.stdout
    r = _probe(gw6, ikestorm_bin, gw6.address, "--json")
    assert r.returncode == 0, r.stderr
    j = json.loads(r.stdout)
    assert j["answer"] == "proposal" and j["from"] == "2001:2:4000::1" and j["route_back"] == "works", j
    assert 0 < j["rtt_ms"] < 5000
    assert not state.exists() or list(state.iterdir()) == []
    assert gw6.list_sas_count() == 0  # one IKE_SA_INIT: nothing established


def test_probe_target_over_ipv6_reaches_an_off_link_gateway_via_a_link_local_router(gw6, ikestorm_bin):
    # IPv6 routes usually name their router by its link-local address: the gateway host's
    # second address 2001:2:130::1 (on its loopback) is reached via eth0's fe80:: address.
    off_link = "2001:2:130::1"
    ll = subprocess.run(["ip", "-n", gw6.gw_ns, "-6", "-o", "addr", "show", "dev", "eth0", "scope", "link"],
                        capture_output=True, text=True, check=True).stdout.split()[3].split("/")[0]
    subprocess.run(["ip", "-n", gw6.gw_ns, "addr", "add", f"{off_link}/128", "dev", "lo"], check=True)
    subprocess.run(["ip", "-n", gw6.gen_ns, "-6", "route", "add", f"{off_link}/128", "via", ll, "dev", "eth1"],
                   check=True)
    try:
        r = _probe(gw6, ikestorm_bin, off_link, "--json")
    finally:
        subprocess.run(["ip", "-n", gw6.gen_ns, "-6", "route", "del", f"{off_link}/128"], check=False)
        subprocess.run(["ip", "-n", gw6.gw_ns, "addr", "del", f"{off_link}/128", "dev", "lo"], check=False)
    # The gateway answered from there (its connection is for 2001:2:100::1 alone, so it has no
    # proposal for this address: exit 1) and the answer came back: both ways are routed.
    assert r.returncode == 1, r.stdout + r.stderr
    j = json.loads(r.stdout)
    assert j["answer"] == "no-proposal-chosen" and j["route_back"] == "works" and j["target"] == off_link, j
    assert j["rtt_ms"] is not None and j["notes"] == [], j


def test_probe_target_over_ipv6_nobody_is_said_within_5_s(gw6, ikestorm_bin):
    t0 = time.monotonic()
    r = _probe(gw6, ikestorm_bin, gw6.nobody)
    took = time.monotonic() - t0
    assert r.returncode == 1, r.stdout + r.stderr
    assert "answer      nothing within 5 s" in r.stdout, r.stdout
    assert f"nobody on eth1 answers neighbour discovery for {gw6.nobody}" in r.stdout, r.stdout
    assert took < 6.5, took


def test_probe_target_refuses_a_mix_of_families(gw6, ikestorm_bin):
    r = gw6.run_in_generator(ikestorm_bin, "probe", "--target", gw6.address, "--interface", "eth1",
                             "--local", "198.18.100.50/24", "--peers", gw6.peers, timeout=60)
    assert r.returncode == 2 and "--local: an address with its network's prefix length, like 2001:2:100::50/64 " \
        "(IPv6, as --target is)" in r.stderr, r.stderr


def _scenario(gw, name, changes):
    """The gateway's scenario with `changes` ({old text: new text}) applied."""
    text = gw.scenario(count=10, engine="native").read_text()
    for old, new in changes.items():
        assert old in text, old
        text = text.replace(old, new)
    path = gw.dir / f"bad-{name}.yaml"
    path.write_text(text)
    return path


# (line replacements, expected message): the scenario's own problems (a mix of families) and
# the generator host's (local outside eth1's prefix, peers overlapping its route, unreachable).
CASES = {
    "mixed-family": ({"  inner: 2001:2:4001::/64": "  inner: 198.19.128.0/17"},
                     "target.inner: expected an IPv6 prefix like 2001:2:4000::/64, got '198.19.128.0/17': it is "
                     "IPv4 and peers.family is ipv6 (a target's addresses are all of one family)"),
    "ipv6-without-family": ({"  family: ipv6\n": ""},
                            "target.address: expected an IPv4 address like 198.18.100.1, got '2001:2:100::1': it "
                            "is IPv6 and peers.family is ipv4"),
    "local-outside": ({"  local: 2001:2:100::50/64": "  local: 2001:2:101::50/64"},
                      "target.local 2001:2:101::50/64 is not inside eth1's connected prefix (2001:2:100::/64)"),
    "overlap": ({"  peers: 2001:2:4000::/64": "  peers: 2001:2:4100::/56"},
                "target.peers 2001:2:4100::/56 overlaps this host's route to 2001:2:4100::/64 (dev eth1)"),
    "local-taken": ({"  local: 2001:2:100::50/64": "  local: 2001:2:100::10/64"},
                    "target.local 2001:2:100::10 is one of this host's addresses (on eth1)"),
    "unreachable": ({"  address: 2001:2:100::1\n": "  address: 2001:2:150::1\n",
                     "  vici: tcp://[2001:2:100::1]:4502\n": ""},
                    "target.address 2001:2:150::1 is unreachable from this host: no route to it"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_ipv6_target_input_is_refused_by_validate_and_run_alike(gw6, ikestorm_bin, tmp_path, case):
    changes, message = CASES[case]
    refused_alike(gw6, ikestorm_bin, tmp_path, _scenario(gw6, case, changes), message)
