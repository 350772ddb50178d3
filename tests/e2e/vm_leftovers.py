"""What a vm or --in-vm run may leave behind, looked for by its run id (test_vm.py, test_in_vm.py)."""
import os
import subprocess


def qemu_pids_of(run_id: str) -> list:
    """qemu processes whose command line names this run's tap (ist<runid>vm)."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            cmd = open(f"/proc/{entry}/cmdline", "rb").read().decode(errors="replace")
        except OSError:
            continue
        if "qemu-system" in cmd and f"ist{run_id}vm" in cmd:
            pids.append(int(entry))
    return pids


def assert_nothing_left(run_id: str):
    assert qemu_pids_of(run_id) == [], "qemu of this run left behind"
    netns = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert f"ist-{run_id}" not in netns, f"namespaces of run {run_id} left:\n{netns}"
    links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
    assert f"ist{run_id}" not in links
    assert not os.path.exists(f"/run/ikestorm/{run_id}"), "run state folder left behind"
