"""`ikestorm probe --target`: one IKE_SA_INIT to an external gateway, from the generator host.

Every ikestorm call runs inside the generator host of tests/e2e/gateway_host.py. The gateway
host's charon sends strongSwan's vendor ID (send_vendor_id = yes) so the probe can name it.
"""
import json
import os
import signal
import subprocess
import time

import pytest

from gateway_host import GatewayHost

NOBODY = "198.18.100.77"  # on the test LAN, held by nobody


def _ist_namespaces():
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    return {line.split()[0] for line in out.splitlines() if line.startswith("ist-")}


def _runs_left(state):
    """Run folders in the probe's own state dir: a run that left anything keeps its folder
    (other helpers' runs on this machine have their own state dirs)."""
    return [p.name for p in state.iterdir()] if state.exists() else []


@pytest.fixture(scope="module")
def gw(tmp_path_factory):
    if os.geteuid() != 0:
        pytest.skip("needs root (network namespaces)")
    with GatewayHost(tmp_path_factory.mktemp("probe-target"), charon_settings={"send_vendor_id": "yes"}) as g:
        yield g


def _probe(gw, ikestorm_bin, target, *extra, state=None):
    env = {"IKESTORM_STATE_DIR": str(state)} if state else None
    return gw.run_in_generator(ikestorm_bin, "probe", "--target", target, "--interface", "eth1",
                               "--local", gw.local, "--peers", gw.peers, *extra, timeout=60, env=env)


def test_the_gateway_answers_with_its_proposal_vendor_and_route_back(gw, ikestorm_bin, tmp_path):
    state = tmp_path / "state"
    r = _probe(gw, ikestorm_bin, gw.address, state=state)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "answer      proposal: aes128gcm16-prfsha256-x25519" in r.stdout, r.stdout
    assert "vendor IDs  strongSwan" in r.stdout
    assert "route back  works: the answer reached 198.19.0.1" in r.stdout
    r = _probe(gw, ikestorm_bin, gw.address, "--json")
    assert r.returncode == 0, r.stderr
    j = json.loads(r.stdout)
    assert j["answer"] == "proposal" and j["from"] == "198.19.0.1" and j["route_back"] == "works"
    assert j["vendor_ids"] == ["strongSwan"] and 0 < j["rtt_ms"] < 5000
    assert _runs_left(state) == []
    assert gw.list_sas_count() == 0  # one IKE_SA_INIT: nothing established


def test_nothing_listening_is_said_within_5_s(gw, ikestorm_bin):
    t0 = time.monotonic()
    r = _probe(gw, ikestorm_bin, NOBODY)
    took = time.monotonic() - t0
    assert r.returncode == 1, r.stdout + r.stderr
    assert "answer      nothing within 5 s" in r.stdout, r.stdout
    assert "route back  unknown" in r.stdout
    assert f"nobody on eth1 answers ARP for {NOBODY}: no host holds that address" in r.stdout, r.stdout
    assert took < 6.5, took


def test_a_gateway_without_its_route_back_to_the_peers_is_told(gw, ikestorm_bin):
    route = ["198.19.0.0/16", "via", gw.local.split("/")[0]]
    subprocess.run(["ip", "netns", "exec", gw.gw_ns, "ip", "route", "del", *route], check=True)
    try:
        t0 = time.monotonic()
        r = _probe(gw, ikestorm_bin, gw.address, "--json")
        took = time.monotonic() - t0
    finally:
        subprocess.run(["ip", "netns", "exec", gw.gw_ns, "ip", "route", "add", *route], check=True)
    assert r.returncode == 1, r.stdout + r.stderr
    j = json.loads(r.stdout)
    assert j["answer"] == "nothing" and j["route_back"] == "broken", j
    assert any("answered the same request from target.local 198.18.100.50 (proposal): its route back to "
               "198.19.0.0/17 via 198.18.100.50 is missing or wrong" in n for n in j["notes"]), j
    assert took < 7.5, took


def test_host_check_problems_are_exit_2_before_anything_exists(gw, ikestorm_bin, tmp_path):
    env = {"IKESTORM_STATE_DIR": str(tmp_path / "state")}
    r = gw.run_in_generator(ikestorm_bin, "probe", "--target", gw.address, "--interface", "eth9",
                            "--local", gw.local, "--peers", gw.peers, timeout=60, env=env)
    assert r.returncode == 2, r.stdout + r.stderr
    assert "target.interface eth9 does not exist in this network namespace" in r.stderr
    r = gw.run_in_generator(ikestorm_bin, "probe", "--target", "198.18.150.1", "--interface", "eth1",
                            "--local", gw.local, "--peers", gw.peers, timeout=60, env=env)
    assert r.returncode == 2 and "198.18.150.1 is unreachable from this host" in r.stderr, r.stderr
    r = gw.run_in_generator(ikestorm_bin, "probe", "--target", gw.address, timeout=60)
    assert r.returncode == 2 and "--target needs --interface" in r.stderr
    assert not (tmp_path / "state").exists(), "a run state (journal) was created"


def test_a_killed_probe_is_journaled_and_clean_removes_its_namespace(gw, ikestorm_bin, tmp_path):
    state = tmp_path / "state"
    env = dict(os.environ, IKESTORM_STATE_DIR=str(state))
    p = subprocess.Popen(["ip", "netns", "exec", gw.gen_ns, str(ikestorm_bin), "probe", "--target", NOBODY,
                          "--interface", "eth1", "--local", gw.local, "--peers", gw.peers],
                         env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ns = None
    try:
        deadline = time.monotonic() + 4
        while time.monotonic() < deadline and ns is None:
            runs = _runs_left(state)
            if runs and f"ist-{runs[0]}-peers" in _ist_namespaces():
                ns = f"ist-{runs[0]}-peers"
            time.sleep(0.05)
        assert ns is not None, "the probe's namespace never appeared"
        p.send_signal(signal.SIGKILL)
        p.wait(timeout=10)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert ns in _ist_namespaces()  # SIGKILL left it behind
    r = gw.run_in_generator(ikestorm_bin, "clean", env=env, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    assert ns not in _ist_namespaces()
    assert _runs_left(state) == []
