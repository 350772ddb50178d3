#!/usr/bin/python3
"""Native peer engine vs the charon fleet, against the same charon SUT, in one script.

For each peer count (default 1,000 and 5,000), one `ikestorm run` per engine with every
peer arriving at once (burst), connect, a short hold, teardown:
  setups/s   = established / (first initiate -> last CHILD_SA up), from report.json
  SUT count  = the SUT's own IKE_SA count at the end of connect (vici)
  harness RSS while all N are established (VmRSS sampled at the first progress line of the
  hold phase; the native peers live in the harness process)
Prints native/charon (goal >= 1.8x) and, with --memory, the harness memory per established
native peer with one CHILD_SA: (RSS at N - RSS at 1) / (N - 1) (goal <= 2 KB).
--memory-only runs just what that figure needs: the native engine at 1 peer and at each N
(no charon fleet, no rate comparison).

--ceiling N runs the native engine alone with N peers at --ceiling-rate arrivals/s and
reports how many CHILD_SAs were up at once (established, the SUT's count) and what stopped
the rest (the report's codes). The address plan holds 32,767 peer addresses (one CHILD_SA
each): that is the engine's ceiling on this plan. --ceiling-backend vm runs that SUT in the
qemu guest (kernel XFRM) instead of on libipsec. --family ipv6 runs every point with IPv6
peers (peers.family: ipv6, up to 131,072 addresses), so --ceiling 65536 --family ipv6 offers
65,536 native peers to one SUT; the ceiling run then also prints the harness's memory per
peer at that count, (RSS during the hold - RSS of a 1-peer run) / peers offered, and per peer
established.

  sudo bench/native_vs_charon.py [--peers 1000,5000] [--memory | --memory-only] [--ceiling 32767]
                                 [--ceiling-rate 150/s] [--ceiling-backend libipsec|vm]
                                 [--family ipv4|ipv6] [--bin build/harness/cli/ikestorm] [--json out.json]
Needs root. Everything ikestorm creates is named ist-<6 hex>-* and removed by the run.
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def vm_rss_kb(pid):
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def run_point(binary, engine, peers, out, hold_s=6, arrival=None, timeout=1800, extra=()):
    arrival = arrival or f"{{burst: {peers}}}"
    argv = [binary, "run", "--peers", str(peers), "--set", f"peers.engine={engine}",
            "--set", f"peers.arrival={arrival}",
            "--set", f"phases=[{{connect: {{}}}}, {{hold: {{duration: {hold_s}s}}}}, {{teardown: {{}}}}]",
            "--out", str(out), "--force", *extra]
    t0 = time.monotonic()
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1)
    rss_at_hold = None
    most_up = 0
    lines = []
    # SIGTERM: ikestorm stops its phases and tears down (SIGKILL would leave the SUT behind).
    timer = threading.Timer(timeout, p.terminate)
    timer.start()
    try:
        for line in p.stdout:
            lines.append(line)
            if m := re.search(r"\bup (\d+)/", line):
                most_up = max(most_up, int(m.group(1)))
            if rss_at_hold is None and re.search(r"\]\s+hold\s", line):
                rss_at_hold = vm_rss_kb(p.pid)
        p.wait()
    finally:
        timer.cancel()
    wall = time.monotonic() - t0
    if p.returncode not in (0, 1) and not (Path(out) / "report.json").exists():
        raise RuntimeError(f"ikestorm run ({engine}, {peers}) failed ({p.returncode}):\n" + "".join(lines[-30:]))
    rep = json.loads((Path(out) / "report.json").read_text())["runs"][0]
    s = rep["summary"]
    return {"engine": engine, "peers": peers, "established": s["established"], "failed": s["failed"],
            "sut_count": s.get("sut_ike_sas_at_connect_end"), "rate": s["setup_rate_per_s"],
            "p50_ms": s["setup_latency_ms"]["p50"], "p99_ms": s["setup_latency_ms"]["p99"],
            "cpu_s": s["cpu_s"], "rss_mb": s["rss_mb"], "rss_at_hold_kb": rss_at_hold, "wall_s": wall,
            "most_up_seen": most_up, "exit": p.returncode,
            "codes": rep.get("codes", {}), "notes": [n for n in rep.get("notes", []) if "engine" in n],
            "sut_ike_at_end": rep["timeseries"][-1].get("ike_active") if rep.get("timeseries") else None}


def line(r):
    return (f"{r['engine']:6s} {r['peers']:6d} peers: {r['established']} up ({r['failed']} failed, SUT count "
            f"{r['sut_count']}), {r['rate']:.0f} setups/s, p50/p99 {r['p50_ms']:.0f}/{r['p99_ms']:.0f} ms, "
            f"CPU harness {r['cpu_s']['harness']:.2f} s peers {r['cpu_s']['peers']:.2f} s SUT {r['cpu_s']['sut']:.2f} s, "
            f"harness RSS at hold {(r['rss_at_hold_kb'] or 0) / 1024:.1f} MB, SUT IKE_SAs at the end {r['sut_ike_at_end']}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--peers", default="1000,5000")
    ap.add_argument("--engines", default="native,charon")
    ap.add_argument("--memory", action="store_true", help="also the native RSS per established peer")
    ap.add_argument("--memory-only", action="store_true",
                    help="only the native RSS per established peer: native runs at 1 and N peers, no rate comparison")
    ap.add_argument("--ceiling", type=int, default=0, help="native peers for the concurrent-SA ceiling run")
    ap.add_argument("--ceiling-rate", default="1000/s")
    ap.add_argument("--ceiling-timeout", type=int, default=1200, help="seconds before the ceiling run is stopped")
    ap.add_argument("--ceiling-backend", default="libipsec", choices=["libipsec", "vm"],
                    help="the SUT backend of the ceiling run")
    ap.add_argument("--family", default="ipv4", choices=["ipv4", "ipv6"], help="peers.family of every run")
    ap.add_argument("--bin", default=os.environ.get("IKESTORM_BIN", str(REPO / "build/harness/cli/ikestorm")))
    ap.add_argument("--json", help="also write the figures to this file")
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("native_vs_charon.py: needs root")
    work = Path(tempfile.mkdtemp(prefix="ist-bench-native-"))
    results = {"rate": [], "memory": [], "ceiling": None, "family": args.family}
    family = ("--set", f"peers.family={args.family}") if args.family != "ipv4" else ()

    def run(binary, engine, peers, out, extra=(), **kw):
        return run_point(binary, engine, peers, out, extra=(*family, *extra), **kw)

    try:
        for n in (int(x) for x in args.peers.split(",") if x and not args.memory_only):
            row = {}
            for engine in args.engines.split(","):
                r = run(args.bin, engine, n, work / f"{engine}-{n}")
                row[engine] = r
                print(line(r), flush=True)
            if "native" in row and "charon" in row and row["charon"]["rate"]:
                ratio = row["native"]["rate"] / row["charon"]["rate"]
                print(f"       {n:6d} peers: native/charon setups/s = {ratio:.2f} (goal >= 1.8)", flush=True)
                row["ratio"] = ratio
            results["rate"].append(row)
        if args.memory or args.memory_only:
            base = run(args.bin, "native", 1, work / "native-mem-1")
            for n in (int(x) for x in args.peers.split(",") if x):
                r = next((row["native"] for row in results["rate"] if row.get("native", {}).get("peers") == n), None)
                if r is None:
                    r = run(args.bin, "native", n, work / f"native-mem-{n}")
                    if args.memory_only:
                        print(line(r), flush=True)
                if r["established"] == n and r["rss_at_hold_kb"] and base["rss_at_hold_kb"]:
                    per_peer = (r["rss_at_hold_kb"] - base["rss_at_hold_kb"]) * 1024 / (n - 1)
                    print(f"       native memory: RSS {base['rss_at_hold_kb'] / 1024:.1f} MB at 1 peer, "
                          f"{r['rss_at_hold_kb'] / 1024:.1f} MB at {n} -> {per_peer:.0f} bytes per established peer "
                          f"(goal <= 2048)", flush=True)
                    results["memory"].append({"peers": n, "rss_1_kb": base["rss_at_hold_kb"],
                                              "rss_n_kb": r["rss_at_hold_kb"], "bytes_per_peer": per_peer})
        if args.ceiling:
            r = run(args.bin, "native", args.ceiling, work / "ceiling", hold_s=10, arrival=f"{{rate: {args.ceiling_rate}}}",
                    timeout=args.ceiling_timeout, extra=("--backend", args.ceiling_backend))
            print(line(r), flush=True)
            print(f"       ceiling: {r['established']} CHILD_SAs up at once (SUT count {r['sut_count']}, most seen "
                  f"{r['most_up_seen']}, exit {r['exit']}); codes: "
                  + (", ".join(f"{k} {v.get('peers')}" for k, v in r["codes"].items()) or "none"), flush=True)
            base = run(args.bin, "native", 1, work / "ceiling-1", extra=("--backend", args.ceiling_backend))
            if r["rss_at_hold_kb"] and base["rss_at_hold_kb"]:
                grown = (r["rss_at_hold_kb"] - base["rss_at_hold_kb"]) * 1024
                r["bytes_per_peer_offered"] = grown / (args.ceiling - 1)
                r["bytes_per_peer_up"] = grown / max(1, r["established"] - 1)
                print(f"       ceiling memory: harness RSS {base['rss_at_hold_kb'] / 1024:.1f} MB at 1 peer, "
                      f"{r['rss_at_hold_kb'] / 1024:.1f} MB during the hold at {args.ceiling} -> "
                      f"{r['bytes_per_peer_offered']:.0f} bytes per peer offered, {r['bytes_per_peer_up']:.0f} per "
                      f"peer up (goal <= 2048)", flush=True)
            results["ceiling"] = r
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
