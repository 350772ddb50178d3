"""The native engine's packet layers in `ikestorm run`.

By default native peers share one packet layer for the routed peer prefix (raw-prefix: an
AF_PACKET ring and a raw IPv4 or IPv6 socket, no kernel address per peer); IKESTORM_NATIVE_IO
picks the per-peer UDP sockets instead, and the run's notes say so. Either way the SUT must
see every peer up and, after teardown, none left.
"""
import re
import subprocess

from test_native import assert_nothing_left, only_run
from test_run import charon_pids, run_id_of


def run_native(run_ikestorm, tmp_path, peers, env=None, timeout=180, extra=()):
    before = charon_pids()
    out = tmp_path / "out"
    r = run_ikestorm("run", "--set", "peers.engine=native", "--peers", peers,
                     "--set", f"peers.arrival={{burst: {peers}}}",
                     "--set", "phases=[{connect: {}}, {hold: {duration: 2s}}, {teardown: {}}]",
                     *extra, "--out", out, env=env, timeout=timeout)
    assert r.returncode == 0, r.stdout + r.stderr
    run = only_run(out)
    s = run["summary"]
    assert s["established"] == peers and s["failed"] == 0, s
    assert s["sut_ike_sas_at_connect_end"] == peers
    assert s["leaks"] == 0
    # Teardown: every IKE_SA deleted by its peer, none left on the SUT.
    assert run["timeseries"][-1]["ike_active"] == 0
    sut_log = (out / "run-1" / "sut" / "charon.log").read_text()
    assert len(re.findall(r"received DELETE for IKE_SA", sut_log)) == peers
    assert_nothing_left(run_id_of(r.stdout), out, before)
    return run, r


def test_1000_native_peers_on_the_shared_packet_layer(run_ikestorm, needs_root, tmp_path):
    run, r = run_native(run_ikestorm, tmp_path, 1000)
    assert any("packet layer raw-prefix" in n for n in run["notes"]), run["notes"]
    # The layer's own counts: nothing dropped on receipt, nothing refused by the kernel.
    m = re.search(r"packet layer raw-prefix: sent (\d+), send errors (\d+), received (\d+), dropped on receipt (\d+)",
                  r.stdout + r.stderr)
    assert m, r.stdout + r.stderr
    sent, errors, received, dropped = map(int, m.groups())
    assert errors == 0 and dropped == 0
    assert received >= 3 * 1000  # IKE_SA_INIT, IKE_AUTH and INFORMATIONAL answers


def test_1000_ipv6_native_peers_on_the_shared_packet_layer(run_ikestorm, needs_root, tmp_path):
    """peers.family: ipv6 on the raw prefix layer: every peer up, the SUT's count agrees, no fallback."""
    run, r = run_native(run_ikestorm, tmp_path, 1000, extra=("--set", "peers.family=ipv6"))
    assert any("packet layer raw-prefix" in n for n in run["notes"]), run["notes"]
    assert not any("udp-sockets" in n for n in run["notes"]), run["notes"]
    m = re.search(r"packet layer raw-prefix: sent (\d+), send errors (\d+), received (\d+), dropped on receipt (\d+)",
                  r.stdout + r.stderr)
    assert m, r.stdout + r.stderr
    sent, errors, received, dropped = map(int, m.groups())
    assert errors == 0 and dropped == 0
    assert received >= 3 * 1000
    # The SUT saw each peer from its own IPv6 address in 2001:2:0:2::/64.
    sut_log = (tmp_path / "out" / "run-1" / "sut" / "charon.log").read_text()
    initiating = set(re.findall(r"(2001:2:0:2::[0-9a-f:]+) is initiating an IKE_SA", sut_log))
    assert len(initiating) == 1000, sorted(initiating)[:5]


def test_udp_sockets_stay_selectable(run_ikestorm, needs_root, tmp_path):
    run, _ = run_native(run_ikestorm, tmp_path, 50, env={"IKESTORM_NATIVE_IO": "udp-sockets"})
    assert any("packet layer udp-sockets" in n for n in run["notes"]), run["notes"]
    # Never silent: the fallback is named as such in the notes.
    assert any("packet layer udp-sockets (IKESTORM_NATIVE_IO=udp-sockets), the fallback" in n
               for n in run["notes"]), run["notes"]


def test_an_unknown_packet_layer_is_refused(run_ikestorm, needs_root, tmp_path):
    r = run_ikestorm("run", "--set", "peers.engine=native", "--peers", "2", "--out", tmp_path / "out",
                     env={"IKESTORM_NATIVE_IO": "xdp"}, timeout=60)
    assert r.returncode != 0
    assert "IKESTORM_NATIVE_IO='xdp'" in r.stdout + r.stderr
    netns = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    run_id = run_id_of(r.stdout)
    assert not run_id or f"ist-{run_id}" not in netns
