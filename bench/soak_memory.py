#!/usr/bin/python3
"""Harness memory over a long soak: does the harness's RSS stay flat while rekeys pile up?

One `ikestorm run` with N native peers (default 1,000) whose CHILD_SAs rekey every few
seconds (default 2 s) through a long hold, until at least --rekeys CHILD rekeys (default
1,000,000) have happened. The native peers live in the harness process, so its VmRSS is the
engine's and the tracker's memory together (--engine charon: the tracker's and the vici
event handling's only). The script samples VmRSS every --every seconds
and prints, for the hold:
  RSS in its first quarter (median) and its last quarter (median), and their ratio
  (goal: less than 10% growth after warm-up), the rekeys counted in the hold, and the curve
  as (seconds, MB) points for bench/README.md.

  sudo bench/soak_memory.py [--peers 1000] [--rekey 2s] [--rekeys 1000000] [--every 10]
                            [--bin build/harness/cli/ikestorm] [--json out.json]
Needs root. Everything ikestorm creates is named ist-<6 hex>-* and removed by the run.
A 1,000,000-rekey soak at 1,000 peers and 2 s rekeys is a ~35 minute hold.
"""
import argparse
import json
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from native_vs_charon import vm_rss_kb  # the harness's VmRSS, read the same way there

REPO = Path(__file__).resolve().parents[1]


def seconds(text):
    m = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s|m)", text)
    if not m:
        raise argparse.ArgumentTypeError(f"expected a duration like 2s or 500ms, got {text!r}")
    v, unit = float(m.group(1)), m.group(2)
    return v / 1000 if unit == "ms" else v * 60 if unit == "m" else v


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--peers", type=int, default=1000)
    ap.add_argument("--rekey", default="2s", help="CHILD rekey_time of the peers (default 2s)")
    ap.add_argument("--rekeys", type=int, default=1_000_000, help="CHILD rekeys to reach in the hold")
    ap.add_argument("--every", type=float, default=10, help="RSS sample interval, seconds")
    ap.add_argument("--engine", default="native", choices=["native", "charon"])
    ap.add_argument("--bin", default=str(REPO / "build" / "harness" / "cli" / "ikestorm"))
    ap.add_argument("--json", help="write the figures here")
    a = ap.parse_args()
    rekey_s = seconds(a.rekey)
    hold_s = int(a.rekeys / a.peers * rekey_s) + 1
    out = Path(tempfile.mkdtemp(prefix="ist-soak-")) / "out"
    argv = [a.bin, "run", "--peers", str(a.peers), "--set", f"peers.engine={a.engine}",
            "--set", "peers.arrival={rate: 500/s}",
            "--set", f"peers.child.rekey_time={a.rekey}", "--set", f"sut.child.rekey_time={a.rekey}",
            "--set", f"phases=[{{connect: {{}}}}, {{hold: {{duration: {hold_s}s}}}}, {{teardown: {{}}}}]",
            "--out", str(out)]
    print(f"soak: {a.peers} {a.engine} peers, CHILD rekey every {a.rekey}, hold {hold_s} s "
          f"(~{a.rekeys:,} CHILD rekeys); RSS every {a.every:g} s", flush=True)
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1)
    samples, phase = [], {"name": "start", "hold_at": None}
    lines = []

    def read():
        for line in p.stdout:
            lines.append(line)
            if m := re.search(r"\]\s+(\w+)\s", line):
                if m.group(1) == "hold" and phase["hold_at"] is None:
                    phase["hold_at"] = time.monotonic()
                phase["name"] = m.group(1)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    t0 = time.monotonic()
    limit = t0 + hold_s + 600
    while p.poll() is None and time.monotonic() < limit:
        rss = vm_rss_kb(p.pid)
        if rss is not None:
            samples.append((time.monotonic() - t0, phase["name"], rss / 1024))
        time.sleep(a.every)
    if p.poll() is None:
        p.terminate()  # ikestorm tears down on SIGTERM
    p.wait()
    reader.join(timeout=30)
    rep = json.loads((out / "report.json").read_text())["runs"][0]
    # The last samples labelled hold can fall into teardown and the report's writing (a
    # progress line comes every 5 s only): leave out the final two.
    hold = [(t, mb) for t, name, mb in samples if name == "hold"][:-2]
    if len(hold) < 8:
        sys.exit(f"too few samples in the hold ({len(hold)}); output:\n" + "".join(lines[-30:]))
    q = len(hold) // 4
    first = statistics.median(mb for _, mb in hold[:q])
    last = statistics.median(mb for _, mb in hold[-q:])
    s = rep["summary"]
    result = {
        "engine": a.engine, "peers": a.peers, "rekey": a.rekey, "hold_s": hold_s, "established": s["established"],
        "rekeys_in_hold": s.get("rekeys_in_hold"), "rekeys": s["rekeys"],
        "rss_first_quarter_mb": round(first, 1), "rss_last_quarter_mb": round(last, 1),
        "growth": round(last / first - 1, 4), "exit": p.returncode,
        "curve": [(round(t), round(mb, 1)) for t, mb in hold[:: max(1, len(hold) // 24)]],
    }
    print(json.dumps(result, indent=1))
    print(f"harness RSS: first quarter {first:.1f} MB, last quarter {last:.1f} MB, growth "
          f"{100 * (last / first - 1):+.1f}% (goal < 10%); CHILD rekeys in hold "
          f"{(s.get('rekeys_in_hold') or {}).get('child')}")
    if a.json:
        Path(a.json).write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
