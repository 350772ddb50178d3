"""Files a run makes that others must not read or replace: with a --out too deep for a unix
socket path, the vici sockets (which carry the PSK) go to a private 0700 folder in the run's
state folder, never a predictable /tmp path; private keys are 0600 from the start, even
under umask 0.
"""
import json
import os
import shutil
import stat
import subprocess
import tempfile
from pathlib import Path

import pytest

SCENARIO = """\
name: file-safety
peers:
  count: 4
  auth: ecdsa
  arrival: { rate: 100/s }
phases:
  - connect: {}
  - hold: { duration: 1s }
  - teardown: {}
"""


def test_deep_out_keeps_sockets_private_and_keys_0600(ikestorm_bin, tmp_path, request, needs_root):
    (tmp_path / "s.yaml").write_text(SCENARIO)
    out = tmp_path / ("deep-" + "d" * 60) / ("deeper-" + "e" * 60)
    # A short state folder (as /run/ikestorm is): the sockets' paths must fit in 107 bytes.
    state = Path(tempfile.mkdtemp(prefix="ist-st-"))
    request.addfinalizer(lambda: shutil.rmtree(state, ignore_errors=True))
    before = set(os.listdir("/tmp"))
    r = subprocess.run([str(ikestorm_bin), "run", str(tmp_path / "s.yaml"), "--out", str(out)],
                       capture_output=True, text=True, timeout=180,
                       env=dict(os.environ, IKESTORM_STATE_DIR=str(state)), preexec_fn=lambda: os.umask(0))
    assert r.returncode == 0, r.stdout + r.stderr
    report = json.loads((out / "report.json").read_text())
    run_id = report["run_id"]
    notes = report["runs"][0]["notes"]
    want = f"vici sockets in {state}/{run_id}/sockets-run-1 "
    assert any(n.startswith(want) for n in notes), notes
    assert report["runs"][0]["summary"]["established"] == 4
    # No predictable /tmp folder of this run, and the state folder is gone after the run.
    assert not [n for n in set(os.listdir("/tmp")) - before if run_id in n]
    assert not (state / run_id).exists()
    keys = sorted((out / "run-1" / "auth" / "private").iterdir())
    assert keys, "no private keys written"
    for key in keys:
        assert stat.S_IMODE(key.stat().st_mode) == 0o600, key
