namespace PvhVm.Core.Tests.Kernel;

/// <summary>
/// The small Linux 6.1 test kernel and its initramfs, built by scripts/build-test-kernel.sh from Debian's
/// linux-source-6.1 and tests/kernel/ into a cache outside the work tree (build.ps1 builds it before the tests run;
/// here the script only prints the cached paths, or builds them when run alone). Its /init reports what it was given
/// on lines starting "pvhtest: " and ends the VM as pvhtest.action= asks (tests/kernel/init.c).
/// </summary>
public sealed class TestKernelFixture
{
    /// <summary>
    /// What a host whose KVM emulates guest-kernel instructions in software (the kvm_pvm module) needs: no XSAVE, PTI,
    /// mitigations or KASLR; no SMAP (clac is not emulated), POPCNT, RDTSCP, RDPID or CMPXCHG16B; no FSGSBASE, INVPCID or
    /// PCID; and our patch's no_int3_selftest and pvm_native_fixup. On a hardware-assisted host the kernel boots stock.
    /// </summary>
    public const string EmulatingHostExtras = "noxsave nopti mitigations=off nokaslr no_timer_check no_int3_selftest "
        + "clearcpuid=308,151,59,534,141 nofsgsbase noinvpcid nopcid pvm_native_fixup";

    public TestKernelFixture()
    {
        var script = Path.Combine(DebianKernelFixture.RepositoryRoot, "scripts", "build-test-kernel.sh");
        var (output, _) = DebianKernelFixture.Run("bash", [script], TimeSpan.FromMinutes(30));
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (lines.Length < 3 || !File.Exists(lines[0]) || !File.Exists(lines[1]))
        {
            throw new InvalidOperationException($"build-test-kernel.sh printed no vmlinux, initramfs and marker: '{output}'");
        }

        (VmlinuxPath, InitramfsPath, Marker) = (lines[0], lines[1], lines[2]);
    }

    public string VmlinuxPath { get; }

    /// <summary>An uncompressed cpio: unpacking a compressed one costs over a minute of emulated time here.</summary>
    public string InitramfsPath { get; }

    /// <summary>The content of the initramfs's /pvhtest-marker, which /init prints as "pvhtest: marker=...".</summary>
    public string Marker { get; }

    /// <summary>True where /dev/kvm is served by kvm_pvm, which needs <see cref="EmulatingHostExtras"/>.</summary>
    public static bool HostEmulates => Directory.Exists("/sys/module/kvm_pvm");

    /// <summary>A command line for the test kernel whose /init ends with <paramref name="action"/> (poweroff, reboot, halt).</summary>
    public static string CommandLine(string action)
        => $"console=ttyS0 panic=-1 rdinit=/init{(HostEmulates ? " " + EmulatingHostExtras : "")} pvhtest.action={action}";
}
