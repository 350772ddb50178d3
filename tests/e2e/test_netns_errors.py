"""Without the privileges to build namespaces, the topology helper says so in one sentence.

Runs ist_topology_helper (the netns library's Topology::build) as an unprivileged user and as
root without CAP_NET_ADMIN. Binaries come from $IST_BUILD_DIR (default: <repo>/build) or
$IST_TOPOLOGY_HELPER.
"""
import os
import subprocess
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("IST_BUILD_DIR", REPO / "build"))
HELPER = Path(os.environ.get("IST_TOPOLOGY_HELPER", BUILD / "netns/ist_topology_helper"))
SENTENCE = ("building network namespaces needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN); "
            "run ikestorm as root, e.g. with sudo")


@pytest.fixture()
def helper():
    if os.geteuid() != 0:
        pytest.skip("needs root to drop privileges from")
    if not HELPER.exists():
        pytest.fail(f"{HELPER} is not built (set IST_BUILD_DIR)")
    return HELPER


@pytest.mark.parametrize("drop", [
    ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"],   # an ordinary user
    ["setpriv", "--bounding-set=-net_admin", "--inh-caps=-net_admin"],  # root minus NET_ADMIN
    ["setpriv", "--bounding-set=-sys_admin", "--inh-caps=-sys_admin"],  # root minus SYS_ADMIN
], ids=["nobody", "no-net-admin", "no-sys-admin"])
def test_missing_privileges_give_one_clear_sentence(helper, drop):
    with tempfile.TemporaryDirectory() as state:
        os.chmod(state, 0o777)  # the unprivileged user must be able to write its run state
        env = dict(os.environ, IKESTORM_STATE_DIR=state)
        r = subprocess.run([*drop, str(helper), "--peers", "10"], capture_output=True, text=True,
                           timeout=30, env=env)
        assert r.returncode == 1, r.stderr
        lines = r.stderr.strip().splitlines()
        assert lines == [f"ist_topology_helper: {SENTENCE}"], r.stderr
        # Nothing was journaled, so nothing is left for clean: the state folder is gone.
        assert os.listdir(state) == []


def test_bad_arguments_exit_2(helper):
    r = subprocess.run([str(helper), "--peers", "many"], capture_output=True, text=True, timeout=10)
    assert r.returncode == 2
    assert "usage:" in r.stderr
