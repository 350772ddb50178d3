"""The vm guest as the external gateway (issue 17): `ikestorm run` with target: from a
generator host against a bare charon on the guest's own stock kernel (kernel-netlink, real
ESP states), so report.real_xfrm is true from the gateway's vici `stats` plugins, and the
guest kernel holds two ESP states per CHILD_SA while the peers hold.

One guest serves both engines (booting it is most of the test's time).
"""
import json
import os
import subprocess
import time

from test_clean import netns_of
from test_target import HOLD
from vm_gateway_host import VmGatewayHost

PEERS = 50


def _run_holding(gw, ikestorm_bin, engine, out, state_dir):
    """One target run in the generator host; while its peers hold, the gateway's own IKE_SA
    count (the most it reached) and the guest kernel's ESP states at that moment."""
    text = gw.scenario(count=PEERS, engine=engine).read_text()
    text = text.replace(f"  engine: {engine}\n", f"  engine: {engine}\n  arrival: {{ rate: 100/s }}\n")
    path = gw.dir / f"vm-gateway-{engine}.yaml"
    path.write_text(text + HOLD % "6s")
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
    state = tmp_path / "state"
    with VmGatewayHost(tmp_path, ikestorm_bin, state) as gw:
        assert gw.kernel_release != os.uname().release  # the gateway's own kernel
        for engine in ("charon", "native"):
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
        run_id = gw.run_id
    assert not netns_of(run_id), "the guest's namespaces outlived the test"
    assert not (state / run_id).exists()
