"""run::GatewayVici and `ikestorm vici` against a real gateway's vici on TCP.

The gateway host (tests/e2e/gateway_host.py) runs a bare charon with ikesa_limit = 2. An
initiator charon of the test's own in the generator host brings three IKE_SAs (IKE only, no
CHILD_SA) toward it: two come up, the third hits the limit. ist_gateway_vici_helper
(GatewayVici in a process) runs in the generator host meanwhile; its count must equal the
gateway's own `swanctl --list-sas`, and the log it wrote must be read by `ikestorm classify`
as the responder's side with ERROR_IPSEC_IKE_MM_LIMIT.
"""
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from gateway_host import CHARON, GatewayHost

REPO = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("IST_BUILD_DIR", REPO / "build"))
HELPER = Path(os.environ.get("IST_GATEWAY_VICI_HELPER", BUILD / "harness/run/ist_gateway_vici_helper"))
INITIATOR_VICI = "tcp://127.0.0.1:4510"


@pytest.fixture()
def helper(needs_root):
    if not HELPER.exists():
        pytest.fail(f"{HELPER} is not built (set IST_BUILD_DIR)")
    return HELPER


class Initiator:
    """A charon in the generator host with `count` IKE-only connections to the gateway."""

    def __init__(self, gw: GatewayHost, count: int):
        self.gw = gw
        self.dir = gw.dir / "initiator"
        self.dir.mkdir(exist_ok=True)
        conf = self.dir / "strongswan.conf"
        conf.write_text(
            "charon {\n  load = random nonce openssl kdf pem pkcs1 x509 pubkey kernel-libipsec "
            "kernel-netlink socket-default vici\n  install_routes = no\n"
            f"  plugins {{\n    vici {{\n      socket = {INITIATOR_VICI}\n    }}\n  }}\n"
            f"  filelog {{\n    i {{\n      path = {self.dir / 'charon.log'}\n      default = 1\n    }}\n  }}\n}}\n")
        conns = "".join(
            f"  peer-{i} {{\n    version = 2\n    remote_addrs = {gw.address}\n"
            f"    local_addrs = {gw.generator_address.split('/')[0]}\n"
            f"    local {{\n      auth = psk\n      id = peer-{i}@example.org\n    }}\n"
            f"    remote {{\n      auth = psk\n      id = {gw.remote_id}\n    }}\n  }}\n"
            for i in range(count))
        (self.dir / "swanctl.conf").write_text(
            "connections {\n" + conns + "}\n"
            f"secrets {{\n  ike-gw {{\n    secret = \"{gw.psk}\"\n  }}\n}}\n")
        self.proc = subprocess.Popen(
            ["ip", "netns", "exec", gw.gen_ns, "unshare", "--mount", "--propagation", "private",
             "sh", "-c", "mount -t tmpfs tmpfs /run && exec " + CHARON],
            env=dict(os.environ, STRONGSWAN_CONF=str(conf)), stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while self.swanctl("--stats", check=False).returncode != 0:
            assert self.proc.poll() is None, "the initiator charon exited"
            assert time.monotonic() < deadline, "the initiator charon did not answer vici"
            time.sleep(0.2)
        self.swanctl("--load-all", "--noprompt", "--file", str(self.dir / "swanctl.conf"))

    def swanctl(self, *args, check=True, timeout=30):
        return subprocess.run(["ip", "netns", "exec", self.gw.gen_ns, "swanctl", *args,
                               "--uri", INITIATOR_VICI],
                              check=check, capture_output=True, text=True, timeout=timeout)

    def close(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


def test_gateway_vici_counts_and_log_events_match_the_gateway(helper, ikestorm_bin, tmp_path):
    with GatewayHost(tmp_path, ikesa_limit=2) as gw:
        initiator = Initiator(gw, 3)
        log = tmp_path / "gateway-events.log"
        watcher = subprocess.Popen(
            ["ip", "netns", "exec", gw.gen_ns, str(helper), gw.address, str(gw.vici_port), str(log), "30"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            assert watcher.stdout.readline().strip() == "ready", watcher.stderr.read()
            for i in range(2):
                r = initiator.swanctl("--initiate", "--ike", f"peer-{i}", "--timeout", "10", check=False)
                assert r.returncode == 0, r.stdout + r.stderr
            # The third is dropped by the gateway (ikesa_limit): no answer, swanctl gives up.
            initiator.swanctl("--initiate", "--ike", "peer-2", "--timeout", "2", check=False)
            time.sleep(0.3)  # the last log events are on their way
            out, err = watcher.communicate(timeout=60)  # closes its stdin: it counts and ends
            # Asked while the initiator still holds its IKE_SAs (closing it deletes them).
            gateway_count = gw.list_sas_count()
        finally:
            if watcher.poll() is None:
                watcher.kill()
                watcher.wait()
            initiator.close()
        assert watcher.returncode == 0, err
        got = json.loads(out.strip().splitlines()[-1])
        assert gateway_count == 2
        assert got["established"] == gateway_count
        assert got["ikesas_total"] >= 2
        assert got["alive"] is True and got["log_problem"] == ""
        text = log.read_text()
        assert got["log_lines"] >= 3, text
        assert "[IKE] <rw|" in text and " established between " in text, text
        assert "hitting IKE_SA limit (2)" in text, text

        r = subprocess.run([str(ikestorm_bin), "classify", str(log), "--json"],
                           capture_output=True, text=True, timeout=30)
        assert r.returncode == 0, r.stderr
        assert "ERROR_IPSEC_IKE_MM_LIMIT" in r.stdout, r.stdout
        assert "responder" in r.stdout


def test_vici_cli_over_tcp_answers_and_says_what_is_wrong(needs_root, ikestorm_bin, tmp_path):
    with GatewayHost(tmp_path) as gw:
        r = gw.run_in_generator(ikestorm_bin, "vici", "--socket", gw.vici_uri, "version", "--json", timeout=30)
        assert r.returncode == 0, r.stderr
        assert json.loads(r.stdout)["daemon"] == "charon"
        # A port where nothing listens: refused at once.
        r = gw.run_in_generator(ikestorm_bin, "vici", "--socket", f"tcp://{gw.address}:4599", "version", timeout=30)
        assert r.returncode == 3 and "nothing listens on vici tcp://198.18.100.1:4599" in r.stderr, r.stderr
        # No route (the generator host has no default route): unreachable, nothing sent.
        t0 = time.monotonic()
        r = gw.run_in_generator(ikestorm_bin, "vici", "--socket", "tcp://198.18.150.1:4502", "version", timeout=30)
        assert r.returncode == 3 and "is unreachable from here" in r.stderr, r.stderr
        assert time.monotonic() - t0 < 5
        r = gw.run_in_generator(ikestorm_bin, "vici", "--socket", "tcp://gateway:4502", "version", timeout=30)
        assert r.returncode == 2 and "not an IP address" in r.stderr, r.stderr
