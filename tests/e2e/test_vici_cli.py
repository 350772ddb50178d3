"""`ikestorm vici` against a live SUT: a run holds its tunnels while we ask the SUT's charon."""
import json
import subprocess
import time
from pathlib import Path


def test_vici_talks_to_a_running_sut(ikestorm_bin, run_ikestorm, needs_root, tmp_path):
    out = tmp_path / "out"
    p = subprocess.Popen([str(ikestorm_bin), "run", "--peers", "10",
                          "--set", "phases=[{connect: {}}, {hold: {duration: 60s}}]", "--out", str(out)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        sock = out / "run-1" / "sut" / "charon.vici"
        deadline = time.monotonic() + 30
        sas = []
        while time.monotonic() < deadline:
            if sock.exists():
                r = run_ikestorm("vici", "--socket", sock, "list-sas", "--json", timeout=20)
                if r.returncode == 0:
                    # Streamed commands print {"items": [...one per list-sa event...], "response": {...}}.
                    sas = json.loads(r.stdout)["items"]
                    if len(sas) >= 10:
                        break
            time.sleep(0.5)
        assert len(sas) == 10, f"list-sas gave {len(sas)} items"
        assert all(sa["sut"]["state"] == "ESTABLISHED" for sa in sas)
        r = run_ikestorm("vici", "--socket", sock, "stats", "--json", timeout=20)
        assert r.returncode == 0, r.stderr
        stats = json.loads(r.stdout)
        assert int(stats["ikesas"]["total"]) == 10
        assert "vici" in stats["plugins"]
        r = run_ikestorm("vici", "--socket", sock, "initiate", "child=nosuch", "timeout=-1", timeout=20)
        assert r.returncode == 1  # the daemon's "no" is data, and exit 1
    finally:
        p.send_signal(2)
        p.communicate(timeout=60)


def test_vici_without_a_daemon_is_a_clear_error(run_ikestorm, tmp_path):
    r = run_ikestorm("vici", "--socket", tmp_path / "nothing.vici", "version")
    assert r.returncode == 3
    assert "nothing.vici" in r.stderr
    r = run_ikestorm("vici", "--socket", tmp_path / "x.vici", "--bogus")
    assert r.returncode == 2 and "bogus" in r.stderr
