"""The vm backend's guest as an external gateway: real kernel XFRM on a kernel of its own.

GatewayHost (gateway_host.py) with the gateway host replaced by a qemu guest that
`ikestorm vm boot --hold --exec-stdin` boots (journaled by ikestorm's vm layer; its qemu
is never ours to kill):

  guest (stock kernel, ESP)      vm namespace ist-<id>-vm (ikestorm's)    generator host ist-<id>-gen
  ----------------------------   --------------------------------------   ---------------------------
  eth0 198.18.100.1/24  <------> tap ist<id>vm -- br0 -- gw0 <===veth===> eth1 198.18.100.10/24
  lo   198.18.200.1/24                                                      ikestorm runs in here
  bare charon: kernel-netlink (no kernel-libipsec), vici on tcp://198.18.100.1:4502, the same
  PSK connection as GatewayHost's, 198.19.0.0/16 routed via 198.18.100.50 (target.local)

The guest's charon is started by a shell script the holder runs in the guest (--exec) before
it holds; the script and the configs live in the test's folder under /tmp, which the guest
reads from the host (written before it boots). Commands in the held guest (`ip xfrm state`)
go through the holder's stdin. The generator host is named under the guest's run id, so a
test SIGKILLed leaves nothing `ikestorm clean --run <id>` cannot find: the holder sees its
stdin end and shuts the guest down, and the generator host is an orphan ist-<id>-* namespace.

    with VmGatewayHost(tmp_path, tmp_path / "state") as gw:
        path = gw.scenario(count=50, engine="charon")
        ...
        assert gw.guest_esp_states() == 100
"""
import os
import re
import select
import subprocess
import time

from gateway_host import CHARON, GatewayHost, _ip

READY = re.compile(r"vm: run ([0-9a-f]{6}): guest (\S+) \((kvm|tcg), qemu pid (\d+)\) ready in ([0-9.]+) s")
# Only what the kernel-netlink gateway needs: no kernel-libipsec, so its SAs are the kernel's.
KERNEL_NETLINK_LOAD = "random nonce openssl kdf pem pkcs1 x509 pubkey kernel-netlink socket-default vici"


class VmGatewayHost(GatewayHost):
    def __init__(self, workdir, ikestorm_bin, state_dir, memory_mb=512, boot_timeout=180.0, **kwargs):
        settings = dict(kwargs.pop("charon_settings", None) or {})
        settings.setdefault("load", KERNEL_NETLINK_LOAD)
        super().__init__(workdir, charon_settings=settings, **kwargs)
        self.ikestorm_bin = ikestorm_bin
        self.state_dir = state_dir
        self.memory_mb = memory_mb
        self.boot_timeout = boot_timeout
        self.holder = None
        self.run_id = None
        self.kernel_release = None
        self.accel = None
        self.boot_s = None
        self._out = ""

    @property
    def env(self):
        return dict(os.environ, IKESTORM_STATE_DIR=str(self.state_dir))

    @property
    def vm_ns(self):
        return f"ist-{self.run_id}-vm"

    # ---- the guest and the link to it -----------------------------------------------------
    def __enter__(self):
        try:
            self._write_gateway()
            self._boot()
            self._link()
            self._wait_for_vici()
        except BaseException:
            self.close()
            raise
        return self

    def _write_gateway(self):
        self.dir.mkdir(parents=True, exist_ok=True)
        self.psk_file.write_text(self.psk + "\n")
        os.chmod(self.psk_file, 0o600)
        conf = self.dir / "strongswan.conf"
        conf.write_text(self._strongswan_conf())
        self.swanctl_path.write_text(self.swanctl_text or self._swanctl_conf())
        # charon's own log stays in the guest (its /run); the run reads the gateway's log
        # events over vici.
        conf.write_text(conf.read_text().replace(f"path = {self.log_path}", "path = /run/charon.log"))
        uri = self.vici_uri
        (self.dir / "gateway.sh").write_text(
            "set -e\n"
            f"ip addr add {self.address}/24 dev eth0\n"
            "ip addr add 198.18.200.1/24 dev lo\n"  # the protected subnet (remote_ts)
            f"ip route add 198.19.0.0/16 via {self.local.split('/')[0]}\n"
            f"STRONGSWAN_CONF={conf} setsid {CHARON} </dev/null >/run/charon.out 2>&1 &\n"
            "i=0\n"
            f"until swanctl --stats --uri {uri} >/dev/null 2>&1; do\n"
            "  i=$((i+1)); if [ $i -ge 150 ]; then cat /run/charon.out; exit 1; fi; sleep 0.2\n"
            "done\n"
            f"swanctl --load-all --noprompt --file {self.swanctl_path} --uri {uri}\n")

    def _read_until(self, pattern, timeout):
        """Reads the holder's stdout until `pattern` matches; consumes up to the match."""
        fd = self.holder.stdout.fileno()
        deadline = time.monotonic() + timeout
        while True:
            m = re.search(pattern, self._out)
            if m:
                text, self._out = self._out[:m.end()], self._out[m.end():]
                return text, re.search(pattern, text)
            left = deadline - time.monotonic()
            ready = select.select([fd], [], [], max(0, min(left, 1.0)))[0]
            chunk = os.read(fd, 65536) if ready else b""
            self._out += chunk.decode(errors="replace")
            if (ready and not chunk) or left <= 0:
                raise RuntimeError(f"vm holder: no {pattern!r} within {timeout} s"
                                   f"{' (its output ended)' if ready else ''}; output:\n{self._out}"
                                   + self._stderr_tail())

    def _stderr_tail(self):
        try:
            return (self.dir / "holder.stderr").read_text()[-3000:]
        except OSError:
            return ""

    def _boot(self):
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.holder = subprocess.Popen(
            [str(self.ikestorm_bin), "vm", "boot", "--memory", str(self.memory_mb),
             "--exec", f"/bin/sh {self.dir / 'gateway.sh'}", "--hold", "--exec-stdin"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=open(self.dir / "holder.stderr", "w"),
            env=self.env)
        text, m = self._read_until(READY.pattern, self.boot_timeout)
        self.run_id, self.kernel_release, self.accel = m.group(1), m.group(2), m.group(3)
        self.boot_s = float(m.group(5))
        self.gen_nss = [f"ist-{self.run_id}-gen"]
        self.gen_ns = self.gen_nss[0]
        self._read_until(r"vm: holding[^\n]*\n", 120)

    def _link(self):
        _ip("netns", "add", self.gen_ns)
        _ip("link", "set", "lo", "up", ns=self.gen_ns)
        _ip("link", "add", "br0", "type", "bridge", ns=self.vm_ns)
        _ip("link", "set", f"ist{self.run_id}vm", "master", "br0", ns=self.vm_ns)
        _ip("link", "set", "br0", "up", ns=self.vm_ns)
        _ip("link", "add", "gw0", "type", "veth", "peer", "name", "eth1", "netns", self.gen_ns, ns=self.vm_ns)
        _ip("link", "set", "gw0", "master", "br0", "up", ns=self.vm_ns)
        _ip("addr", "add", self.generator_address, "dev", "eth1", ns=self.gen_ns)
        _ip("link", "set", "eth1", "up", ns=self.gen_ns)

    def _wait_for_vici(self):
        deadline = time.monotonic() + self.ready_timeout
        while time.monotonic() < deadline:
            if self._swanctl("--stats", check=False, timeout=10).returncode == 0:
                return
            time.sleep(0.2)
        raise RuntimeError(f"the guest gateway's vici {self.vici_uri} did not answer from {self.gen_ns} "
                           f"within {self.ready_timeout} s")

    def _swanctl(self, *args, check=True, timeout=60):
        # From the generator host, over the link the runs use.
        cmd = ["ip", "netns", "exec", self.gen_ns, "swanctl", *args, "--uri", self.vici_uri]
        return subprocess.run(cmd, check=check, capture_output=True, text=True, timeout=timeout)

    # ---- what the tests ask ---------------------------------------------------------------
    def guest_exec(self, command, timeout=90):
        """Runs a command (split at spaces) in the held guest; returns (its output, ok)."""
        self.holder.stdin.write(command.encode() + b"\n")
        self.holder.stdin.flush()
        text, m = self._read_until(r"vm: done: ([^\n]*)\n", timeout)
        return text[:m.start()], m.group(1) == "ok"

    def guest_esp_states(self):
        """ESP states in the guest kernel's XFRM (larval SPI-0 states left out)."""
        out, ok = self.guest_exec("/sbin/ip xfrm state list proto esp")
        assert ok, out
        return len([line for line in out.splitlines()
                    if "proto esp " in line and "spi 0x00000000 " not in line])

    def close(self):
        if self.holder is not None:
            # The end of stdin ends the hold: the holder shuts the guest down and removes its
            # namespace and state. A holder that does not: SIGTERM, then SIGKILL and clean.
            try:
                self.holder.stdin.close()
            except OSError:
                pass
            try:
                self.holder.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.holder.terminate()
                try:
                    self.holder.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    self.holder.kill()
                    self.holder.wait(timeout=10)
            self.holder.stdout.close()
        if self.run_id is not None:
            _ip("netns", "del", self.gen_ns, check=False, timeout=120)
            # Whatever a holder killed above left (nothing when it ended on its own).
            subprocess.run([str(self.ikestorm_bin), "clean", "--run", self.run_id],
                           env=self.env, capture_output=True, timeout=180)
