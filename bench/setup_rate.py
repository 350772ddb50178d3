#!/usr/bin/python3
"""Setup rate: ikestorm vs. two bare charons configured by hand, in one run.

For each peer count (default 1,000 and 5,000):
  1. ikestorm run --peers N with every peer arriving at once (burst), default settings;
     setups/s = established / (first initiate -> last CHILD_SA up), from report.json.
  2. The baseline: the same topology built with `ip`, one SUT charon and ONE initiator
     charon started by hand (kernel-libipsec, the same plugin list and tuning as the
     harness's SUT: the hand-built baseline in docs/design.md), every conn with start_action=start, so
     charon initiates them itself as it loads them. setups/s from the initiator's filelog:
     N / (first "initiating IKE_SA" -> last "CHILD_SA ... established").
Prints the ratio harness/baseline (goal >= 0.9) and, for the largest run, the harness
process's CPU as a share of all CPU the run used (goal <= 5%). Needs root. Everything it
creates is named ist-<6 hex>-* and removed at the end.

  sudo bench/setup_rate.py [--peers 1000,5000] [--bin build/harness/cli/ikestorm]
"""
import argparse
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CHARON = "/usr/lib/ipsec/charon"
PLUGINS = "random nonce openssl kdf pem pkcs1 x509 pubkey kernel-libipsec kernel-netlink socket-default vici"
TS_RE = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3})")


def sh(*argv, check=True, **kw):
    return subprocess.run(list(argv), check=check, capture_output=True, text=True, **kw)


def peer_ike(i):
    n = 1 + i
    return f"198.19.{n >> 8}.{n & 255}"


def peer_inner(i):
    n = 1 + i
    return f"198.19.{128 + (n >> 8)}.{n & 255}"


def log_time(line):
    m = TS_RE.match(line)
    return datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S.%f").timestamp() if m else None


def conf(path, vici, log, role_limits=""):
    Path(path).write_text(f"""charon {{
  load_modular = no
  load = {PLUGINS}
  ikesa_table_size = 4096
  ikesa_table_segments = 16
  reuse_ikesa = no
  cookie_threshold = 0
  threads = 32
  {role_limits}
  plugins {{ vici {{ socket = unix://{vici} }} kernel-netlink {{ roam_events = no }} }}
  filelog {{ bench {{ path = {log}
    time_format = %Y-%m-%dT%H:%M:%S
    time_add_ms = yes
    default = 0
    ike = 1
    flush_line = no }} }}
}}
""")


class Baseline:
    """Two charons in two namespaces, configured by hand (no ikestorm code involved)."""

    def __init__(self, peers, work):
        self.peers = peers
        self.work = Path(work)
        self.id = secrets.token_hex(3)
        self.sut_ns, self.peer_ns = f"ist-{self.id}-sut", f"ist-{self.id}-peers"
        self.procs = []

    def build(self):
        sh("ip", "netns", "add", self.sut_ns)
        sh("ip", "netns", "add", self.peer_ns)
        a, b = f"ist{self.id}a", f"ist{self.id}b"
        # Created inside the SUT namespace, peer end born in the peers namespace.
        sh("ip", "-n", self.sut_ns, "link", "add", a, "type", "veth", "peer", "name", b, "netns", self.peer_ns)
        batch_sut = [f"link set lo up", f"link set {a} up", f"addr add 198.18.0.1/30 dev {a}",
                     "addr add 198.18.255.1/32 dev lo", "route add 198.19.0.0/16 via 198.18.0.2"]
        batch_peer = ["link set lo up", f"link set {b} up", f"addr add 198.18.0.2/30 dev {b}",
                      "route add 198.18.0.0/16 via 198.18.0.1"]
        for i in range(self.peers):
            batch_peer.append(f"addr add {peer_ike(i)}/32 dev lo")
            batch_peer.append(f"addr add {peer_inner(i)}/32 dev lo")
        for ns, batch in ((self.sut_ns, batch_sut), (self.peer_ns, batch_peer)):
            f = self.work / f"{ns}.batch"
            f.write_text("\n".join(batch) + "\n")
            sh("ip", "-n", ns, "-batch", str(f))
            for k, v in (("net.core.rmem_max", "8388608"), ("net.core.rmem_default", "4194304"),
                         ("net.ipv4.conf.all.rp_filter", "0")):
                sh("ip", "netns", "exec", ns, "sysctl", "-qw", f"{k}={v}", check=False)

    def start(self, name, ns):
        d = self.work / name
        (d / "run").mkdir(parents=True)
        vici, log = d / "charon.vici", d / "charon.log"
        conf(d / "strongswan.conf", vici, log)
        p = subprocess.Popen(["ip", "netns", "exec", ns, "unshare", "-m", "--propagation", "private", "sh", "-c",
                              f"mount --bind {d}/run /run && exec env STRONGSWAN_CONF={d}/strongswan.conf {CHARON}"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        self.procs.append(p)
        for _ in range(200):
            if vici.exists() and sh("swanctl", "--version", "--uri", f"unix://{vici}", check=False).returncode == 0:
                return d, vici, log
            time.sleep(0.05)
        raise RuntimeError(f"{name} charon did not come up")

    def run(self):
        psk = secrets.token_hex(16)
        sut_dir, sut_vici, _ = self.start("sut", self.sut_ns)
        (sut_dir / "swanctl.conf").write_text(f"""connections {{ sut {{
  version = 2
  local_addrs = 198.18.0.1
  remote_addrs = 198.19.0.0/17
  proposals = aes128-sha256-x25519
  rekey_time = 8h
  encap = no
  mobike = no
  unique = no
  local {{ auth = psk
    id = sut.bench }}
  remote {{ auth = psk
    id = %any }}
  children {{ net {{ local_ts = 198.18.255.0/24
      remote_ts = 198.19.128.0/17
      esp_proposals = aes128gcm16
      rekey_time = 1h }} }} }} }}
secrets {{ ike-all {{ secret = {psk} }} }}
""")
        sh("swanctl", "--load-all", "--uri", f"unix://{sut_vici}", "--file", str(sut_dir / "swanctl.conf"))
        ini_dir, ini_vici, ini_log = self.start("initiator", self.peer_ns)
        conns = []
        for i in range(self.peers):
            conns.append(f"""p{i} {{ version = 2
  local_addrs = {peer_ike(i)}
  remote_addrs = 198.18.0.1
  proposals = aes128-sha256-x25519
  rekey_time = 8h
  encap = no
  mobike = no
  local {{ auth = psk
    id = peer-{i}.bench }}
  remote {{ auth = psk
    id = sut.bench }}
  children {{ net {{ local_ts = {peer_inner(i)}/32
      remote_ts = 198.18.255.0/24
      esp_proposals = aes128gcm16
      rekey_time = 1h
      start_action = start }} }} }}""")
        (ini_dir / "swanctl.conf").write_text("connections {\n" + "\n".join(conns) +
                                              f"\n}}\nsecrets {{ ike-all {{ secret = {psk} }} }}\n")
        sh("swanctl", "--load-all", "--uri", f"unix://{ini_vici}", "--file", str(ini_dir / "swanctl.conf"),
           timeout=600)
        deadline = time.monotonic() + 60 + self.peers / 20
        up = 0
        while time.monotonic() < deadline:
            text = ini_log.read_text(errors="replace") if ini_log.exists() else ""
            up = text.count("] CHILD_SA net{")
            if up >= self.peers:
                break
            time.sleep(1)
        text = ini_log.read_text(errors="replace")
        starts = [log_time(l) for l in text.splitlines() if "initiating IKE_SA" in l]
        ends = [log_time(l) for l in text.splitlines() if "CHILD_SA net{" in l and "established" in l]
        starts, ends = [t for t in starts if t], [t for t in ends if t]
        cpu = {}
        for p, name in zip(self.procs, ("sut", "initiator")):
            cpu[name] = proc_cpu_of_child(p.pid)
        return {"established": len(ends), "rate": len(ends) / (max(ends) - min(starts)) if ends else 0,
                "window_s": (max(ends) - min(starts)) if ends else None, "cpu": cpu}

    def teardown(self):
        for p in self.procs:
            # The charon pid is the exec'd `sh -c` child of `ip netns exec`; signal the group we made.
            try:
                os.killpg(p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        for p in self.procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
        for ns in (self.sut_ns, self.peer_ns):
            sh("ip", "netns", "del", ns, check=False)


def proc_cpu_of_child(pid):
    """utime+stime (s) of the charon under `ip netns exec` (same pid after the execs)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError):
        return None


def run_harness(binary, peers, out):
    t0 = time.monotonic()
    r = subprocess.run([binary, "run", "--peers", str(peers), "--set", f"peers.arrival={{burst: {peers}}}",
                        "--set", "phases=[{connect: {}}, {teardown: {}}]", "--out", out, "--force"],
                       capture_output=True, text=True, timeout=900)
    wall = time.monotonic() - t0
    if r.returncode not in (0, 1):
        raise RuntimeError(f"ikestorm run failed ({r.returncode}):\n{r.stdout}\n{r.stderr}")
    s = json.loads((Path(out) / "report.json").read_text())["runs"][0]["summary"]
    return {"established": s["established"], "rate": s["setup_rate_per_s"], "cpu": s["cpu_s"], "wall_s": wall,
            "p99_ms": s["setup_latency_ms"]["p99"]}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--peers", default="1000,5000")
    ap.add_argument("--bin", default=os.environ.get("IKESTORM_BIN", str(REPO / "build/harness/cli/ikestorm")))
    ap.add_argument("--json", help="also write the figures to this file")
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("setup_rate.py: needs root")
    results = []
    for n in (int(x) for x in args.peers.split(",")):
        work = tempfile.mkdtemp(prefix="ist-bench-")
        try:
            h = run_harness(args.bin, n, f"{work}/harness")
            b = Baseline(n, work)
            try:
                b.build()
                base = b.run()
            finally:
                b.teardown()
        finally:
            shutil.rmtree(work, ignore_errors=True)
        ratio = h["rate"] / base["rate"] if base["rate"] else float("nan")
        cpu_all = sum(h["cpu"].values())
        share = h["cpu"]["harness"] / cpu_all if cpu_all else float("nan")
        row = {"peers": n, "harness": h, "baseline": base, "ratio": ratio, "harness_cpu_share": share}
        results.append(row)
        print(f"{n:6d} peers: ikestorm {h['established']} up, {h['rate']:.0f}/s (p99 {h['p99_ms']:.0f} ms);"
              f" baseline {base['established']} up, {base['rate']:.0f}/s; ratio {ratio:.2f};"
              f" harness CPU {h['cpu']['harness']:.2f} s of {cpu_all:.2f} s ({100 * share:.1f}%)", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
