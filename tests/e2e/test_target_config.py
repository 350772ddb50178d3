"""`sut.config` with `target:`: the gateway's own swanctl.conf is read, not started, and the
peers take its proposals, identities, traffic selectors and PSK.

The gateway host (gateway_host.py) loads a real gateway config from tests/fixtures/gateway/,
its addresses moved onto the test network; the target scenario names that same file as
sut.config and writes no peers.psk_file, id, remote_id, remote_ts or proposals. Every ikestorm
call runs inside the generator host.
"""
import re
import subprocess
from pathlib import Path

import pytest

from gateway_host import GatewayHost
from test_target import HOLD, _report, _run_holding, _ist_namespaces

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "gateway"


def _on_test_network(name, gw_cls=GatewayHost):
    """A fixture's swanctl.conf with its addresses moved onto the gateway host's: its local
    address, its protected subnet, and (kernel-libipsec cannot route a CHILD_SA to the peer's
    own IKE address) the peers' inner prefix as remote_ts. updown scripts are dropped (the
    test gateway loads no updown plugin)."""
    text = (FIXTURES / name / "swanctl.conf").read_text()
    text = text.replace("local_addrs = 192.0.2.1", f"local_addrs = {gw_cls.address}")
    text = re.sub(r"( *)local_ts = 10\.10\.0\.0/16",
                  lambda m: f"{m[1]}local_ts = {gw_cls.remote_ts}\n{m[1]}remote_ts = {gw_cls.inner}", text)
    return re.sub(r"\n *updown = [^\n]*", "", text)


def _scenario(gw, engine, count, extra=""):
    text = (f"name: target-config-{engine}\n"
            f"peers:\n  count: {count}\n  engine: {engine}\n  arrival: {{ rate: 500/s }}\n"
            f"sut:\n  config: {{ swanctl_conf: {gw.swanctl_path} }}\n"
            "target:\n"
            f"  address: {gw.address}\n  interface: eth1\n  local: {gw.local}\n"
            f"  peers: {gw.peers}\n  inner: {gw.inner}\n  vici: {gw.vici_uri}\n" + extra)
    path = gw.dir / f"target-config-{engine}-{count}.yaml"
    path.write_text(text)
    return path


@pytest.mark.parametrize("engine", ["charon", "native"])
def test_peers_derived_from_the_gateways_own_config_come_up(tmp_path, needs_root, ikestorm_bin, engine):
    count = 100
    with GatewayHost(tmp_path, swanctl_conf=_on_test_network("rw-psk-fqdn")) as gw:
        path = _scenario(gw, engine, count, HOLD % "5s")
        out = tmp_path / "out"
        r, gateway_count = _run_holding(gw, ikestorm_bin, path, out, count, tmp_path / "state")
        assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-3000:]
        rep = _report(out)
        run = rep["runs"][0]
        assert run["summary"]["established"] == count, run["notes"]
        assert gateway_count == count  # the gateway's own list-sas
        notes = "\n".join(run["notes"])
        # rw-psk-fqdn keys its PSKs by the clients' identities: the peers take alice's, as written.
        assert "all peers use the one identity alice@example.org of secrets.ike-alice" in notes, notes
        assert "peers use the PSK of secrets.ike-alice" in notes, notes
        if engine == "native":
            assert "the native engine proposes ESP aes128gcm128 of the gateway's esp_proposals" in notes, notes
        else:
            sample = (out / "run-1" / "peers-sample.swanctl.conf").read_text()
            assert "proposals = aes128-sha256-x25519" in sample and "id = vpn.example.org" in sample, sample
            assert f"remote_ts = {gw.remote_ts}" in sample and "unique = never" in sample, sample
        assert not _ist_namespaces(rep["run_id"])


def test_a_config_the_native_engine_cannot_answer_is_refused_alike(tmp_path, needs_root, ikestorm_bin):
    """rw-cert asks the peers for certificates: the native engine (PSK only) is refused by
    validate and run alike, at the line and column of the auth in the gateway's file."""
    with GatewayHost(tmp_path) as gw:
        conf = gw.dir / "rw-cert.swanctl.conf"
        conf.write_text(_on_test_network("rw-cert"))
        path = _scenario(gw, "native", 10).with_name("rw-cert-native.yaml")
        path.write_text(_scenario(gw, "native", 10).read_text().replace(str(gw.swanctl_path), str(conf)))
        lines = conf.read_text().splitlines()
        remote = next(i for i, l in enumerate(lines) if l.strip() == "remote {")
        auth_line = next(i for i in range(remote, len(lines)) if lines[i].strip().startswith("auth"))
        where = f"{conf}:{auth_line + 1}:{len(lines[auth_line]) - len(lines[auth_line].lstrip()) + 1}: "
        state = tmp_path / "state"
        seen = {}
        for cmd in (["validate", path], ["run", path, "--out", tmp_path / "out"]):
            r = gw.run_in_generator(ikestorm_bin, *cmd, timeout=60, env={"IKESTORM_STATE_DIR": str(state)})
            assert r.returncode == 2, f"{cmd[0]}: rc {r.returncode}\n{r.stdout}\n{r.stderr}"
            expected = (where + "sut.config: connections.roadwarrior.remote.auth = pubkey: the native engine "
                        "authenticates with a PSK only")
            assert expected in r.stderr, r.stderr
            seen[cmd[0]] = sorted(l for l in r.stderr.splitlines() if l.startswith(str(conf)))
        assert seen["validate"] == seen["run"]
        assert not state.exists() or not any(state.iterdir()), "a run state (journal) was created"
        assert not (tmp_path / "out").exists()


# ---- certificate peers from the user's CA (peers.ca_cert / ca_key) -----------------------------

def _openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def _make_ca(d: Path):
    """A CA of the test's own (the `pki` tool is not installed here: openssl's CLI) and the
    gateway's certificate from it."""
    d.mkdir(parents=True, exist_ok=True)
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    _openssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
             "-subj", "/C=CH/O=ikestorm tests/CN=Target Test CA",
             "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=d)
    _openssl("req", "-new", *ec, "-keyout", "gw.key", "-out", "gw.csr", "-subj", "/CN=gw.example.org", cwd=d)
    (d / "gw.ext").write_text("subjectAltName=DNS:gw.example.org\n")
    _openssl("x509", "-req", "-in", "gw.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
             "-days", "2", "-out", "gw.pem", "-extfile", "gw.ext", cwd=d)
    return d


def _cert_gateway_conf(d: Path, gw_cls=GatewayHost):
    return ("connections {\n  rw {\n    version = 2\n"
            f"    local_addrs = {gw_cls.address}\n"
            f"    local {{\n      auth = pubkey\n      certs = {d / 'gw.pem'}\n      id = gw.example.org\n    }}\n"
            f"    remote {{\n      auth = pubkey\n      cacerts = {d / 'ca.pem'}\n    }}\n"
            "    children {\n      net {\n"
            f"        local_ts = {gw_cls.remote_ts}\n        remote_ts = {gw_cls.inner}\n"
            "      }\n    }\n  }\n}\n")


def test_certificate_peers_issued_from_the_users_ca_come_up(tmp_path, needs_root, ikestorm_bin):
    """The gateway trusts the test's CA; the scenario names the gateway's own swanctl.conf
    (remote.auth = pubkey) and the CA: 50 charon peers authenticate with certificates from it."""
    count = 50
    ca = _make_ca(tmp_path / "ca")
    with GatewayHost(tmp_path, swanctl_conf=_cert_gateway_conf(ca), private_keys=[ca / "gw.key"]) as gw:
        extra = f"  ca_cert: {ca / 'ca.pem'}\n  ca_key: {ca / 'ca.key'}\n"
        path = _scenario(gw, "charon", count, HOLD % "5s")
        path.write_text(path.read_text().replace("  arrival:", extra + "  arrival:"))
        out = tmp_path / "out"
        r, gateway_count = _run_holding(gw, ikestorm_bin, path, out, count, tmp_path / "state")
        assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-3000:]
        run = _report(out)["runs"][0]
        assert run["summary"]["established"] == count, run["notes"]
        assert gateway_count == count
        assert any(f"auth ecdsa: {count} peer certificates issued from peers.ca_cert" in n for n in run["notes"]), run["notes"]
        # Issued by that CA, for the peer's identity.
        issued = subprocess.run(["openssl", "x509", "-in", str(out / "run-1" / "auth" / "x509" / "peer-7.pem"),
                                 "-noout", "-issuer", "-ext", "subjectAltName"], capture_output=True, text=True)
        assert "CN = Target Test CA" in issued.stdout and "DNS:peer-7.ikestorm.test" in issued.stdout, issued.stdout
        log = gw.log_path.read_text()
        assert "authentication of 'peer-7.ikestorm.test' with ECDSA" in log or "peer-7.ikestorm.test" in log


@pytest.mark.parametrize("case", ["key-mismatch", "garbage-cert"])
def test_a_bad_ca_is_refused_alike_before_anything_exists(tmp_path, needs_root, ikestorm_bin, case):
    ca = _make_ca(tmp_path / "ca")
    with GatewayHost(tmp_path) as gw:
        cert, key = ca / "ca.pem", ca / "ca.key"
        if case == "key-mismatch":
            key = ca / "gw.key"  # a key, but not the CA's
            message, at = "peers.ca_cert / ca_key: the key does not match the CA certificate", "ca_key"
        else:
            cert = ca / "garbage.pem"
            cert.write_text("-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n")
            message, at = f"peers.ca_cert: {cert}: no PEM certificate in it", "ca_cert"
        path = gw.scenario(count=10, engine="charon", extra="")
        text = path.read_text().replace(f"  psk_file: {gw.psk_file}\n",
                                        f"  auth: ecdsa\n  ca_cert: {cert}\n  ca_key: {key}\n")
        path.write_text(text)
        line = next(i for i, l in enumerate(text.splitlines(), 1) if l.startswith(f"  {at}:"))
        state = tmp_path / "state"
        seen = {}
        for cmd in (["validate", path], ["run", path, "--out", tmp_path / "out"]):
            r = gw.run_in_generator(ikestorm_bin, *cmd, timeout=60, env={"IKESTORM_STATE_DIR": str(state)})
            assert r.returncode == 2, f"{cmd[0]}: rc {r.returncode}\n{r.stdout}\n{r.stderr}"
            column = len(f"  {at}: ") + 1  # the value naming the file at fault
            assert f"{path}:{line}:{column}: {message}" in r.stderr, r.stderr
            seen[cmd[0]] = sorted(l for l in r.stderr.splitlines() if l.startswith(str(path)))
        assert seen["validate"] == seen["run"]
        assert not state.exists() or not any(state.iterdir()), "a run state (journal) was created"
        assert not (tmp_path / "out").exists()
