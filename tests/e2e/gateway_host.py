"""A gateway ikestorm did not start, on a "box" of its own, for the external-target tests.

GatewayHost builds two namespaces, both the test's own (not ikestorm's: their names do not
start with "ist-", so `ikestorm clean` leaves them alone):

  generator host  "gen-<pid>-<n>": a veth named eth1, 198.18.100.10/24, no default route.
                  ikestorm runs in here (`ip netns exec`), as it would on its own machine.
  gateway host    "gwh-<pid>-<n>": the other end (eth0, 198.18.100.1/24), a bare charon the
                  test starts itself (kernel-libipsec: this kernel has no ESP), vici on
                  tcp://198.18.100.1:4502, one PSK connection for any remote, the protected
                  subnet 198.18.200.0/24 on its loopback, and the peers' prefix 198.19.0.0/16
                  routed via 198.18.100.50 (target.local).

With generators=N > 1 there are N generator hosts "gen-<pid>-<n>-<k>" (k = 1..N), each with
its own eth1 (198.18.100.9+k/24) on a bridge in the gateway host that holds 198.18.100.1,
and the gateway routes the k-th of 2^ceil(log2 N) parts of the peers' prefixes via
generator k's local (198.18.100.49+k): one route per generator, as deploy/kubernetes says.

With swanctl_conf=TEXT the gateway loads that swanctl.conf instead of its own connection
(a real gateway config, its addresses moved onto this network by the test); private_keys=
[FILE, ...] are copied into its own swanctl folder's private/ and loaded with it.

GatewayHost6 is the same over IPv6 (peers.family: ipv6), every address in 2001:2::/48: the
generator host's eth1 2001:2:100::10/64, the gateway 2001:2:100::1/64 with vici on
tcp://[2001:2:100::1]:4502, its protected subnet 2001:2:200::/64, and the peers' prefixes
2001:2:4000::/64 (IKE) and 2001:2:4001::/64 (inner) routed via 2001:2:100::50 (target.local).
Both hosts have no DAD (addresses usable at once) and no router advertisements. One generator.

A kernel-libipsec gateway cannot route a CHILD_SA whose traffic selector is the peer's own
IKE address (it logs "can't install route ... conflicts with IKE traffic" and answers
TS_UNACCEPTABLE), so its connection takes the peers' inner addresses (198.19.128.0/17).

    with GatewayHost(tmp_path, ikesa_limit=30) as gw:
        path = gw.scenario(count=100, engine="native")
        r = gw.run_in_generator(ikestorm_bin, "run", path, "--out", tmp_path / "out")
        assert gw.list_sas_count() == ...
"""
import itertools
import os
import re
import signal
import subprocess
import time
from pathlib import Path

CHARON = "/usr/lib/ipsec/charon"
_serial = itertools.count()


def _ip(*args, ns=None, check=True, timeout=30):
    cmd = (["ip", "netns", "exec", ns] if ns else []) + ["ip", *map(str, args)]
    return subprocess.run(cmd, check=check, capture_output=True, text=True, timeout=timeout)


class GatewayHost:
    family = "ipv4"
    address = "198.18.100.1"
    prefix_len = 24  # the LAN's
    generator_address = "198.18.100.10/24"
    local = "198.18.100.50/24"
    peers = "198.19.0.0/17"
    inner = "198.19.128.0/17"
    routed = "198.19.0.0/16"  # what the gateway routes via local: peers and inner
    remote_ts = "198.18.200.0/24"
    subnet_address = "198.18.200.1/24"  # on the gateway's loopback
    nobody = "198.18.100.77"  # on the LAN, held by nobody
    vici_port = 4502
    remote_id = "gw.example.org"

    def __init__(self, workdir, ikesa_limit=None, psk="ikestorm-gateway-test-secret",
                 vici=True, charon_settings=None, ready_timeout=20.0, generators=1, swanctl_conf=None,
                 private_keys=()):
        n = next(_serial)
        self.generators = generators
        self.gen_nss = ([f"gen-{os.getpid()}-{n}"] if generators == 1
                        else [f"gen-{os.getpid()}-{n}-{k}" for k in range(1, generators + 1)])
        self.gen_ns = self.gen_nss[0]
        self.gw_ns = f"gwh-{os.getpid()}-{n}"
        self.dir = Path(workdir) / f"gateway-{n}"
        self.psk = psk
        self.ikesa_limit = ikesa_limit
        self.vici = vici
        self.charon_settings = dict(charon_settings or {})
        self.ready_timeout = ready_timeout
        self.charon = None
        self.swanctl_text = swanctl_conf  # the gateway's swanctl.conf instead of the one below
        self.private_keys = list(private_keys)  # key files its certs need (swanctl's private/)

    # ---- the two hosts -------------------------------------------------------------------
    def __enter__(self):
        try:
            self._build()
            self._start_charon()
            self._load_connection()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc):
        self.close()

    @property
    def vici_uri(self):
        host = f"[{self.address}]" if ":" in self.address else self.address
        return f"tcp://{host}:{self.vici_port}"

    @property
    def psk_file(self) -> Path:
        return self.dir / "gw.psk"

    @property
    def swanctl_path(self) -> Path:
        """The swanctl.conf the gateway's charon loaded."""
        return self.dir / "swanctl.conf"

    @property
    def log_path(self) -> Path:
        return self.dir / "charon.log"

    def generator_local(self, k: int) -> str:
        """Generator k's (1-based) target.local."""
        return f"198.18.100.{49 + k}/24"

    def generator_parts(self, k: int):
        """Generator k's parts of the peers' and inner prefixes (as --generator k/N cuts them)."""
        bits = (self.generators - 1).bit_length()
        size = 2 ** (15 - bits)  # addresses per part of a /17
        return [f"198.19.{base + (k - 1) * size // 256}.0/{17 + bits}" for base in (0, 128)]

    def _build(self):
        self.dir.mkdir(parents=True, exist_ok=True)
        self.psk_file.write_text(self.psk + "\n")
        os.chmod(self.psk_file, 0o600)
        for ns in (*self.gen_nss, self.gw_ns):
            _ip("netns", "add", ns)
            _ip("link", "set", "lo", "up", ns=ns)
            self._prepare(ns)
        # The gateway's protected subnet.
        _ip("addr", "add", self.subnet_address, "dev", "lo", *self._addr_flags, ns=self.gw_ns)  # (no dummy module)
        if self.generators == 1:
            _ip("link", "add", "eth0", "type", "veth", "peer", "name", "eth1", "netns", self.gen_ns, ns=self.gw_ns)
            _ip("addr", "add", f"{self.address}/{self.prefix_len}", "dev", "eth0", *self._addr_flags, ns=self.gw_ns)
            _ip("link", "set", "eth0", "up", ns=self.gw_ns)
            _ip("addr", "add", self.generator_address, "dev", "eth1", *self._addr_flags, ns=self.gen_ns)
            _ip("link", "set", "eth1", "up", ns=self.gen_ns)
            # The route back to the peers' prefix via local.
            _ip("route", "add", self.routed, "via", self.local.split("/")[0], ns=self.gw_ns)
            return
        if self.family != "ipv4":
            raise ValueError("several generator hosts: IPv4 only")
        # Several generator hosts on one LAN: a bridge in the gateway host.
        _ip("link", "add", "br0", "type", "bridge", ns=self.gw_ns)
        _ip("addr", "add", f"{self.address}/24", "dev", "br0", ns=self.gw_ns)
        _ip("link", "set", "br0", "up", ns=self.gw_ns)
        for k, ns in enumerate(self.gen_nss, start=1):
            _ip("link", "add", f"eth0g{k}", "type", "veth", "peer", "name", "eth1", "netns", ns, ns=self.gw_ns)
            _ip("link", "set", f"eth0g{k}", "master", "br0", "up", ns=self.gw_ns)
            _ip("addr", "add", f"198.18.100.{9 + k}/24", "dev", "eth1", ns=ns)
            _ip("link", "set", "eth1", "up", ns=ns)
            for part in self.generator_parts(k):
                _ip("route", "add", part, "via", self.generator_local(k).split("/")[0], ns=self.gw_ns)

    _addr_flags = ()  # `ip addr add` flags

    def _prepare(self, ns):
        """What a fresh host namespace needs before its links exist (IPv6: no DAD, no RAs)."""

    def _strongswan_conf(self) -> str:
        settings = {
            "load": "random nonce openssl kdf pem pkcs1 x509 pubkey kernel-libipsec kernel-netlink "
                    "socket-default vici",
            "install_virtual_ip": "no",
        }
        if self.ikesa_limit is not None:
            settings["ikesa_limit"] = str(self.ikesa_limit)
        settings.update(self.charon_settings)
        # Dotted keys ("plugins.kernel-netlink.roam_events") become nested sections:
        # strongswan.conf has no dotted names, only sections.
        tree = {}
        for key, value in settings.items():
            node = tree
            *sections, leaf = key.split(".")
            for name in sections:
                node = node.setdefault(name, {})
            node[leaf] = value
        plugins = tree.setdefault("plugins", {})
        # vici on TCP is also how the test itself loads the connection; without `vici` the
        # gateway still gets one on a unix socket in its private /run, for the test alone.
        plugins.setdefault("vici", {})["socket"] = self.vici_uri if self.vici else "unix:///run/charon.vici"
        tree["filelog"] = {"gw": {"path": str(self.log_path), "time_format": "%b %e %T", "default": "1",
                                  "flush_line": "yes"}}

        def section(node, indent):
            pad = "  " * indent
            return "".join(f"{pad}{k} {{\n{section(v, indent + 1)}{pad}}}\n" if isinstance(v, dict)
                           else f"{pad}{k} = {v}\n" for k, v in node.items())
        return "charon {\n" + section(tree, 1) + "}\n"

    def _swanctl_conf(self) -> str:
        return ("connections {\n  rw {\n    version = 2\n"
                f"    local_addrs = {self.address}\n"
                f"    local {{\n      auth = psk\n      id = {self.remote_id}\n    }}\n"
                "    remote {\n      auth = psk\n    }\n"
                "    children {\n      net {\n"
                f"        local_ts = {self.remote_ts}\n        remote_ts = {self.inner}\n"
                "      }\n    }\n  }\n}\n"
                f"secrets {{\n  ike-peers {{\n    secret = \"{self.psk}\"\n  }}\n}}\n")

    def _start_charon(self):
        conf = self.dir / "strongswan.conf"
        conf.write_text(self._strongswan_conf())
        (self.dir / "swanctl.conf").write_text(self.swanctl_text or self._swanctl_conf())
        if self.private_keys:
            (self.dir / "private").mkdir(exist_ok=True)
            for key in self.private_keys:
                (self.dir / "private" / Path(key).name).write_bytes(Path(key).read_bytes())
        env = dict(os.environ, STRONGSWAN_CONF=str(conf))
        # A private /run: charon's pid file (and a unix vici socket) stay out of the host's.
        # `ip netns exec` and unshare exec in place, so the pid is charon's own.
        self.charon = subprocess.Popen(
            ["ip", "netns", "exec", self.gw_ns, "unshare", "--mount", "--propagation", "private",
             "sh", "-c", "mount -t tmpfs tmpfs /run && exec " + CHARON],
            env=env, stdout=subprocess.DEVNULL, stderr=open(self.dir / "charon.stderr", "w"))
        deadline = time.monotonic() + self.ready_timeout
        while time.monotonic() < deadline:
            if self.charon.poll() is not None:
                raise RuntimeError(f"gateway charon exited with {self.charon.returncode}: "
                                   + (self.dir / "charon.stderr").read_text()[-2000:])
            if self._swanctl("--stats", check=False).returncode == 0:
                return
            time.sleep(0.2)
        raise RuntimeError(f"gateway charon did not answer vici within {self.ready_timeout} s")

    def _swanctl(self, *args, check=True, timeout=60):
        if self.vici:
            cmd = ["ip", "netns", "exec", self.gw_ns, "swanctl", *args, "--uri", self.vici_uri]
        else:
            # The unix socket lives in charon's private /run: enter its mount namespace.
            cmd = ["nsenter", "-t", str(self.charon.pid), "-m", "-n", "swanctl", *args]
        # With private keys, swanctl's credential folders are the gateway's own (SWANCTL_DIR).
        env = dict(os.environ, SWANCTL_DIR=str(self.dir)) if self.private_keys else None
        return subprocess.run(cmd, check=check, capture_output=True, text=True, timeout=timeout, env=env)

    def _load_connection(self):
        self._swanctl("--load-all", "--noprompt", "--file", str(self.dir / "swanctl.conf"))

    # ---- what the tests ask ---------------------------------------------------------------
    def list_sas_count(self) -> int:
        """Established IKE_SAs in the gateway's own view (swanctl --list-sas)."""
        out = self._swanctl("--list-sas", "--raw", timeout=120).stdout
        # IKE_SAs are ESTABLISHED; their CHILD_SAs are INSTALLED.
        return len(re.findall(r"\bstate=ESTABLISHED\b", out))

    def stats(self) -> str:
        return self._swanctl("--stats").stdout

    def scenario(self, count=100, engine="charon", vici=None, psk_file=None, extra="") -> Path:
        """A target scenario file for this gateway; `extra` is YAML appended as written."""
        vici = self.vici if vici is None else vici
        text = (f"name: target-{engine}-{count}\n"
                "peers:\n"
                + (f"  family: {self.family}\n" if self.family != "ipv4" else "")
                + f"  count: {count}\n  engine: {engine}\n"
                f"  psk_file: {psk_file or self.psk_file}\n"
                f"  remote_id: {self.remote_id}\n"
                f"  remote_ts: [{self.remote_ts}]\n"
                "target:\n"
                f"  address: {self.address}\n  interface: eth1\n  local: {self.local}\n"
                f"  peers: {self.peers}\n  inner: {self.inner}\n"
                + (f"  vici: {self.vici_uri}\n" if vici else "")
                + extra)
        path = self.dir / f"target-{engine}-{count}-{next(_serial)}.yaml"
        path.write_text(text)
        return path

    def run_in_generator(self, ikestorm_bin, *args, timeout=300, env=None, generator=1):
        """`ikestorm ARGS` inside generator host `generator`, as a user would run it on that box."""
        full_env = dict(os.environ)
        full_env.update(env or {})
        return subprocess.run(["ip", "netns", "exec", self.gen_nss[generator - 1], str(ikestorm_bin), *map(str, args)],
                              capture_output=True, text=True, timeout=timeout, env=full_env)

    def close(self):
        if self.charon is not None and self.charon.poll() is None:
            self.charon.send_signal(signal.SIGTERM)
            try:
                self.charon.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.charon.kill()
                self.charon.wait(timeout=10)
        # Every namespace is deleted, however slow a loaded machine makes one deletion.
        for ns in (*self.gen_nss, self.gw_ns):
            try:
                _ip("netns", "del", ns, check=False, timeout=120)
            except subprocess.TimeoutExpired:
                _ip("netns", "del", ns, check=False, timeout=120)


class GatewayHost6(GatewayHost):
    """GatewayHost over IPv6 (module docstring): a target with peers.family: ipv6."""
    family = "ipv6"
    address = "2001:2:100::1"
    prefix_len = 64
    generator_address = "2001:2:100::10/64"
    local = "2001:2:100::50/64"
    peers = "2001:2:4000::/64"
    inner = "2001:2:4001::/64"
    routed = "2001:2:4000::/63"
    remote_ts = "2001:2:200::/64"
    subnet_address = "2001:2:200::1/64"
    nobody = "2001:2:100::77"
    _addr_flags = ("nodad",)

    def _prepare(self, ns):
        for key, value in (("net.ipv6.conf.all.disable_ipv6", "0"), ("net.ipv6.conf.default.disable_ipv6", "0"),
                           ("net.ipv6.conf.all.accept_dad", "0"), ("net.ipv6.conf.default.accept_dad", "0"),
                           ("net.ipv6.conf.all.accept_ra", "0"), ("net.ipv6.conf.default.accept_ra", "0")):
            subprocess.run(["ip", "netns", "exec", ns, "sysctl", "-qw", f"{key}={value}"], check=True,
                           capture_output=True, timeout=30)
