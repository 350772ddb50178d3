"""The vm guest as the external gateway (issue 17): `ikestorm run` with target: from a
generator host against a bare charon on the guest's own stock kernel (kernel-netlink, real
ESP states), so report.real_xfrm is true from the gateway's vici `stats` plugins, and the
guest kernel holds two ESP states per CHILD_SA while the peers hold.

One guest serves both engines (booting it is most of the test's time).
"""
import json
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from test_clean import netns_of
from test_target import HOLD
from vm_gateway_host import VmGatewayHost
from vm_leftovers import assert_nothing_left

PEERS = 50


def _run_holding(gw, ikestorm_bin, engine, out, state_dir):
    """One target run in the generator host; while its peers hold, the gateway's own IKE_SA
    count (the most it reached) and the guest kernel's ESP states at that moment."""
    text = gw.scenario(count=PEERS, engine=engine).read_text()
    text = text.replace(f"  engine: {engine}\n", f"  engine: {engine}\n  arrival: {{ rate: 100/s }}\n")
    path = gw.dir / f"vm-gateway-{engine}.yaml"
    path.write_text(text + HOLD % "4s")  # the gateway and its kernel are read during it
    proc = subprocess.Popen(["ip", "netns", "exec", gw.gen_ns, str(ikestorm_bin), "run", str(path), "--out", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ, IKESTORM_STATE_DIR=str(state_dir)))
    best, esp = 0, None
    deadline = time.monotonic() + 120
    while proc.poll() is None and time.monotonic() < deadline:
        best = max(best, gw.list_sas_count())
        if best >= PEERS:
            esp = gw.guest_esp_states()
            break
        time.sleep(0.3)
    stdout, stderr = proc.communicate(timeout=max(1, deadline - time.monotonic()))
    assert proc.returncode == 0, stdout[-2000:] + stderr[-3000:]
    return json.loads((out / "report.json").read_text()), best, esp


def test_vm_guest_gateway_50_peers_real_xfrm(tmp_path, needs_root, ikestorm_bin):
    _gateway_in_the_guest(tmp_path, ikestorm_bin, ("charon",))


@pytest.mark.long
def test_vm_guest_gateway_50_peers_real_xfrm_both_engines(tmp_path, needs_root, ikestorm_bin):
    # The native engine as well, one after the other against the same guest (~10 s more).
    _gateway_in_the_guest(tmp_path, ikestorm_bin, ("charon", "native"))


def _gateway_in_the_guest(tmp_path, ikestorm_bin, engines):
    state = tmp_path / "state"
    # Under TCG on a busy host the guest's charon holds many half-open IKE_SAs at once: with
    # charon's default cookie threshold (10) some charon-engine peers were sent COOKIE after
    # COOKIE until they gave up ("giving up after 5 retries"), so cookies are off here.
    with VmGatewayHost(tmp_path, ikestorm_bin, state, charon_settings={"cookie_threshold": 0}) as gw:
        assert gw.kernel_release != os.uname().release  # the gateway's own kernel
        print(f"guest gateway ready in {gw.boot_s} s ({gw.accel})")
        for engine in engines:
            rep, gateway_count, esp = _run_holding(gw, ikestorm_bin, engine, tmp_path / f"out-{engine}", state)
            run = rep["runs"][0]
            assert run["summary"]["established"] == PEERS, run["notes"]
            assert gateway_count == PEERS
            assert esp == 2 * PEERS, f"guest kernel ESP states while {PEERS} peers held: {esp}"
            assert rep["real_xfrm"] is True
            assert any(n.startswith("real_xfrm true: the gateway's charon loaded kernel-netlink and not "
                                    "kernel-libipsec") for n in run["notes"]), run["notes"]
            assert rep["target"]["counts_available"] is True
            assert not netns_of(rep["run_id"])
            # Teardown deleted every SA in the gateway's kernel too, before the next engine.
            deadline = time.monotonic() + 10
            while gw.guest_esp_states() and time.monotonic() < deadline:
                time.sleep(0.3)
            assert gw.guest_esp_states() == 0
        # --exec-stdin reports a failing command as such (and the hold goes on).
        out, ok = gw.guest_exec("/bin/false")
        assert not ok
        assert gw.guest_exec("/bin/true") == ("$ /bin/true\n", True)
        run_id = gw.run_id
    assert_nothing_left(run_id)  # no qemu, namespace (the generator host's too) or link of the guest's run
    assert not (state / run_id).exists()


def test_exec_stdin_needs_hold(run_ikestorm, tmp_path):
    r = run_ikestorm("vm", "boot", "--exec-stdin", env={"IKESTORM_STATE_DIR": str(tmp_path / "state")})
    assert r.returncode == 2, r.stdout + r.stderr
    assert "--exec-stdin needs --hold" in r.stderr
    assert not (tmp_path / "state").exists() or not any((tmp_path / "state").iterdir())


# A test process SIGKILLed while it holds the guest gateway: the holder sees its stdin end and
# shuts the guest down; the generator host is an ist-<id>-* orphan that `clean --run` removes.
KILLED_TEST = """
import sys, time
from pathlib import Path
sys.path.insert(0, {e2e!r})
from vm_gateway_host import VmGatewayHost
with VmGatewayHost(Path({work!r}), Path({bin!r}), Path({state!r})) as gw:
    print(gw.run_id, gw.gen_ns, flush=True)
    time.sleep(600)
"""


@pytest.mark.long
def test_sigkilled_test_leaves_only_what_clean_removes(tmp_path, needs_root, ikestorm_bin, run_ikestorm):
    state = tmp_path / "state"
    code = KILLED_TEST.format(e2e=str(Path(__file__).parent), work=str(tmp_path), bin=str(ikestorm_bin),
                              state=str(state))
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = ""
    try:
        ready, _, _ = select.select([proc.stdout], [], [], 240)
        line = proc.stdout.readline() if ready else ""
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    assert line, proc.stderr.read()
    run_id, gen_ns = line.split()
    # The holder (its stdin closed with the killed test) removes the guest and its namespace.
    deadline = time.monotonic() + 60
    while netns_of(run_id) != [gen_ns] and time.monotonic() < deadline:
        time.sleep(0.5)
    assert netns_of(run_id) == [gen_ns]
    c = run_ikestorm("clean", "--run", run_id, env={"IKESTORM_STATE_DIR": str(state)}, timeout=120)
    assert c.returncode == 0, c.stdout + c.stderr
    assert f"orphan netns {gen_ns}" in c.stdout
    assert_nothing_left(run_id)
    assert not (state / run_id).exists()
