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


@pytest.fixture(scope="module")
def gw(tmp_path_factory):
    if os.geteuid() != 0:
        pytest.skip("needs root (network namespaces)")
    with GatewayHost(tmp_path_factory.mktemp("probe-target"), charon_settings={"send_vendor_id": "yes"}) as g:
        yield g


def _probe(gw, ikestorm_bin, target, *extra, env=None):
    return gw.run_in_generator(ikestorm_bin, "probe", "--target", target, "--interface", "eth1",
                               "--local", gw.local, "--peers", gw.peers, *extra, timeout=60, env=env)


def test_the_gateway_answers_with_its_proposal_vendor_and_route_back(gw, ikestorm_bin):
    before = _ist_namespaces()
    r = _probe(gw, ikestorm_bin, gw.address)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "answer      proposal: aes128gcm16-prfsha256-x25519" in r.stdout, r.stdout
    assert "vendor IDs  strongSwan" in r.stdout
    assert "route back  works: the answer reached 198.19.0.1" in r.stdout
    r = _probe(gw, ikestorm_bin, gw.address, "--json")
    assert r.returncode == 0, r.stderr
    j = json.loads(r.stdout)
    assert j["answer"] == "proposal" and j["from"] == "198.19.0.1" and j["route_back"] == "works"
    assert j["vendor_ids"] == ["strongSwan"] and 0 < j["rtt_ms"] < 5000
    assert _ist_namespaces() == before
    assert gw.list_sas_count() == 0  # one IKE_SA_INIT: nothing established


def test_nothing_listening_is_said_within_5_s(gw, ikestorm_bin):
    t0 = time.monotonic()
    r = _probe(gw, ikestorm_bin, NOBODY)
    took = time.monotonic() - t0
    assert r.returncode == 1, r.stdout + r.stderr
    assert "answer      nothing within 5 s" in r.stdout, r.stdout
    assert "route back  unknown" in r.stdout
    assert took < 6.5, took


def test_host_check_problems_are_exit_2_before_anything_exists(gw, ikestorm_bin):
    before = _ist_namespaces()
    r = gw.run_in_generator(ikestorm_bin, "probe", "--target", gw.address, "--interface", "eth9",
                            "--local", gw.local, "--peers", gw.peers, timeout=60)
    assert r.returncode == 2, r.stdout + r.stderr
    assert "target.interface eth9 does not exist in this network namespace" in r.stderr
    r = gw.run_in_generator(ikestorm_bin, "probe", "--target", "198.18.150.1", "--interface", "eth1",
                            "--local", gw.local, "--peers", gw.peers, timeout=60)
    assert r.returncode == 2 and "198.18.150.1 is unreachable from this host" in r.stderr, r.stderr
    r = gw.run_in_generator(ikestorm_bin, "probe", "--target", gw.address, timeout=60)
    assert r.returncode == 2 and "--target needs --interface" in r.stderr
    assert _ist_namespaces() == before


def test_a_killed_probe_is_journaled_and_clean_removes_its_namespace(gw, ikestorm_bin, tmp_path):
    env = dict(os.environ, IKESTORM_STATE_DIR=str(tmp_path / "state"))
    before = _ist_namespaces()
    p = subprocess.Popen(["ip", "netns", "exec", gw.gen_ns, str(ikestorm_bin), "probe", "--target", NOBODY,
                          "--interface", "eth1", "--local", gw.local, "--peers", gw.peers],
                         env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 4
        while time.monotonic() < deadline and not (_ist_namespaces() - before):
            time.sleep(0.05)
        new = _ist_namespaces() - before
        assert len(new) == 1 and next(iter(new)).endswith("-peers"), new
        p.send_signal(signal.SIGKILL)
        p.wait(timeout=10)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert _ist_namespaces() - before == new  # SIGKILL left it behind
    r = gw.run_in_generator(ikestorm_bin, "clean", env=env, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    assert _ist_namespaces() == before
