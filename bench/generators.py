#!/usr/bin/python3
"""Several generators against one gateway vs one generator, native engine, in one script.

Against the test suite's gateway host (tests/e2e/gateway_host.py, given the harness SUT's
charon settings) with N generator hosts on one LAN:
  one     generator host 1 drives all PEERS (`ikestorm run` with target:)
  N       generator hosts 1..N each run `--generator I/N` with a shared --start-at, exactly
          as deploy/kubernetes's pods do; `ikestorm merge` folds their reports
  setups/s = established / (first initiate -> last CHILD_SA up), from report.json; the
  merged figure is the sum of the generators' (they ran concurrently)
Prints the merged/one ratio. On one machine the generators share its cores, so the ratio is
only a sanity figure here: it shows the split works, not what N machines would offer.

  sudo bench/generators.py [--peers 4000] [--generators 4] [--bin build/harness/cli/ikestorm] [--json out.json]
Needs root. Everything it makes (gen-*/gwh-* namespaces, ist-* by ikestorm) is removed.
"""
import argparse
import datetime
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "e2e"))
from gateway_host import GatewayHost  # noqa: E402

SUT_SETTINGS = {"ikesa_table_size": 4096, "ikesa_table_segments": 16, "reuse_ikesa": "no", "threads": 32,
                "cookie_threshold": 0}
PHASES = "phases:\n  - connect: {}\n  - hold: { duration: 3s }\n  - teardown: {}\n"


def scenario(gw, peers, rate):
    text = gw.scenario(count=peers, engine="native").read_text()
    text = text.replace("  engine: native\n", f"  engine: native\n  arrival: {{ rate: {rate}/s }}\n")
    path = gw.dir / f"bench-{peers}.yaml"
    path.write_text(text + PHASES)
    return path


def summary(out):
    run = json.loads((out / "report.json").read_text())["runs"][0]
    return run["summary"]


def one_generator(binary, peers, rate, n, tmp):
    with GatewayHost(tmp / "gw-one", charon_settings=SUT_SETTINGS, generators=n) as gw:
        out = tmp / "one"
        r = gw.run_in_generator(binary, "run", scenario(gw, peers, rate), "--out", out, "--set",
                                f"target.local={gw.generator_local(1)}", timeout=1800)
        if r.returncode not in (0, 1):
            raise RuntimeError(f"one generator: rc {r.returncode}\n{r.stdout[-2000:]}\n{r.stderr[-2000:]}")
        return summary(out)


def n_generators(binary, peers, rate, n, tmp):
    reports = tmp / "reports"
    reports.mkdir()
    with GatewayHost(tmp / "gw-n", charon_settings=SUT_SETTINGS, generators=n) as gw:
        path = scenario(gw, peers, rate)
        t = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=10 + 2 * n)
        start_at = t.strftime("%Y-%m-%dT%H:%M:%SZ")
        procs = []
        for k in range(1, n + 1):
            cmd = [str(binary), "run", str(path), "--generator", f"{k}/{n}", "--start-at", start_at,
                   "--set", f"target.local={gw.generator_local(k)}", "--out", str(reports / f"generator-{k}")]
            procs.append(subprocess.Popen(["ip", "netns", "exec", gw.gen_nss[k - 1], *cmd],
                                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
        for p in procs:
            out, err = p.communicate(timeout=1800)
            if p.returncode not in (0, 1):
                raise RuntimeError(f"generator: rc {p.returncode}\n{out[-2000:]}\n{err[-2000:]}")
    merged = tmp / "merged"
    r = subprocess.run([str(binary), "merge", "-o", str(merged), *[str(reports / f"generator-{k}") for k in
                                                                    range(1, n + 1)]],
                       capture_output=True, text=True, timeout=300)
    if r.returncode != 0:
        raise RuntimeError(f"merge: {r.stderr}")
    report = json.loads((merged / "report.json").read_text())
    skews = [g["generator"]["start_skew_ms"] for g in report["generators"]]
    return report["runs"][0]["summary"], skews


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--peers", type=int, default=4000)
    ap.add_argument("--generators", type=int, default=4)
    ap.add_argument("--rate", type=int, default=400, help="total arrival rate per second")
    ap.add_argument("--bin", default=str(REPO / "build" / "harness" / "cli" / "ikestorm"))
    ap.add_argument("--json")
    a = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("needs root")
    with tempfile.TemporaryDirectory(prefix="ist-bench-gen-") as d:
        tmp = Path(d)
        one = one_generator(a.bin, a.peers, a.rate, a.generators, tmp)
        many, skews = n_generators(a.bin, a.peers, a.rate, a.generators, tmp)
    ratio = many["setup_rate_per_s"] / one["setup_rate_per_s"] if one["setup_rate_per_s"] else 0
    row = {"peers": a.peers, "generators": a.generators, "rate": a.rate,
           "one": {"established": one["established"], "setups_per_s": one["setup_rate_per_s"],
                   "p99_ms": one["setup_latency_ms"]["p99"]},
           "merged": {"established": many["established"], "setups_per_s": many["setup_rate_per_s"],
                      "p99_ms": many["setup_latency_ms"]["p99"], "start_skew_ms": skews},
           "merged_over_one": round(ratio, 3)}
    print(json.dumps(row, indent=2))
    if a.json:
        Path(a.json).write_text(json.dumps(row, indent=2) + "\n")


if __name__ == "__main__":
    main()
