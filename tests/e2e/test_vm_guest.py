"""The vm backend's guest on its own (`ikestorm vm boot`): commands run on the guest's stock
kernel (real ESP states); a holder SIGKILLed then `ikestorm clean`, or a guest killed under
its holder, leave no qemu, tap, namespace or state. Each boot takes seconds under TCG: long.
"""
import os
import re
import select
import signal
import subprocess
import time

import pytest

from test_clean import netns_of, state_dir  # noqa: F401 (state_dir is a fixture)

pytestmark = pytest.mark.long

READY = re.compile(r"vm: run ([0-9a-f]{6}): guest (\S+) \((?:kvm|tcg), qemu pid (\d+)\) ready in")


def pid_alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False


def start_holder(ikestorm_bin, state_dir):
    """`ikestorm vm boot --hold` until it says it holds; returns (proc, run id, qemu pid)."""
    env = dict(os.environ, IKESTORM_STATE_DIR=str(state_dir))
    proc = subprocess.Popen([str(ikestorm_bin), "vm", "boot", "--memory", "512", "--hold"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    out = ""
    deadline = time.monotonic() + 120
    # Raw reads: a buffered readline() can take the "ready" and "holding" lines in one read
    # and leave the second in Python's buffer, where select() on the pipe never sees it.
    fd = proc.stdout.fileno()
    while time.monotonic() < deadline and "holding" not in out:
        ready, _, _ = select.select([fd], [], [], 1.0)
        if ready:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            out += chunk.decode(errors="replace")
    m = READY.search(out)
    if not m or "holding" not in out:
        proc.kill()
        proc.wait(10)
        if m:  # the killed holder left its guest and namespace: remove them
            subprocess.run([str(ikestorm_bin), "clean", "--run", m.group(1)], env=env, capture_output=True, timeout=120)
        pytest.fail(f"vm boot --hold did not hold: {out}{proc.stderr.read()}")
    return proc, m.group(1), int(m.group(3))


def assert_nothing_left(state_dir, run_id, qemu_pid):
    deadline = time.monotonic() + 10
    while pid_alive(qemu_pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not pid_alive(qemu_pid), "qemu still running"
    assert netns_of(run_id) == []
    assert not (state_dir / run_id).exists()
    links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
    assert f"ist{run_id}vm" not in links


def test_vm_boot_runs_commands_on_the_guest_kernel(run_ikestorm, state_dir, needs_root):
    r = run_ikestorm("vm", "boot", "--memory", "512", "--exec", "/bin/uname -r",
                     "--exec", "/sbin/ip xfrm state add src 198.18.0.1 dst 198.18.0.2 proto esp spi 0x42 "
                               "mode tunnel aead rfc4106(gcm(aes)) 0x0011223344556677889900112233445566778899 128",
                     "--exec", "/sbin/ip xfrm state count",
                     env={"IKESTORM_STATE_DIR": str(state_dir)}, timeout=180)
    assert r.returncode == 0, r.stdout + r.stderr
    m = READY.search(r.stdout)
    assert m, r.stdout
    run_id, release, qemu_pid = m.group(1), m.group(2), int(m.group(3))
    assert f"$ /bin/uname -r\n{release}\n" in r.stdout
    assert release != os.uname().release
    assert "count 1" in r.stdout
    assert_nothing_left(state_dir, run_id, qemu_pid)


def test_vm_boot_exec_failure_is_exit_1(run_ikestorm, state_dir, needs_root):
    r = run_ikestorm("vm", "boot", "--memory", "512", "--exec", "/bin/false",
                     env={"IKESTORM_STATE_DIR": str(state_dir)}, timeout=180)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "(exited with 1)" in r.stdout
    m = READY.search(r.stdout)
    assert_nothing_left(state_dir, m.group(1), int(m.group(3)))


def test_clean_after_sigkilled_vm_holder_leaves_nothing(ikestorm_bin, run_ikestorm, state_dir, needs_root):
    proc, run_id, qemu_pid = start_holder(ikestorm_bin, state_dir)
    try:
        assert netns_of(run_id) == [f"ist-{run_id}-vm"]
        journal = (state_dir / run_id / "resources").read_text()
        assert f"+ process {qemu_pid} " in journal
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    r = run_ikestorm("clean", "--run", run_id, env={"IKESTORM_STATE_DIR": str(state_dir)}, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"netns ist-{run_id}-vm" in r.stdout
    assert_nothing_left(state_dir, run_id, qemu_pid)


def test_holder_notices_a_dead_guest(ikestorm_bin, state_dir, needs_root):
    """qemu killed under its holder: no hang; exit 3 naming the end; the holder cleans up."""
    proc, run_id, qemu_pid = start_holder(ikestorm_bin, state_dir)
    try:
        os.kill(qemu_pid, signal.SIGKILL)
        rc = proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    err = proc.stderr.read()
    assert rc == 3, err
    assert "the guest ended: qemu killed by SIGKILL" in err
    assert_nothing_left(state_dir, run_id, qemu_pid)
