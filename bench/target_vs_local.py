#!/usr/bin/python3
"""Setup rate against an external target vs the harness's own SUT, native engine, in one script.

For each peer count (default 1,000 and 5,000), with every peer arriving at once (burst):
  target        the test suite's gateway host (tests/e2e/gateway_host.py: a bare charon on
                kernel-libipsec in a namespace of its own, given the harness SUT's charon
                settings (SUT_SETTINGS) and its connection (sut_connection: one proposal each,
                no MOBIKE, no CERTREQ)), `ikestorm run` with target: from inside its generator
                host (macvlan of eth1, raw-prefix packet layer); no target.vici: the initiator
                side alone, as the harness's own cost is what this compares
  target+vici   the same with target.vici: the gateway streams its log (levels 0 and 1) to
                ikestorm and answers its count and stats requests; that stream is work the
                gateway does for the observer, and the figure shows what it costs
  local         `ikestorm run` with the harness's own SUT charon (backend libipsec) on the
                same machine, the same peers, proposals and arrival
  setups/s = established / (first initiate -> last CHILD_SA up), from report.json; CPU s is
  the gateway charon's (from /proc at the end of the run) or the local SUT's (report cpu_s.sut).
Each count is measured --rounds times (default 3), the three modes in turn, and the ratios of
the medians are printed (goal target/local >= 0.95): one round swings either way on a shared
machine.

  sudo bench/target_vs_local.py [--peers 1000,5000] [--rounds 3] [--bin build/harness/cli/ikestorm] [--json out.json]
Needs root. Everything it makes (gen-*/gwh-* namespaces, ist-* by ikestorm) is removed.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "e2e"))
from gateway_host import GatewayHost  # noqa: E402

# The harness's own SUT charon's settings (charon/tuned_defaults.cpp, role sut), given to the
# gateway so both sides run the same charon the same way (cookies off, same tables, threads,
# no routes per CHILD_SA, no roam events).
SUT_SETTINGS = {"ikesa_table_size": 4096, "ikesa_table_segments": 16, "reuse_ikesa": "no", "threads": 32,
                "cookie_threshold": 0, "install_routes": "no", "plugins.kernel-netlink.roam_events": "no"}
PHASES = "phases:\n  - connect: {}\n  - hold: { duration: 3s }\n  - teardown: {}\n"


def sut_connection(gw_class, psk):
    """The gateway's connection as the harness writes its own SUT's (run-1/sut/swanctl view):
    one IKE and one ESP proposal, no MOBIKE, no CERTREQ, no uniqueness check, 8 h IKE
    rekey. charon's defaults (every proposal it knows, MOBIKE, CERTREQ) are work per setup
    the local SUT does not do."""
    g = gw_class
    return ("connections {\n  rw {\n    version = 2\n"
            f"    local_addrs = {g.address}\n    remote_addrs = {g.peers}\n"
            "    proposals = aes128-sha256-x25519\n    rekey_time = 28800\n    reauth_time = 0\n"
            "    dpd_delay = 0\n    encap = no\n    mobike = no\n    unique = no\n    send_certreq = no\n"
            f"    local {{\n      auth = psk\n      id = {g.remote_id}\n    }}\n"
            "    remote {\n      auth = psk\n      id = %any\n    }\n"
            "    children {\n      net {\n        mode = tunnel\n        esp_proposals = aes128gcm16\n"
            f"        local_ts = {g.remote_ts}\n        remote_ts = {g.inner}\n"
            "      }\n    }\n  }\n}\n"
            f"secrets {{\n  ike-peers {{\n    secret = \"{psk}\"\n  }}\n}}\n")


def summary(out):
    run = json.loads((out / "report.json").read_text())["runs"][0]
    return run["summary"], run["codes"]


def process_cpu_s(pid):
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def target_run(binary, peers, tmp, vici):
    psk = "ikestorm-gateway-test-secret"
    with GatewayHost(tmp / f"gw-{peers}", charon_settings=SUT_SETTINGS, vici=vici, psk=psk,
                     swanctl_conf=sut_connection(GatewayHost, psk)) as gw:
        text = gw.scenario(count=peers, engine="native").read_text()
        text = text.replace("  engine: native\n", f"  engine: native\n  arrival: {{ burst: {peers} }}\n")
        path = gw.dir / f"bench-{peers}.yaml"
        path.write_text(text + PHASES)
        out = tmp / f"target-{peers}"
        r = gw.run_in_generator(binary, "run", path, "--out", out, timeout=1800)
        if r.returncode not in (0, 1):
            raise RuntimeError(f"target run: rc {r.returncode}\n{r.stdout[-2000:]}\n{r.stderr[-2000:]}")
        s, codes = summary(out)
        return s, codes, process_cpu_s(gw.charon.pid)


def local_run(binary, peers, tmp):
    out = tmp / f"local-{peers}"
    path = tmp / f"local-{peers}.yaml"
    path.write_text(f"name: local-native-{peers}\nbackend: libipsec\npeers:\n  count: {peers}\n  engine: native\n"
                    f"  arrival: {{ burst: {peers} }}\n" + PHASES)
    r = subprocess.run([str(binary), "run", str(path), "--out", str(out), "--force"], capture_output=True,
                       text=True, timeout=1800)
    if r.returncode not in (0, 1):
        raise RuntimeError(f"local run: rc {r.returncode}\n{r.stdout[-2000:]}\n{r.stderr[-2000:]}")
    s, codes = summary(out)
    return s, codes, s["cpu_s"]["sut"]


MODES = {"target": lambda b, n, t: target_run(b, n, t, vici=False),
         "target+vici": lambda b, n, t: target_run(b, n, t, vici=True),
         "local": local_run}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--peers", default="1000,5000")
    ap.add_argument("--bin", default=str(REPO / "build" / "harness" / "cli" / "ikestorm"))
    ap.add_argument("--json")
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args()
    if a.rounds < 1:
        ap.error("--rounds must be at least 1")
    rows = []
    with tempfile.TemporaryDirectory(prefix="ist-bench-target-") as d:
        tmp = Path(d)
        for n in [int(x) for x in a.peers.split(",")]:
            rounds = []
            for k in range(a.rounds):
                row = {}
                for mode, run in MODES.items():
                    scratch = tmp / f"{n}-r{k}-{mode}"
                    scratch.mkdir()
                    sm, codes, cpu_s = run(a.bin, n, scratch)
                    row[mode] = {"established": sm["established"], "setups_per_s": sm["setup_rate_per_s"],
                                 "sut_count": sm["sut_ike_sas_at_connect_end"],
                                 "p99_ms": sm["setup_latency_ms"]["p99"], "gateway_cpu_s": cpu_s, "codes": codes}
                rounds.append(row)
                print(f"{n:>6} peers round {k + 1}: " + "   ".join(
                    f"{m} {r['established']} up {r['setups_per_s']:.1f}/s p99 {r['p99_ms']:.0f} ms "
                    f"SUT count {r['sut_count']} SUT CPU {r['gateway_cpu_s']:.2f} s" for m, r in row.items()), flush=True)
            med = {m: statistics.median(r[m]["setups_per_s"] for r in rounds) for m in MODES}
            cpu = {m: statistics.median(r[m]["gateway_cpu_s"] for r in rounds) for m in MODES}
            ratio = med["target"] / med["local"] if med["local"] else 0
            ratio_vici = med["target+vici"] / med["local"] if med["local"] else 0
            rows.append({"peers": n, "rounds": rounds, "median_setups_per_s": med, "median_sut_cpu_s": cpu,
                         "target_over_local": ratio, "target_vici_over_local": ratio_vici})
            print(f"{n:>6} peers  medians of {a.rounds}: " + ", ".join(
                f"{m} {med[m]:.1f}/s (SUT CPU {cpu[m]:.2f} s)" for m in MODES) +
                f"  target/local {ratio:.2f} (goal >= 0.95), target+vici/local {ratio_vici:.2f}", flush=True)
    if a.json:
        Path(a.json).write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
