"""The Debian package (`cpack -G DEB` in the build folder, ~6 s): what it installs and
recommends, and (long) that the vm backend works from the installed paths. The package is unpacked into a
scratch root (dpkg -x) and the unpacked /usr/bin/ikestorm boots a real guest with the
unpacked /usr/lib/ikestorm/ist-vm-agent (it says which agent it used).
"""
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import ikestorm_path

AGENT = "usr/lib/ikestorm/ist-vm-agent"


@pytest.fixture(scope="module")
def deb(tmp_path_factory):
    """Builds the package from the build folder of the ikestorm under test."""
    build = ikestorm_path().resolve().parents[2]
    config = build / "CPackConfig.cmake"
    if not config.is_file():
        pytest.fail(f"no {config}: the package is made from a configured build folder")
    if shutil.which("cpack") is None or shutil.which("dpkg-deb") is None:
        pytest.fail("cpack and dpkg-deb are needed to build and read the package")
    out = tmp_path_factory.mktemp("deb")
    r = subprocess.run(["cpack", "-G", "DEB", "--config", str(config), "-B", str(out)], capture_output=True,
                       text=True, timeout=600, cwd=build)
    assert r.returncode == 0, r.stdout + r.stderr
    debs = list(out.glob("ikestorm_*.deb"))
    assert len(debs) == 1, r.stdout
    return debs[0]


def test_package_installs_the_guest_agent_and_recommends_the_vm_backend(deb):
    contents = subprocess.run(["dpkg-deb", "-c", str(deb)], capture_output=True, text=True, check=True).stdout
    files = {line.split()[-1].lstrip(".") for line in contents.splitlines()}
    for f in ["/usr/bin/ikestorm", "/" + AGENT, "/usr/share/ikestorm/scenarios/smoke.yaml"]:
        assert f in files, contents
    agent_line = next(line for line in contents.splitlines() if line.endswith(AGENT))
    assert agent_line.startswith("-rwxr-xr-x"), agent_line
    recommends = subprocess.run(["dpkg-deb", "-f", str(deb), "Recommends"], capture_output=True, text=True,
                                check=True).stdout
    names = {re.split(r"[ (]", p.strip())[0] for p in recommends.split(",")}
    assert {"qemu-system-x86", "busybox-static", "linux-image-amd64", "xz-utils"} <= names, recommends


@pytest.mark.long  # a guest boot: ~5 s with KVM, up to a minute under TCG on a loaded host
def test_unpacked_package_boots_the_guest_from_its_own_paths(deb, tmp_path, needs_root):
    root = tmp_path / "root"
    subprocess.run(["dpkg", "-x", str(deb), str(root)], check=True, timeout=120)
    agent = root / AGENT
    assert os.access(agent, os.X_OK)
    # The agent is static: it runs from the initramfs before any library is there.
    assert "statically linked" in subprocess.run(["file", "-b", str(agent)], capture_output=True, text=True).stdout
    env = {k: v for k, v in os.environ.items() if k != "IKESTORM_VM_AGENT"}
    env["IKESTORM_STATE_DIR"] = str(tmp_path / "state")
    r = subprocess.run([str(root / "usr/bin/ikestorm"), "vm", "boot", "--memory", "512", "--exec", "uname -r"],
                       capture_output=True, text=True, timeout=180, env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    assert f", agent {agent}\n" in r.stdout, r.stdout
    release = re.search(r"guest (\S+) \(", r.stdout).group(1)
    assert f"$ uname -r\n{release}\n" in r.stdout
    assert list((tmp_path / "state").iterdir()) == []
