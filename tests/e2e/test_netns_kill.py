"""SIGKILL a topology build at random moments; `ikestorm clean` must leave no trace.

Drives the netns library through ist_topology_helper (which builds and tears down the
default topology in a loop) and the real `ikestorm clean`. Needs root. Binaries come from
$IST_BUILD_DIR (default: <repo>/build), or $IKESTORM_BIN / $IST_TOPOLOGY_HELPER.
"""
import os
import random
import signal
import subprocess
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("IST_BUILD_DIR", REPO / "build"))
IKESTORM = Path(os.environ.get("IKESTORM_BIN", BUILD / "harness/cli/ikestorm"))
HELPER = Path(os.environ.get("IST_TOPOLOGY_HELPER", BUILD / "netns/ist_topology_helper"))
STATE_ROOT = Path(os.environ.get("IKESTORM_STATE_DIR", "/run/ikestorm"))
KILLS = 20


def host_snapshot() -> str:
    out = []
    for args in (["-o", "link"], ["-o", "addr"], ["rule"], ["route"], ["-6", "route"]):
        r = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=10, check=True)
        out.append("$ ip " + " ".join(args) + "\n" + r.stdout)
    return "\n".join(out)


def leftovers(run_ids):
    """Namespaces and state folders of these runs that still exist."""
    names = os.listdir("/run/netns") if os.path.isdir("/run/netns") else []
    found = [f"/run/netns/{n}" for n in names if any(n.startswith(f"ist-{r}-") for r in run_ids)]
    found += [str(STATE_ROOT / r) for r in run_ids if (STATE_ROOT / r).exists()]
    return sorted(found)


def read_run_id(proc, timeout=10.0):
    deadline = time.monotonic() + timeout
    line = ""
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if line:
            break
    assert line.startswith("run "), f"helper said {line!r}"
    return line.split()[1]


@pytest.fixture(scope="module")
def binaries():
    if os.geteuid() != 0:
        pytest.skip("needs root (network namespaces)")
    for b in (IKESTORM, HELPER):
        if not b.exists():
            pytest.fail(f"{b} is not built (set IST_BUILD_DIR)")


def test_sigkill_during_build_then_clean_leaves_nothing(binaries):
    seed = int(os.environ.get("IST_SEED", time.time_ns() % 1_000_000))
    rng = random.Random(seed)
    before = host_snapshot()
    run_ids = []
    for n in range(KILLS):
        proc = subprocess.Popen([str(HELPER), "--peers", "2000", "--cycles", "1000"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            run_ids.append(read_run_id(proc))
            # Random moments across the first few build/teardown cycles (~0.1 s each here);
            # the first kill lands right after the run's state exists.
            time.sleep(0 if n == 0 else rng.uniform(0, 0.6))
            assert proc.poll() is None, f"helper stopped early: {proc.stderr.read()}"
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=10)
            proc.stdout.close()
            proc.stderr.close()
        assert proc.returncode == -signal.SIGKILL

    left = leftovers(run_ids)
    # The kills must have hit live topologies, or this test proves nothing.
    assert any(p.startswith("/run/netns/") for p in left), f"seed {seed}: no kill left a namespace"

    # One clean per killed run: a bare `ikestorm clean` would also reap other people's
    # orphaned ist-* namespaces on a shared machine, which is not this test's business.
    log = ""
    for run_id in run_ids:
        r = subprocess.run([str(IKESTORM), "clean", "--run", run_id], capture_output=True, text=True,
                           timeout=120)
        log += r.stdout + r.stderr
        assert r.returncode == 0, f"seed {seed}: clean --run {run_id} failed\n{r.stdout}\n{r.stderr}"
    assert leftovers(run_ids) == [], f"seed {seed}: clean left\n{log}"
    assert host_snapshot() == before, f"seed {seed}: the host namespace changed"
