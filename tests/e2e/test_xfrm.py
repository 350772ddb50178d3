"""`ikestorm xfrm`: counts, xfrm_stat and the --json --watch line format against this kernel,
in a private namespace ist-<6hex>-xfrme2e (addresses from 198.18.0.0/15 on a veth pair inside
it; deleted at the end)."""
import json
import secrets
import subprocess
import time

import pytest


def ip(ns, *args):
    subprocess.run(["ip", "-n", ns, *args], check=True, capture_output=True, text=True)


@pytest.fixture
def xfrm_ns(needs_root):
    ns = "ist-%s-xfrme2e" % secrets.token_hex(3)
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        ip(ns, "link", "set", "lo", "up")
        ip(ns, "link", "add", "v0", "type", "veth", "peer", "name", "v1")
        ip(ns, "link", "set", "v0", "up")
        ip(ns, "link", "set", "v1", "up")
        ip(ns, "addr", "add", "198.18.254.1/24", "dev", "v0")
        yield ns
    finally:
        subprocess.run(["ip", "netns", "del", ns], check=False)


def add_out_policy(ns, src="198.18.254.1", dst="198.18.254.9"):
    ip(ns, "xfrm", "policy", "add", "src", src + "/32", "dst", dst + "/32", "dir", "out",
       "tmpl", "src", "198.18.254.1", "dst", "198.18.254.9", "proto", "esp", "mode", "tunnel")


def test_no_such_namespace_exits_2(run_ikestorm):
    r = run_ikestorm("xfrm", "--netns", "ist-000000-nosuch")
    assert r.returncode == 2
    assert "no network namespace 'ist-000000-nosuch'" in r.stderr


@pytest.mark.parametrize("args", [["--duration", "1s"], ["--watch", "--duration", "soon"],
                                  ["--watch", "--interval", "0"], ["--netns", "../x"], ["--bogus"]])
def test_bad_arguments_exit_2(run_ikestorm, args):
    assert run_ikestorm("xfrm", *args).returncode == 2


def test_snapshot_counts_policies_by_direction(run_ikestorm, xfrm_ns):
    add_out_policy(xfrm_ns)
    add_out_policy(xfrm_ns, "198.18.254.2", "198.18.254.3")
    r = run_ikestorm("xfrm", "--netns", xfrm_ns, "--json", "--details")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert len(lines) == 1
    snap = json.loads(lines[0])
    assert snap["kind"] == "snapshot" and snap["ns"] == xfrm_ns
    assert snap["sa"] == 0
    assert (snap["policies"]["in"], snap["policies"]["out"], snap["policies"]["fwd"]) == (0, 2, 0)
    assert "XfrmOutNoStates" in snap["xfrm_stat"]
    assert sorted(p["sel"]["src"] for p in snap["policy_list"]) == ["198.18.254.1/32", "198.18.254.2/32"]
    text = run_ikestorm("xfrm", "--netns", xfrm_ns)
    assert text.returncode == 0 and "policies   in 0  out 2  fwd 0" in text.stdout


def test_watch_streams_acquire_and_samples(ikestorm_bin, xfrm_ns):
    add_out_policy(xfrm_ns)
    proc = subprocess.Popen([str(ikestorm_bin), "xfrm", "--netns", xfrm_ns, "--json", "--watch",
                             "--duration", "2500ms", "--interval", "500ms"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(0.7)
    subprocess.run(["ip", "netns", "exec", xfrm_ns, "python3", "-c",
                    "import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); "
                    "s.bind(('198.18.254.1', 40123)); s.sendto(b'x', ('198.18.254.9', 5000))"],
                   check=True)
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    lines = [json.loads(line) for line in out.splitlines()]
    kinds = [line["kind"] for line in lines]
    assert kinds[0] == "snapshot" and kinds[-1] == "end"
    acquires = [line for line in lines if line["kind"] == "acquire"]
    assert len(acquires) == 1
    a = acquires[0]
    assert (a["src"], a["dst"], a["proto"]) == ("198.18.254.1", "198.18.254.9", "esp")
    assert a["flow"] == {"src": "198.18.254.1/32", "dst": "198.18.254.9/32", "proto": "udp",
                         "sport": 40123, "dport": 5000}
    assert a["policy"]["dir"] == "out"
    samples = [line for line in lines if line["kind"] == "sample"]
    assert len(samples) >= 3
    assert sum(s["xfrm_stat"].get("XfrmOutNoStates", 0) for s in samples) == 1
    assert any(s["sa"] == 1 for s in samples)  # the ACQUIRE's larval state
    assert all(list(line)[:2] == ["t_ms", "kind"] for line in lines[1:])
    assert lines[-1]["events"] >= 1 and lines[-1]["losses"] == 0
