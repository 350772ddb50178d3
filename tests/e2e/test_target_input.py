"""Bad target input is refused by `validate` and `run` alike, exit 2, before anything exists.

Every ikestorm call runs inside the generator host of tests/e2e/gateway_host.py (eth1 toward
the gateway host, no default route), as it would on its own box. The host checks read that
namespace over rtnetlink (netns/target_host_check.hpp); "unreachable" is a route lookup.
"""
import re
import subprocess

import pytest

from gateway_host import GatewayHost


@pytest.fixture(scope="module")
def gw(tmp_path_factory):
    import os
    if os.geteuid() != 0:
        pytest.skip("needs root (network namespaces)")
    with GatewayHost(tmp_path_factory.mktemp("target-input")) as g:
        # A host route the peers' prefix must not overlap (the generator host's own).
        subprocess.run(["ip", "netns", "exec", g.gen_ns, "ip", "route", "add", "198.19.64.0/24",
                        "via", g.address], check=True)
        yield g


# (scenario extra / replacements, expected message)
CASES = {
    "unreachable": (dict(address="198.18.150.1", vici=False),
                    "target.address 198.18.150.1 is unreachable from this host: no route to it"),
    "no-interface": (dict(interface="eth9"),
                     "target.interface eth9 does not exist in this network namespace (its links: lo, eth1)"),
    "overlap": (dict(peers="198.19.0.0/17"),
                "target.peers 198.19.0.0/17 overlaps this host's route to 198.19.64.0/24 (dev eth1)"),
    "local-taken": (dict(local="198.18.100.10/24"),
                    "target.local 198.18.100.10 is one of this host's addresses (on eth1)"),
    "local-outside": (dict(local="198.18.101.50/24", address="198.18.101.1", vici=False),
                      "target.local 198.18.101.50/24 is not inside eth1's connected prefix (198.18.100.0/24)"),
    "missing-psk": (dict(psk_file="/nonexistent/gw.psk"), "peers.psk_file"),
}


def _scenario(gw, name, address=None, interface="eth1", local=None, peers=None, vici=True,
              psk_file=None):
    address = address or gw.address
    text = (f"name: bad-{name}\n"
            "peers:\n  count: 10\n  engine: native\n"
            f"  psk_file: {psk_file or gw.psk_file}\n"
            f"  remote_id: {gw.remote_id}\n  remote_ts: [{gw.remote_ts}]\n"
            "target:\n"
            f"  address: {address}\n  interface: {interface}\n  local: {local or gw.local}\n"
            f"  peers: {peers or '198.19.128.0/18'}\n  inner: 198.19.192.0/18\n"
            + (f"  vici: tcp://{address}:{gw.vici_port}\n" if vici else ""))
    path = gw.dir / f"bad-{name}.yaml"
    path.write_text(text)
    return path


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_target_input_is_refused_by_validate_and_run_alike(gw, ikestorm_bin, tmp_path, case):
    replacements, message = CASES[case]
    refused_alike(gw, ikestorm_bin, tmp_path, _scenario(gw, case, **replacements), message)


def refused_alike(gw, ikestorm_bin, tmp_path, path, message):
    """`validate` and `run` of PATH inside the generator host both exit 2 with MESSAGE at
    PATH:line:col, refuse identically, and `run` created nothing."""
    state = tmp_path / "state"
    outputs = {}
    for cmd in (["validate", path], ["run", path, "--out", tmp_path / "out"]):
        r = gw.run_in_generator(ikestorm_bin, *cmd, timeout=60, env={"IKESTORM_STATE_DIR": str(state)})
        assert r.returncode == 2, f"{cmd[0]}: rc {r.returncode}\n{r.stdout}\n{r.stderr}"
        assert message in r.stderr, f"{cmd[0]}:\n{r.stderr}"
        # file:line:col of the key it concerns
        line = next(l for l in r.stderr.splitlines() if message in l)
        assert re.match(re.escape(str(path)) + r":\d+:\d+: ", line), line
        outputs[cmd[0]] = sorted(l for l in r.stderr.splitlines() if l.startswith(str(path)))
    assert outputs["validate"] == outputs["run"], "validate and run refuse differently"
    # A run journals every namespace in its state folder before creating it: none begun.
    assert not state.exists() or not any(state.iterdir()), "a run state (journal) was created"
    assert not (tmp_path / "out").exists(), "run created its report folder"


def test_a_fitting_target_passes_the_host_checks(gw, ikestorm_bin):
    path = _scenario(gw, "fits", peers="198.19.128.0/18")
    r = gw.run_in_generator(ikestorm_bin, "validate", path, timeout=60)
    assert "this host" not in r.stderr and "target.interface" not in r.stderr, r.stderr
