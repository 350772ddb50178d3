"""The ikestorm command line: help texts, usage errors, probe JSON, code lookups."""
import json
import os
import re
import secrets
import subprocess

import pytest


def registered_commands(run_ikestorm):
    r = run_ikestorm("--help")
    assert r.returncode == 0, r.stderr
    section = r.stdout.split("commands:", 1)[1]
    names = re.findall(r"^  ([a-z][a-z-]*)\s", section, flags=re.M)
    assert names, r.stdout
    return names


def test_top_level_help_lists_commands(run_ikestorm):
    names = registered_commands(run_ikestorm)
    for expected in ("probe", "clean", "codes"):
        assert expected in names


def test_every_command_has_its_own_help(run_ikestorm):
    for name in registered_commands(run_ikestorm):
        r = run_ikestorm(name, "--help")
        assert r.returncode == 0, f"{name} --help: {r.stderr}"
        assert r.stdout.startswith(f"usage: ikestorm {name}"), f"{name}: {r.stdout[:200]}"
        assert "--help" in r.stdout, name


def test_no_command_prints_usage_and_exits_2(run_ikestorm):
    r = run_ikestorm()
    assert r.returncode == 2
    assert "usage: ikestorm" in r.stderr


def test_unknown_command_exits_2_and_names_it(run_ikestorm):
    r = run_ikestorm("frobnicate")
    assert r.returncode == 2
    assert "frobnicate" in r.stderr
    assert "usage: ikestorm" in r.stderr


def test_unknown_global_option_exits_2_and_names_it(run_ikestorm):
    r = run_ikestorm("--no-such-global", "probe")
    assert r.returncode == 2
    assert "--no-such-global" in r.stderr


def test_unknown_option_of_every_command_exits_2_and_names_it(run_ikestorm):
    for name in registered_commands(run_ikestorm):
        r = run_ikestorm(name, "--no-such-option-xyz")
        assert r.returncode == 2, f"{name}: exit {r.returncode}\n{r.stdout}\n{r.stderr}"
        assert "--no-such-option-xyz" in r.stderr, f"{name}: {r.stderr}"
        assert f"usage: ikestorm {name}" in r.stderr, f"{name}: {r.stderr}"


# ----------------------------------------------------------------------------- probe

PROBE_CHECKS = ["xfrm_netlink", "esp", "netem", "tun", "nftables", "veth", "bridge", "tbf", "qemu", "vm_kernel", "kvm",
                "charon"]
PLUGINS = ["kernel-netlink", "kernel-libipsec", "vici", "openssl", "kdf", "socket-default"]
LIBIPSEC_REASON = "real kernel XFRM unavailable here; using userspace ESP; --backend vm for real XFRM"


@pytest.fixture(scope="module")
def probe_json(ikestorm_bin):
    r = subprocess.run([str(ikestorm_bin), "probe", "--json"], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)  # the whole output is one JSON document


def test_probe_json_is_one_object_with_every_field(probe_json):
    assert isinstance(probe_json, dict)
    assert isinstance(probe_json["kernel"], str) and probe_json["kernel"]
    for key in PROBE_CHECKS:
        check = probe_json[key]
        assert isinstance(check["available"], bool), key
        assert isinstance(check["detail"], str) and check["detail"], key
    for key in ("path", "version"):
        assert isinstance(probe_json["charon"][key], str)
    assert isinstance(probe_json["qemu"]["path"], str)
    assert isinstance(probe_json["vm_kernel"]["path"], str)
    for plugin in PLUGINS:
        assert isinstance(probe_json["plugins"][plugin], bool), plugin
    assert probe_json["auto_backend"] in ("xfrm", "libipsec", "")
    assert probe_json["auto_backend_reason"]
    assert probe_json["problems"] == []


def test_probe_backend_follows_esp(probe_json, needs_root):
    assert probe_json["xfrm_netlink"]["available"], probe_json["xfrm_netlink"]["detail"]
    if probe_json["esp"]["available"]:
        assert probe_json["auto_backend"] == "xfrm"
    else:
        assert probe_json["auto_backend"] == "libipsec"
        assert probe_json["auto_backend_reason"] == LIBIPSEC_REASON


def test_probe_tries_the_topology_pieces(probe_json, needs_root):
    # Every run needs a veth pair and bridges; this host's kernel has both (the vm guest too,
    # tests/e2e/test_in_vm.py).
    for key in ("veth", "bridge"):
        assert probe_json[key]["available"], probe_json[key]["detail"]
        assert "created" in probe_json[key]["detail"]


def _in_fresh_netns(argv_list):
    """Runs each argv inside a throwaway namespace of this test; returns the results."""
    name = f"ist-{secrets.token_hex(3)}-e2e"
    subprocess.run(["ip", "netns", "add", name], check=True, timeout=10)
    try:
        return [subprocess.run(["ip", "netns", "exec", name, *argv], capture_output=True,
                               text=True, timeout=10) for argv in argv_list]
    finally:
        subprocess.run(["ip", "netns", "delete", name], timeout=10)


def test_probe_esp_and_netem_agree_with_iproute2(probe_json, needs_root):
    """Cross-check against the kernel through another tool (ip xfrm, tc)."""
    esp, netem = _in_fresh_netns([
        ["ip", "xfrm", "state", "add", "src", "198.18.0.1", "dst", "198.18.0.2", "proto", "esp",
         "spi", "0x100", "mode", "tunnel", "enc", "cbc(aes)", "0x" + "11" * 16,
         "auth-trunc", "hmac(sha256)", "0x" + "22" * 32, "128"],
        ["tc", "qdisc", "add", "dev", "lo", "root", "netem", "delay", "1ms"],
    ])
    assert probe_json["esp"]["available"] == (esp.returncode == 0), (esp.stderr, probe_json["esp"])
    assert probe_json["netem"]["available"] == (netem.returncode == 0), (netem.stderr, probe_json["netem"])
    if esp.returncode != 0:
        # The kernel's own words reach the detail line.
        assert esp.stderr.strip().removeprefix("Error: ").rstrip(".") in probe_json["esp"]["detail"]


def test_probe_charon_version_matches_charon(probe_json):
    charon = probe_json["charon"]
    if not charon["available"]:
        pytest.fail(f"charon not usable: {charon['detail']}")
    r = subprocess.run([charon["path"], "--version"], capture_output=True, text=True, timeout=10)
    assert f"strongSwan {charon['version']}" in r.stdout


def test_probe_human_output_is_aligned_rows(run_ikestorm, needs_root):
    r = run_ikestorm("probe", timeout=120)
    assert r.returncode == 0, r.stderr
    rows = {}
    for line in r.stdout.splitlines():
        m = re.match(r"^(\S+(?: \S+)?)\s{2,}(yes|no)\s{1,2}(.*)$", line)
        if m:
            rows[m.group(1)] = (m.group(2), m.group(3), line.index(m.group(2)))
    for name in ("xfrm-netlink", "esp", "netem", "tun", "nftables", "qemu", "vm-kernel", "kvm",
                 "charon", "plugin vici"):
        assert name in rows, f"no row for {name}:\n{r.stdout}"
    assert len({col for _, _, col in rows.values()}) == 1, f"yes/no column not aligned:\n{r.stdout}"
    assert re.search(r"^backend auto\s+(xfrm|libipsec|none): \S", r.stdout, flags=re.M), r.stdout


def test_probe_leaves_nothing_behind(run_ikestorm, net_snapshot, needs_root):
    before = net_snapshot()
    r = run_ikestorm("probe", "--json", timeout=120)
    assert r.returncode == 0, r.stderr
    run_id = json.loads(r.stdout)["run_id"]
    assert re.fullmatch(r"[0-9a-f]{6}", run_id)
    after = net_snapshot()
    assert after.added_since(before, containing=run_id) == {}
    assert not os.path.exists(f"/run/netns/ist-{run_id}-probe")
    state_root = os.environ.get("IKESTORM_STATE_DIR", "/run/ikestorm")
    assert not os.path.exists(os.path.join(state_root, run_id))


# ----------------------------------------------------------------------------- codes

def codes_json(run_ikestorm, *args):
    r = run_ikestorm("codes", *args, "--json")
    return r.returncode, json.loads(r.stdout)


def test_codes_hex_names_mm_limit(run_ikestorm):
    r = run_ikestorm("codes", "0x363A")
    assert r.returncode == 0
    assert "ERROR_IPSEC_IKE_MM_LIMIT" in r.stdout
    assert "13882" in r.stdout


@pytest.mark.parametrize("query,values", [
    ("QUEUE_DROP", [13811, 13812]),
    ("0x363A", [13882]),
    ("13882", [13882]),
    ("0xC000A010", [0xC000A010]),
    ("ERROR_IPSEC_IKE_DROP_NO_RESPONSE", [13813]),
])
def test_codes_lookup_values(run_ikestorm, query, values):
    rc, entries = codes_json(run_ikestorm, query)
    assert rc == 0
    assert [e["value"] for e in entries] == values


def test_codes_queue_drop_lists_both_in_text(run_ikestorm):
    r = run_ikestorm("codes", "QUEUE_DROP")
    assert r.returncode == 0
    assert "13811" in r.stdout and "13812" in r.stdout


def test_codes_json_lists_all_171(run_ikestorm):
    rc, entries = codes_json(run_ikestorm)
    assert rc == 0
    assert len(entries) == 171
    assert set(entries[0]) == {"name", "kind", "value", "hex", "description"}
    assert sum(e["kind"] == "win32" for e in entries) == 154
    assert sum(e["kind"] == "ntstatus" for e in entries) == 17


def test_codes_kind_filter(run_ikestorm):
    rc, entries = codes_json(run_ikestorm, "--kind", "ntstatus")
    assert rc == 0 and len(entries) == 17
    assert all(e["name"].startswith("STATUS_IPSEC_") for e in entries)
    r = run_ikestorm("codes", "--kind", "dos")
    assert r.returncode == 2 and "--kind" in r.stderr


def test_codes_text_lists_every_code(run_ikestorm):
    r = run_ikestorm("codes")
    assert r.returncode == 0
    lines = r.stdout.splitlines()
    assert lines[0].split() == ["name", "kind", "decimal", "hex", "description"]
    assert len(lines) == 1 + 171


def test_codes_undefined_name_is_no_such_code(run_ikestorm):
    r = run_ikestorm("codes", "ERROR_IPSEC_IKE_NEGOTIATION_FAILED")
    assert r.returncode == 1
    assert "no such code" in r.stderr
    assert r.stdout == ""
