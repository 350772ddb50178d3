"""The external-target tests' gateway host (gateway_host.py) is what it says it is."""
import subprocess

import pytest

from gateway_host import GatewayHost


def _namespaces():
    return subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout


def test_gateway_host_answers_over_tcp_vici_and_leaves_nothing(tmp_path, needs_root):
    with GatewayHost(tmp_path, ikesa_limit=7) as gw:
        assert "IKE_SAs: 0 total" in gw.stats()
        assert gw.list_sas_count() == 0
        conns = gw._swanctl("--list-conns").stdout
        assert "rw:" in conns and "198.19.128.0/17" in conns
        # The generator host reaches the gateway on eth1, and has no default route.
        route = subprocess.run(["ip", "netns", "exec", gw.gen_ns, "ip", "route", "get", gw.address],
                               capture_output=True, text=True).stdout
        assert "dev eth1" in route
        none = subprocess.run(["ip", "netns", "exec", gw.gen_ns, "ip", "route", "get", "198.51.100.1"],
                              capture_output=True, text=True)
        assert none.returncode != 0 and "unreachable" in none.stderr
        assert "ikesa_limit = 7" in (gw.dir / "strongswan.conf").read_text()
        names = (gw.gen_ns, gw.gw_ns)
        pid = gw.charon.pid
    listed = _namespaces()
    assert not any(n in listed for n in names)
    with pytest.raises(ProcessLookupError):
        import os
        os.kill(pid, 0)
