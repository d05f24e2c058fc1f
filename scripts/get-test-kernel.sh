#!/usr/bin/env bash
# Fetches Debian's cloud kernel (linux-image-*-cloud-amd64-unsigned) into a cache outside the work tree
# and prints two lines on stdout: the vmlinuz path, then the package version.
# Cache: ${PVHVM_KERNEL_CACHE:-$HOME/.cache/pvhvm/kernels}/<package>_<version>/; reused when present.
set -euo pipefail

cache="${PVHVM_KERNEL_CACHE:-$HOME/.cache/pvhvm/kernels}"
[ "$#" -eq 0 ] || { echo "usage: $0" >&2; exit 2; }

log() { echo "get-test-kernel: $*" >&2; }

sudo_if_needed() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

apt_lists_present() {
    compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null
}

apt_updated=0
apt_update() {
    if [ "$apt_updated" -eq 0 ]; then
        log "apt-get update"
        sudo_if_needed apt-get -o DPkg::Lock::Timeout=300 update -qq >&2
        apt_updated=1
    fi
}

# Newest unsigned cloud image: the metapackage names it (it may name the signed twin), apt-cache search is the fallback.
resolve_package() {
    local dep
    dep=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null \
        | awk '/Depends: linux-image-[0-9].*-cloud-amd64/ {print $2}' | head -n1)
    if [ -n "$dep" ]; then
        echo "${dep%-unsigned}-unsigned"
        return
    fi
    apt-cache search --names-only '^linux-image-[0-9].*-cloud-amd64-unsigned$' 2>/dev/null \
        | awk '{print $1}' | sort -V | tail -n1
}

mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9   # several test runs and helpers share the cache

package=""
if apt_lists_present; then package=$(resolve_package); fi
if [ -z "$package" ]; then
    # No lists (fresh machine) and a kernel already cached: reuse it without touching the network.
    cached=$(ls -d "$cache"/linux-image-*_*/ 2>/dev/null | sort -V | tail -n1 || true)
    if [ -n "$cached" ] && compgen -G "${cached}vmlinuz-*" >/dev/null; then
        dir=${cached%/}
        echo "$(ls "$dir"/vmlinuz-* | head -n1)"
        cat "$dir/version"
        exit 0
    fi
    apt_update
    package=$(resolve_package)
fi
[ -n "$package" ] || { log "no linux-image-*-cloud-amd64-unsigned package found"; exit 1; }

version=$(apt-cache policy "$package" | awk '/Candidate:/ {print $2}')
dir="$cache/${package}_${version}"
if ! compgen -G "$dir/vmlinuz-*" >/dev/null; then
    work=$(mktemp -d "$cache/.fetch.XXXXXX")
    trap 'rm -rf "$work"' EXIT
    log "downloading $package $version"
    if ! (cd "$work" && apt-get -o APT::Sandbox::User=root download -qq "$package=$version" >&2); then
        apt_update   # stale lists: the archive may have moved on to a newer ABI package
        package=$(resolve_package)
        version=$(apt-cache policy "$package" | awk '/Candidate:/ {print $2}')
        dir="$cache/${package}_${version}"
        (cd "$work" && apt-get -o APT::Sandbox::User=root download -qq "$package=$version" >&2)
    fi
    deb=$(ls "$work"/*.deb)
    dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$work" --wildcards './boot/vmlinuz-*'
    mkdir -p "$work/out"
    mv "$work"/boot/vmlinuz-* "$work/out/"
    dpkg-deb -f "$deb" Version > "$work/out/version"
    rm -rf "$dir"
    mv "$work/out" "$dir"
fi

echo "$(ls "$dir"/vmlinuz-* | head -n1)"
cat "$dir/version"
