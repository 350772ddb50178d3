"""Gateway configurations as operators write them (issue 20): the corpus in
tests/fixtures/gateway/<name>/, modelled on strongSwan's own test suite. Each one either
runs as the SUT with every one of 200 peers established, or `validate` refuses it (exit 2)
naming what a test network cannot provide, at the user's file:line.

The default set runs a representative handful; the whole corpus is marked long."""
import json
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CORPUS_DIR = REPO / "tests" / "fixtures" / "gateway"

# name -> None (runs: 200/200 established) or (file:line, what the refusal names).
CORPUS = {
    "rw-psk-ipv4": None,
    "rw-psk-fqdn": None,
    "net2net-psk": None,
    "rw-mark-in-out": None,
    "rw-cert": None,
    "net2net-cert": None,
    "host2host-cert": None,
    "ecdsa-certs": None,
    "dpd-clear": None,
    "crl-to-cache": None,
    "rw-hash-and-url": None,
    "protoport-dual": None,
    "net2net-rekey": None,
    "ip-pool": None,
    "config-payload": None,
    "rw-eap-mschapv2-id-rsa": None,
    "wildcards": None,
    "ip-pool-db": ("strongswan.conf:9", "needs an SQL database (attr-sql)"),
    "rw-eap-md5-id-radius": ("swanctl.conf:11", "remote.auth = eap-radius: needs a RADIUS server"),
    "rw-radius-accounting": ("swanctl.conf:11", "remote.auth = eap-radius: needs a RADIUS server"),
    "ocsp-revoked": ("swanctl.conf:5", "ocsp_uris: needs an OCSP responder"),
    "crl-revoked": ("swanctl.conf:12", "revocation = strict: needs revocation information"),
    "dhcp-dynamic": ("swanctl.conf:5", "pools = dhcp: needs a DHCP server"),
    "rw-dnssec": ("strongswan.conf:7", "needs DNSSEC IPSECKEY lookups (ipseckey)"),
    "xauth-psk": ("swanctl.conf:5", "version = 1: IKEv1"),
    "rw-eap-tls-only": ("swanctl.conf:6", "EAP method 'tls' is not supported"),
    "rw-psk-rsa-split": ("swanctl.conf:11", "local auth pubkey with remote auth psk is not supported"),
}
DEFAULT_SET = ["rw-psk-ipv4", "ip-pool", "rw-eap-md5-id-radius", "ocsp-revoked", "ip-pool-db"]


def scenario(name):
    return CORPUS_DIR / name / "scenario.yaml"


def check(run_ikestorm, tmp_path, name):
    expected = CORPUS[name]
    v = run_ikestorm("validate", scenario(name))
    if expected is not None:
        where, what = expected
        assert v.returncode == 2, v.stdout + v.stderr
        text = v.stdout + v.stderr
        assert f"{CORPUS_DIR / name / where}: sut.config:" in text, text
        assert what in text, text
        return None
    assert v.returncode == 0, v.stdout + v.stderr
    out = tmp_path / "out"
    r = run_ikestorm("run", scenario(name), "--peers", "200", "--out", out, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    run = json.loads((out / "report.json").read_text())["runs"][0]
    assert run["summary"]["established"] == 200, run["summary"]
    run["sut_log"] = out / run["folder"] / "sut" / "charon.log"
    return run


def test_every_fixture_has_an_expected_result():
    on_disk = sorted(p.name for p in CORPUS_DIR.iterdir() if (p / "scenario.yaml").is_file())
    assert on_disk == sorted(CORPUS), "add new corpus fixtures to CORPUS (and README's table)"
    assert len(CORPUS) >= 20
    readme = (REPO / "README.md").read_text()
    for name in CORPUS:
        assert f"| {name} |" in readme, f"README's corpus table lacks {name}"


@pytest.mark.parametrize("name", DEFAULT_SET)
def test_representative_gateway_configs(run_ikestorm, needs_root, tmp_path, name):
    run = check(run_ikestorm, tmp_path, name)
    if name == "rw-psk-ipv4":  # per-client secrets keyed by addresses: mapped onto the peers
        assert any("secrets.ike-laptop-a: id 192.0.2.100 -> 198.19.0.0/17" in n for n in run["notes"]), run["notes"]
        assert any("charon-systemd.load dropped" in n for n in run["notes"]), run["notes"]
        assert any(".updown (" in n and "dropped" in n for n in run["notes"]), run["notes"]
    if name == "ip-pool":  # the pool holds every peer, and every peer got a virtual IP from it
        assert any("pools.rw_pool.addrs: 10.99.0.0/28 -> 198.19.255.0/24" in n for n in run["notes"]), run["notes"]
        log = run["sut_log"].read_text()
        assert len(re.findall(r"assigning virtual IP 198\.19\.255\.\d+ to peer", log)) == 200


def test_vips_with_the_native_engine_is_refused(run_ikestorm):
    r = run_ikestorm("validate", scenario("ip-pool"), "--set", "peers.engine=native")
    assert r.returncode == 2 and "peers.vips: needs peers.engine: charon" in r.stdout + r.stderr


@pytest.mark.long
@pytest.mark.parametrize("name", sorted(CORPUS))
def test_whole_gateway_corpus(run_ikestorm, needs_root, tmp_path, name):
    check(run_ikestorm, tmp_path, name)
