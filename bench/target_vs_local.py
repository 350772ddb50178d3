#!/usr/bin/python3
"""Setup rate against an external target vs the harness's own SUT, native engine, in one script.

For each peer count (default 1,000 and 5,000), with every peer arriving at once (burst):
  target  the test suite's gateway host (tests/e2e/gateway_host.py: a bare charon on
          kernel-libipsec in a namespace of its own, vici on TCP, given the harness SUT's
          charon settings: SUT_SETTINGS), `ikestorm run` with
          target: from inside its generator host (macvlan of eth1, raw-prefix packet layer)
  local   `ikestorm run` with the harness's own SUT charon (backend libipsec) on the same
          machine, the same peers, proposals and arrival
  setups/s = established / (first initiate -> last CHILD_SA up), from report.json
Each count is measured --rounds times (default 3), target and local alternating, and the ratio
of the medians is printed (goal >= 0.95): one round swings either way on a shared machine.

  sudo bench/target_vs_local.py [--peers 1000,5000] [--rounds 3] [--bin build/harness/cli/ikestorm] [--json out.json]
Needs root. Everything it makes (gen-*/gwh-* namespaces, ist-* by ikestorm) is removed.
"""
import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "e2e"))
from gateway_host import GatewayHost  # noqa: E402

# The harness's own SUT charon's settings (charon/settings.cpp, role sut), given to the
# gateway so both sides run the same charon the same way (cookies off, same tables, threads).
SUT_SETTINGS = {"ikesa_table_size": 4096, "ikesa_table_segments": 16, "reuse_ikesa": "no", "threads": 32,
                "cookie_threshold": 0}
PHASES = "phases:\n  - connect: {}\n  - hold: { duration: 3s }\n  - teardown: {}\n"


def summary(out):
    run = json.loads((out / "report.json").read_text())["runs"][0]
    return run["summary"], run["codes"]


def target_run(binary, peers, tmp):
    with GatewayHost(tmp / f"gw-{peers}", charon_settings=SUT_SETTINGS) as gw:
        text = gw.scenario(count=peers, engine="native").read_text()
        text = text.replace("  engine: native\n", f"  engine: native\n  arrival: {{ burst: {peers} }}\n")
        path = gw.dir / f"bench-{peers}.yaml"
        path.write_text(text + PHASES)
        out = tmp / f"target-{peers}"
        r = gw.run_in_generator(binary, "run", path, "--out", out, timeout=1800)
        if r.returncode not in (0, 1):
            raise RuntimeError(f"target run: rc {r.returncode}\n{r.stdout[-2000:]}\n{r.stderr[-2000:]}")
        return summary(out)


def local_run(binary, peers, tmp):
    out = tmp / f"local-{peers}"
    path = tmp / f"local-{peers}.yaml"
    path.write_text(f"name: local-native-{peers}\nbackend: libipsec\npeers:\n  count: {peers}\n  engine: native\n"
                    f"  arrival: {{ burst: {peers} }}\n" + PHASES)
    r = subprocess.run([str(binary), "run", str(path), "--out", str(out), "--force"], capture_output=True,
                       text=True, timeout=1800)
    if r.returncode not in (0, 1):
        raise RuntimeError(f"local run: rc {r.returncode}\n{r.stdout[-2000:]}\n{r.stderr[-2000:]}")
    return summary(out)


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
                (tmp / f"{n}-r{k}").mkdir()
                t, t_codes = target_run(a.bin, n, tmp / f"{n}-r{k}")
                loc, l_codes = local_run(a.bin, n, tmp / f"{n}-r{k}")
                rounds.append({"target": {"established": t["established"], "setups_per_s": t["setup_rate_per_s"],
                                          "gateway_count": t["sut_ike_sas_at_connect_end"],
                                          "p99_ms": t["setup_latency_ms"]["p99"], "codes": t_codes},
                               "local": {"established": loc["established"], "setups_per_s": loc["setup_rate_per_s"],
                                         "sut_count": loc["sut_ike_sas_at_connect_end"],
                                         "p99_ms": loc["setup_latency_ms"]["p99"], "codes": l_codes}})
                print(f"{n:>6} peers round {k + 1}: target {t['established']:>6} up {t['setup_rate_per_s']:8.1f}/s "
                      f"(gateway count {t['sut_ike_sas_at_connect_end']}, p99 {t['setup_latency_ms']['p99']} ms)   "
                      f"local {loc['established']:>6} up {loc['setup_rate_per_s']:8.1f}/s "
                      f"(p99 {loc['setup_latency_ms']['p99']} ms)", flush=True)
            t_med = statistics.median(r["target"]["setups_per_s"] for r in rounds)
            l_med = statistics.median(r["local"]["setups_per_s"] for r in rounds)
            ratio = t_med / l_med if l_med else 0
            rows.append({"peers": n, "rounds": rounds, "target_median": t_med, "local_median": l_med,
                         "target_over_local": ratio})
            print(f"{n:>6} peers  medians of {a.rounds}: target {t_med:.1f}/s  local {l_med:.1f}/s  "
                  f"target/local {ratio:.2f} (goal >= 0.95)", flush=True)
    if a.json:
        Path(a.json).write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
