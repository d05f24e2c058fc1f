#!/usr/bin/env bash
# Builds the test kernel and its initramfs from Debian's linux-source-6.1 package and the inputs in tests/kernel/:
#   config.fragment          merged over `make tinyconfig`; every line must survive `make olddefconfig`
#   pvm-native-fixup.patch   the boot parameters no_int3_selftest and pvm_native_fixup (stock kernel without them)
#   init.c                   /init, a static program on the kernel's own nolibc (tools/include/nolibc)
#   initramfs.list           the initramfs contents, in the kernel's gen_init_cpio format
# Prints three lines on stdout: the vmlinux (ELF) path, the initramfs (uncompressed cpio) path, and the marker the
# initramfs holds in /pvhtest-marker (its /init prints it; nothing else in a VM has it).
# A build takes ~7 minutes on 2 busy cores, so build.ps1 runs this before the tests; the test fixture runs it too
# (then it only prints the cached paths).
# Cache: ${PVHVM_KERNEL_CACHE:-$HOME/.cache/pvhvm/kernels}/test-kernel-<hash of the kernel inputs>/ holds vmlinux and
# initramfs-<hash of the initramfs inputs>.cpio, reused when present; concurrent runs wait for each other. Installs and downloads nothing: scripts/install-prerequisites.sh does that.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
inputs="$repo/tests/kernel"
cache="${PVHVM_KERNEL_CACHE:-$HOME/.cache/pvhvm/kernels}"
source_tarball=/usr/src/linux-source-6.1.tar.xz
jobs=2

log() { echo "build-test-kernel: $*" >&2; }
fail() { log "$*"; exit 1; }

missing=()
for tool in make gcc ld flex bison bc cpio xz patch sha256sum; do
    command -v "$tool" >/dev/null || missing+=("$tool")
done
[ -f /usr/include/libelf.h ] || missing+=("libelf.h (libelf-dev)")
[ -f "$source_tarball" ] || missing+=("$source_tarball (linux-source-6.1)")
if [ "${#missing[@]}" -gt 0 ]; then
    fail "missing: ${missing[*]}; run scripts/install-prerequisites.sh"
fi

# The kernel depends on the source package, the config and the patch; the initramfs on /init and its list. The
# kernel folder keeps nolibc and gen_init_cpio from its source tree, so a changed /init rebuilds in a second.
source_version=$(dpkg-query -W -f='${Version}' linux-source-6.1 2>/dev/null || stat -c '%s %Y' "$source_tarball")
kernel_hash=$( { echo "$source_version"; sed -n '/^# kernel build begins/,/^# kernel build ends/p' "${BASH_SOURCE[0]}"
                 cat "$inputs/config.fragment" "$inputs/pvm-native-fixup.patch"; } | sha256sum | cut -c1-16)
dir="$cache/test-kernel-$kernel_hash"

mkdir -p "$cache"
exec 9>"$cache/.test-kernel.lock"
flock 9   # test runs and helpers share the cache; the second waits for the first build
rm -rf "$cache"/.build-test-kernel.*   # left by a build that was killed: with the lock held, none is running

# kernel build begins
if [ ! -f "$dir/vmlinux" ]; then
    work=$(mktemp -d "$cache/.build-test-kernel.XXXXXX")
    trap 'rm -rf "$work"' EXIT
    log "building test-kernel-$kernel_hash (linux-source-6.1 $source_version) in $work"
    tar -xf "$source_tarball" -C "$work"
    src="$work/linux-source-6.1"
    patch -d "$src" -p1 --quiet < "$inputs/pvm-native-fixup.patch"

    make -C "$src" -s tinyconfig >/dev/null
    "$src/scripts/kconfig/merge_config.sh" -m -O "$src" "$src/.config" "$inputs/config.fragment" >/dev/null
    make -C "$src" -s olddefconfig >&2
    while read -r line; do
        case "$line" in
            CONFIG_*) grep -qxF "$line" "$src/.config" || fail "config.fragment: '$line' did not survive olddefconfig" ;;
            "# CONFIG_"*" is not set")
                option=${line#\# }; option=${option%% *}
                if grep -q "^$option=" "$src/.config"; then fail "config.fragment: $option is still on after olddefconfig"; fi ;;
        esac
    done < "$inputs/config.fragment"

    log "make -j$jobs vmlinux (minutes)"
    make -C "$src" -j"$jobs" vmlinux > "$work/make.log" 2>&1 || { tail -n 40 "$work/make.log" >&2; fail "kernel build failed"; }

    mkdir "$work/out"
    gcc -O2 -o "$work/out/gen_init_cpio" "$src/usr/gen_init_cpio.c"
    cp -r "$src/tools/include/nolibc" "$work/out/nolibc"
    mv "$src/.config" "$work/out/config"
    mv "$src/vmlinux" "$work/out/vmlinux"   # last: its presence marks the folder complete
    rm -rf "$dir"
    mv "$work/out" "$dir"
    rm -rf "$work"
    trap - EXIT
    log "built $dir"
fi
# kernel build ends

initramfs_hash=$(cat "$inputs/init.c" "$inputs/initramfs.list" | sha256sum | cut -c1-16)
initramfs="$dir/initramfs-$initramfs_hash.cpio"
marker="pvhtest-marker-$initramfs_hash"
if [ ! -f "$initramfs" ]; then
    work=$(mktemp -d "$dir/.initramfs.XXXXXX")
    trap 'rm -rf "$work"' EXIT
    gcc -Os -static -nostdlib -fno-stack-protector -fno-asynchronous-unwind-tables -fno-ident -s -Wall -Werror \
        -I "$dir/nolibc" -o "$work/init" "$inputs/init.c" -lgcc
    echo "$marker" > "$work/marker"
    # initramfs.list names its sources relative to the build folder.
    (cd "$work" && "$dir/gen_init_cpio" "$inputs/initramfs.list") > "$work/initramfs.cpio"
    mv "$work/initramfs.cpio" "$initramfs"
fi

echo "$dir/vmlinux"
echo "$initramfs"
echo "$marker"
