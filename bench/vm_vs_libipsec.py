#!/usr/bin/python3
"""Setup rate of the two SUT backends on this host, in one script: `vm` (charon with
kernel-netlink in a qemu guest, real ESP states in the guest's kernel) vs `libipsec` (charon on
the host with userspace ESP).

For each backend: `ikestorm run --peers N --backend B` with the same peers, arrival and
phases (connect, teardown), then from report.json: established, setups/s (established /
first initiate -> last CHILD_SA up), setup latency p50/p99, the SUT's CPU seconds and peak RSS
(qemu's for vm), the guest kernel's ESP states (vm), and the wall time of the whole run
(the vm's includes booting the guest). Needs root.

  sudo bench/vm_vs_libipsec.py [--peers 1000] [--arrival burst|RATE/s] [--engine charon|native]
                               [--bin build/harness/cli/ikestorm] [--repeat 1]
"""
import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def run_backend(binary, backend, peers, arrival, engine, out):
    arrival_yaml = "{burst: %d}" % peers if arrival == "burst" else "{rate: %s}" % arrival
    argv = [str(binary), "run", "--backend", backend, "--peers", str(peers), "--out", str(out),
            "--set", f"peers.arrival={arrival_yaml}", "--set", f"peers.engine={engine}",
            "--set", "phases=[{connect: {}}, {teardown: {}}]",
            "--set", "expect={established_ratio: '>= 0'}"]
    t0 = time.monotonic()
    r = subprocess.run(argv, capture_output=True, text=True, timeout=900)
    wall = time.monotonic() - t0
    if r.returncode not in (0, 1):
        sys.exit(f"{backend}: ikestorm exited {r.returncode}\n{r.stdout}\n{r.stderr}")
    report = json.loads((out / "report.json").read_text())
    run = report["runs"][0]
    s = run["summary"]
    return {
        "backend": backend,
        "sut_kernel": report["host"]["sut_kernel"],
        "real_xfrm": report["real_xfrm"],
        "established": s["established"],
        "sut_count": s["sut_ike_sas_at_connect_end"],
        "xfrm_states": s.get("xfrm_states", 0),
        "rate": s["setup_rate_per_s"],
        "p50": s["setup_latency_ms"]["p50"],
        "p99": s["setup_latency_ms"]["p99"],
        "sut_cpu": s["cpu_s"]["sut"],
        "sut_rss": s["rss_mb"]["sut"],
        "wall": wall,
        "notes": [n for n in run["notes"] if n.startswith("backend vm")],
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--peers", type=int, default=1000)
    ap.add_argument("--arrival", default="burst", help="burst, or a rate such as 100/s")
    ap.add_argument("--engine", default="charon", choices=["charon", "native"])
    ap.add_argument("--bin", default=str(REPO / "build" / "harness" / "cli" / "ikestorm"))
    ap.add_argument("--repeat", type=int, default=1)
    a = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="ist-bench-vm-") as tmp:
        for k in range(a.repeat):
            for backend in ("vm", "libipsec"):
                rows.append(run_backend(a.bin, backend, a.peers, a.arrival, a.engine, Path(tmp) / f"{backend}-{k}"))
    print(f"{a.peers} peers, arrival {a.arrival}, engine {a.engine}")
    print("| backend | SUT kernel | real_xfrm | established | SUT list-sas | kernel ESP states | setups/s "
          "| latency p50 / p99 ms | SUT CPU s | SUT RSS MB | run wall s |")
    print("|---|---|:-:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['backend']} | {r['sut_kernel']} | {'yes' if r['real_xfrm'] else 'no'} | {r['established']} "
              f"| {r['sut_count']} | {r['xfrm_states'] if r['backend'] == 'vm' else '-'} | {r['rate']:.0f} "
              f"| {r['p50']:.0f} / {r['p99']:.0f} | {r['sut_cpu']:.1f} | {r['sut_rss']:.0f} | {r['wall']:.1f} |")
    for r in rows:
        for n in r["notes"]:
            print(f"  {n}")
    vm = [r["rate"] for r in rows if r["backend"] == "vm"]
    li = [r["rate"] for r in rows if r["backend"] == "libipsec"]
    if vm and li and min(li) > 0:
        print(f"vm / libipsec setups/s: {sum(vm) / len(vm) / (sum(li) / len(li)):.2f}")


if __name__ == "__main__":
    main()
