"""The examples that `--help` prints are run as printed, so they cannot rot.

Every example of `ikestorm vm boot --help` boots a real guest (qemu with the stock kernel);
the cheap, self-contained examples of other commands (codes, probe, validate, clean
--dry-run) run as well. Examples read from the help text itself: a new example in one of
those commands is run without editing this file. Examples that need inputs a test does not
have (a charon log, a running charon, a report folder) are not run here; their commands are
tested elsewhere (test_classify.py, test_vici_cli.py, test_reports.py, ...).
"""
import os
import re
import shlex
import signal
import subprocess
import time

import pytest

from conftest import REPO, ikestorm_path

# Commands whose every example is run, and the one example of `clean` that is self-contained.
RUN_ALL = ["codes", "probe", "validate", "vm"]
RUN_ONLY = {"clean": ["ikestorm clean --dry-run"]}


def help_examples(command):
    """The example lines ("  ikestorm ...") of `ikestorm <command> --help`, comments dropped
    and backslash continuations joined."""
    out = subprocess.run([str(ikestorm_path()), command, "--help"], capture_output=True, text=True,
                         timeout=30).stdout
    out = out.replace("\\\n", " ")
    examples = []
    for line in out.splitlines():
        if not line.startswith("  ikestorm "):
            continue
        examples.append(re.sub(r"\s+#.*$", "", line).strip())
    return examples


def cases():
    out = []
    for command in RUN_ALL:
        out += help_examples(command)
    for command, wanted in RUN_ONLY.items():
        listed = help_examples(command)
        out += [e for e in wanted if e in listed]
    return out


def test_the_examples_are_found():
    """The parser sees the examples (an empty list would make the test below vacuous)."""
    examples = cases()
    assert "ikestorm vm boot --exec 'uname -r' --exec 'ip xfrm state count'" in examples
    assert "ikestorm vm boot --hold" in examples
    assert "ikestorm clean --dry-run" in examples
    assert sum(e.startswith("ikestorm codes ") for e in examples) >= 3
    assert sum(e.startswith("ikestorm validate ") for e in examples) >= 2


def run_example(example, env, timeout):
    """Runs the example as printed: through a shell when it pipes, else split like a shell."""
    args = example.split(" ", 1)[1]
    if "|" in example:
        return subprocess.run(f"{shlex.quote(str(ikestorm_path()))} {args}", shell=True, capture_output=True,
                              text=True, timeout=timeout, env=env, cwd=REPO, executable="/bin/bash")
    return subprocess.run([str(ikestorm_path()), *shlex.split(args)], capture_output=True, text=True,
                          timeout=timeout, env=env, cwd=REPO)


def run_holding(example, env, timeout):
    """`--hold` waits for a signal: send SIGTERM once it says it holds; it must end cleanly."""
    proc = subprocess.Popen([str(ikestorm_path()), *shlex.split(example.split(" ", 1)[1])], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, cwd=REPO)
    out = ""
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline and "holding" not in out:
            line = proc.stdout.readline()
            if not line:
                break
            out += line
        assert "holding" in out, out + proc.stderr.read()
        proc.send_signal(signal.SIGTERM)
        rest, err = proc.communicate(timeout=60)
        return subprocess.CompletedProcess(proc.args, proc.returncode, out + rest, err)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def marked(example):
    """A guest boot takes seconds (a minute under TCG on a loaded host): `--hold` is long,
    like tests/e2e/test_vm_guest.py. The --exec example stays in the default set: it is the
    one that shows guest commands are looked up on PATH."""
    return pytest.param(example, marks=pytest.mark.long) if "--hold" in example else example


@pytest.mark.parametrize("example", [marked(e) for e in cases()])
def test_help_example_succeeds(example, tmp_path, needs_root):
    env = dict(os.environ, IKESTORM_STATE_DIR=str(tmp_path / "state"))
    if "--hold" in example:
        r = run_holding(example, env, timeout=180)
    else:
        r = run_example(example, env, timeout=180)
    assert r.returncode == 0, f"{example}\nexit {r.returncode}\n{r.stdout}\n{r.stderr}"
    if example.startswith("ikestorm vm boot --exec"):
        # Each --exec ran in the guest: its output follows its "$ cmd" line, no exec error.
        assert "$ uname -r\n" in r.stdout and "$ ip xfrm state count\n" in r.stdout, r.stdout
        assert "No such file or directory" not in r.stdout + r.stderr
        assert re.search(r"\$ ip xfrm state count\n.*count \d+", r.stdout), r.stdout
    # Nothing of the run is left: no namespace, no state folder with a run in it.
    state = tmp_path / "state"
    leftovers = [p.name for p in state.iterdir()] if state.exists() else []
    assert leftovers == [], leftovers
