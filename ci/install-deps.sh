#!/usr/bin/env bash
# Installs every Debian 12 package that building, testing and running ikestorm need.
# Idempotent: apt-get skips what is already there. Run as root.
set -euo pipefail

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps.sh: run as root (it calls apt-get)" >&2
  exit 2
fi

export DEBIAN_FRONTEND=noninteractive

packages=(
  # build
  build-essential cmake pkg-config git
  libnl-3-dev libnl-route-3-dev libnl-xfrm-3-dev libnftables-dev
  libboost-program-options-dev libyaml-cpp-dev nlohmann-json3-dev libssl-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  clang libclang-rt-14-dev
  # system under test and its peers
  strongswan-charon strongswan-swanctl libcharon-extra-plugins libcharon-extauth-plugins
  libstrongswan-standard-plugins libstrongswan-extra-plugins
  # network plumbing used by tests and by `probe`
  iproute2 nftables procps util-linux kmod
  # tests
  python3 python3-pytest python3-yaml python3-jsonschema jq universal-ctags
  # diagnostics: backtraces of a hung peer daemon (harness-fault note)
  gdb
  # vm backend (issue 10) and HTML report checks
  qemu-system-x86 busybox-static linux-image-amd64 xz-utils chromium
)

# Only touch apt when something is missing: keeps repeated runs fast.
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ "${#missing[@]}" -gt 0 ]; then
  echo "install-deps.sh: installing ${#missing[@]} package(s): ${missing[*]}"
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# Debian enables the system charon as a service on install; the harness starts its own
# charons in private namespaces and must never share a vici socket with a system one.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet strongswan-starter 2>/dev/null; then
  systemctl stop strongswan-starter || true
fi
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet strongswan 2>/dev/null; then
  systemctl stop strongswan || true
fi
echo "install-deps.sh: all dependencies present"
