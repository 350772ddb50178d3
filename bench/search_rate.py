#!/usr/bin/python3
"""The arrival-rate capacity search, twice: how reproducible is its frontier?

Writes a scenario of N peers (default 2,000, charon engine) that connect at the rate the
search varies and then tear down, with one expectation, `setup_latency_ms.p99 < 500`
(--p99-ms), and runs

  ikestorm search SCENARIO --vary peers.arrival.rate --from A --to B --resolution R

--rounds times (default 2), one after the other, each in its own folder. From each
search.json it takes the frontier (highest passing rate, lowest failing rate) and the
number of trials. It passes when every frontier lies strictly inside [A, B] (--from itself
passed, and some rate below --to failed) and the highest passing rates are within --spread
(default 15%) of each other: |a - b| / max(a, b). Prints one line per round (with the
machine's load average before and after it) and a last line with the verdict; --json prints the same as JSON. Exit 0 pass, 1 a check failed, 2 a search
could not run (its exit code and stderr are printed). Needs root (ikestorm run does).
Every trial is a full run of its own (ist-<runid>-* namespaces, removed by the run itself).

  sudo bench/search_rate.py                          # 2,000 peers, 50/s .. 2000/s by 25/s
  sudo bench/search_rate.py --peers 200 --from 20/s --to 800/s --resolution 20/s   # smoke
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

SCENARIO = """name: search-rate
description: >-
  bench/search_rate.py: {peers} peers ({engine} engine) connect at the rate the search
  varies, then tear down; a rate passes while the p99 setup latency stays under {p99} ms.
peers:
  count: {peers}
  engine: {engine}
  arrival: {{ rate: 100/s }}   # what the search varies
phases:
  - connect: {{}}
  - teardown: {{}}
expect:
  setup_latency_ms.p99: "< {p99}"
"""


def run_search(args, scenario, out):
    cmd = [args.bin, "search", str(scenario), "--vary", "peers.arrival.rate", "--from", args.from_,
           "--to", args.to, "--resolution", args.resolution, "--trials", str(args.trials), "--out", str(out)]
    if args.max_time:
        cmd += ["--max-time", args.max_time]
    started = time.monotonic()
    load_before = os.getloadavg()[0]
    r = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.monotonic() - started
    load_after = os.getloadavg()[0]
    search = out / "search.json"
    if not search.is_file() or r.returncode not in (0, 1):
        print(f"search exited {r.returncode}: {' '.join(cmd)}\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}", file=sys.stderr)
        return None
    s = json.loads(search.read_text())
    f = s["frontier"]
    return {
        "folder": str(out),
        "exit_code": r.returncode,
        "status": s["status"],
        "highest_pass": f["highest_pass"],
        "lowest_fail": f["lowest_fail"],
        "highest_pass_per_s": f.get("highest_pass_base"),
        "lowest_fail_per_s": f.get("lowest_fail_base"),
        "trials": len(s["trials"]),
        "verdicts": [f"{t['value']}:{t['verdict']}" for t in s["trials"]],
        "wall_s": round(wall, 1),
        # The machine's 1-minute load average as the search began and ended: the frontier
        # moves with what else runs on a shared box.
        "load_before": round(load_before, 2),
        "load_after": round(load_after, 2),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--peers", type=int, default=2000)
    ap.add_argument("--engine", default="charon", choices=["charon", "native"])
    ap.add_argument("--p99-ms", type=int, default=500)
    ap.add_argument("--from", dest="from_", default="50/s")
    ap.add_argument("--to", default="2000/s")
    ap.add_argument("--resolution", default="25/s")
    ap.add_argument("--trials", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--spread", type=float, default=0.15, help="largest relative difference of the frontiers")
    ap.add_argument("--max-time", default="", help="per search, e.g. 30m (passed to ikestorm search)")
    ap.add_argument("--bin", default=str(REPO / "build" / "harness" / "cli" / "ikestorm"))
    ap.add_argument("--out", default="", help="keep the searches here (default: a temporary folder, removed)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    tmp = None
    if args.out:
        base = Path(args.out)
        base.mkdir(parents=True, exist_ok=True)
    else:
        tmp = tempfile.TemporaryDirectory(prefix="ist-search-rate-")
        base = Path(tmp.name)
    scenario = base / "search-rate.yaml"
    scenario.write_text(SCENARIO.format(peers=args.peers, engine=args.engine, p99=args.p99_ms))

    rounds = []
    for k in range(1, args.rounds + 1):
        res = run_search(args, scenario, base / f"round-{k}")
        if res is None:
            return 2
        rounds.append(res)
        if not args.json:
            print(f"round {k}: {res['status']}, highest pass {res['highest_pass']}, lowest fail {res['lowest_fail']}, "
                  f"{res['trials']} trials, {res['wall_s']} s, load {res['load_before']} -> {res['load_after']}  "
                  f"({' '.join(res['verdicts'])})", flush=True)

    problems = []
    for k, r in enumerate(rounds, 1):
        if r["status"] != "found" or r["highest_pass_per_s"] is None:
            problems.append(f"round {k}: no passing rate (status {r['status']})")
        elif r["lowest_fail_per_s"] is None:
            problems.append(f"round {k}: --to {args.to} itself passed: the frontier is not inside the range")
    passes = [r["highest_pass_per_s"] for r in rounds if r["highest_pass_per_s"] is not None]
    spread = None
    if len(passes) == len(rounds) and passes and max(passes) > 0:
        spread = (max(passes) - min(passes)) / max(passes)
        if spread > args.spread:
            problems.append(f"frontiers {', '.join(f'{p:g}/s' for p in passes)} differ by {100 * spread:.1f}% "
                            f"(more than {100 * args.spread:g}%)")
    summary = {"peers": args.peers, "engine": args.engine, "p99_ms": args.p99_ms, "from": args.from_, "to": args.to,
               "resolution": args.resolution, "trials_per_value": args.trials, "rounds": rounds,
               "spread": None if spread is None else round(spread, 4), "ok": not problems, "problems": problems}
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        verdict = "PASS" if not problems else "FAIL: " + "; ".join(problems)
        shown = f", spread {100 * spread:.1f}%" if spread is not None else ""
        print(f"{args.peers} peers ({args.engine}), p99 < {args.p99_ms} ms over {args.from_}..{args.to} "
              f"by {args.resolution}{shown}: {verdict}")
    if tmp:
        tmp.cleanup()
    return 0 if not problems else 1


if __name__ == "__main__":
    sys.exit(main())
