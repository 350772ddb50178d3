"""`ikestorm clean` after a killed probe, dry runs, live runs and orphan namespaces.

Each test uses its own state folder (IKESTORM_STATE_DIR) and only asserts about names that
carry its own run id: other runs may share the host's namespace list meanwhile.
"""
import os
import re
import select
import signal
import subprocess
import time

import pytest


@pytest.fixture
def state_dir(tmp_path):
    d = tmp_path / "state"
    d.mkdir()
    return d


def netns_of(run_id):
    names = os.listdir("/run/netns") if os.path.isdir("/run/netns") else []
    return sorted(n for n in names if n.startswith(f"ist-{run_id}-"))


def start_paused_probe(ikestorm_bin, state_dir, seconds=60):
    """Starts `ikestorm probe` held while its scratch namespace exists; returns (proc, run id)."""
    env = dict(os.environ, IKESTORM_STATE_DIR=str(state_dir),
               IKESTORM_TEST_PAUSE_IN_PROBE=str(seconds))
    proc = subprocess.Popen([str(ikestorm_bin), "probe"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, env=env)
    deadline = time.monotonic() + 30
    line = ""
    while time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stderr], [], [], 1.0)
        if ready:
            line = proc.stderr.readline()
            if "pausing" in line or not line:
                break
    m = re.search(r"run ([0-9a-f]{6}): pausing", line)
    if not m:
        proc.kill()
        proc.wait(10)
        pytest.fail(f"probe did not pause: {line!r}")
    return proc, m.group(1)


def clean(run_ikestorm, state_dir, *args):
    return run_ikestorm("clean", *args, env={"IKESTORM_STATE_DIR": str(state_dir)}, timeout=120)


def test_clean_after_sigkilled_probe_leaves_nothing(ikestorm_bin, run_ikestorm, state_dir,
                                                    net_snapshot, needs_root):
    before = net_snapshot()
    proc, run_id = start_paused_probe(ikestorm_bin, state_dir)
    try:
        assert netns_of(run_id) == [f"ist-{run_id}-probe"]
        assert (state_dir / run_id / "resources").exists()
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    # Killed: the namespace and the journal stay behind.
    assert netns_of(run_id) == [f"ist-{run_id}-probe"]

    # Dry run, for every run and for this one: reports, removes nothing.
    dry_all = clean(run_ikestorm, state_dir, "--dry-run")
    assert dry_all.returncode == 0, dry_all.stderr
    dry = clean(run_ikestorm, state_dir, "--dry-run", "--run", run_id)
    assert dry.returncode == 0, dry.stderr
    assert f"would remove netns ist-{run_id}-probe (run {run_id})" in dry.stdout
    assert f"would remove netns ist-{run_id}-probe" in dry_all.stdout
    assert netns_of(run_id) == [f"ist-{run_id}-probe"]
    assert (state_dir / run_id).exists()

    r = clean(run_ikestorm, state_dir, "--run", run_id)
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"removed netns ist-{run_id}-probe (run {run_id})" in r.stdout
    assert f"removed state {state_dir / run_id} (run {run_id})" in r.stdout
    assert netns_of(run_id) == []
    assert not (state_dir / run_id).exists()
    assert net_snapshot().added_since(before, containing=run_id) == {}

    again = clean(run_ikestorm, state_dir, "--run", run_id)
    assert again.returncode == 0
    assert again.stdout.strip() == "nothing to clean"


def test_clean_leaves_a_live_run_alone_and_sigterm_tears_down(ikestorm_bin, run_ikestorm,
                                                              state_dir, needs_root):
    proc, run_id = start_paused_probe(ikestorm_bin, state_dir)
    try:
        r = clean(run_ikestorm, state_dir, "--run", run_id)
        assert r.returncode == 0, r.stderr
        assert f"left alone run {run_id}" in r.stdout
        assert netns_of(run_id) == [f"ist-{run_id}-probe"]
    finally:
        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(30)
    # SIGTERM ends the pause early and the probe removes what it made.
    assert rc == 128 + signal.SIGTERM
    assert netns_of(run_id) == []
    assert not (state_dir / run_id).exists()


def test_clean_removes_orphan_namespaces_without_state(run_ikestorm, state_dir, needs_root):
    run_id = os.urandom(3).hex()
    name = f"ist-{run_id}-orph"
    subprocess.run(["ip", "netns", "add", name], check=True, timeout=10)
    try:
        dry = clean(run_ikestorm, state_dir, "--dry-run", "--run", run_id)
        assert f"would remove orphan netns {name}" in dry.stdout
        assert netns_of(run_id) == [name]
        r = clean(run_ikestorm, state_dir, "--run", run_id)
        assert r.returncode == 0, r.stderr
        assert f"removed orphan netns {name} (run {run_id})" in r.stdout
        assert netns_of(run_id) == []
    finally:
        if netns_of(run_id):
            subprocess.run(["ip", "netns", "delete", name], timeout=10)


def test_clean_rejects_a_bad_run_id(run_ikestorm, state_dir):
    r = clean(run_ikestorm, state_dir, "--run", "../etc")
    assert r.returncode == 2
    assert "--run" in r.stderr
