#!/usr/bin/env bash
# Installs every tool a test or a benchmark of this repository uses, from Debian's packages. build.ps1 runs it
# before Test, SlowTest and Bench; tests never install anything themselves, they fail naming this script.
# Idempotent: a package already installed is left alone, and with nothing missing apt is not touched at all.
# Waits for another apt or dpkg holding the lock, and runs `apt-get update` when the package lists are missing
# (a fresh machine) or an install fails on stale lists.
set -euo pipefail

# One line per package: what needs it.
packages=(
    binutils         # as/ld for the probe guests, readelf as the reference for ELF inspection
    gcc              # the benchmark's C floor VMM, kvm.h layout checks, and the linker of the NativeAOT host (no clang here)
    zlib1g-dev       # -lz for the NativeAOT link of pvhvm-host (build.ps1 publishes it into the module folder)
    libc6-dev        # headers and crt files for those C programs (linux/kvm.h comes with linux-libc-dev)
    linux-libc-dev
    gzip bzip2 xz-utils lzop lz4 zstd   # every kernel payload compression, built the way kbuild does
    acpica-tools     # iasl disassembles our ACPI tables as ACPICA (Linux's parser) reads them
    qemu-system-x86  # the peer in benchmarks and the device model the test guests are cross-checked on
    qemu-utils       # qemu-io: QEMU holding a disk image's lock against ours
    iproute2         # ip netns/link/addr/tuntap: the virtio-net tests put their tap in a namespace of their own
    linux-perf       # perf stat -e kvm:kvm_userspace_exit: exits per packet of PvhVm and QEMU in bench/Bench-Net.ps1
    openssh-server openssh-client   # sshd per namespace "host" and ssh for PowerShell remoting in the fleet test
    linux-source-6.1 # the test kernel (scripts/build-test-kernel.sh) and its nolibc
    make flex bison bc libelf-dev libssl-dev cpio patch   # what kbuild needs to build it
    curl             # a client of a VM's API socket in the host-process tests (curl --unix-socket), as a user would
)

log() { echo "install-prerequisites: $*" >&2; }

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

missing_packages() {
    local package status
    for package in "${packages[@]}"; do
        status=$(dpkg-query -W -f='${db:Status-Status}' "$package" 2>/dev/null || true)
        [ "$status" = installed ] || echo "$package"
    done
}

apt_lists_present() {
    compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null
}

# DPkg::Lock::Timeout makes apt wait for the dpkg frontend lock instead of failing at once.
apt_get() {
    as_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 "$@"
}

mapfile -t missing < <(missing_packages)
if [ "${#missing[@]}" -eq 0 ]; then
    exit 0
fi

# Several runs (CI, helpers, a user) may start at once: one installs, the others wait and then find nothing missing.
lock_dir="${XDG_CACHE_HOME:-$HOME/.cache}/pvhvm"
mkdir -p "$lock_dir"
exec 9>"$lock_dir/.prerequisites.lock"
flock 9
mapfile -t missing < <(missing_packages)
[ "${#missing[@]}" -eq 0 ] && exit 0

if ! apt_lists_present; then
    log "apt-get update (no package lists yet)"
    apt_get update -qq >&2
fi
log "installing ${missing[*]}"
if ! apt_get install -y -qq --no-install-recommends "${missing[@]}" >&2; then
    log "install failed; apt-get update and one more try"
    apt_get update -qq >&2
    apt_get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

mapfile -t missing < <(missing_packages)
if [ "${#missing[@]}" -gt 0 ]; then
    log "still missing after install: ${missing[*]}"
    exit 1
fi
