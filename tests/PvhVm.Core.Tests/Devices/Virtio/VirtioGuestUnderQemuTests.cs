using System.Diagnostics;
using PvhVm.Core.Devices.Virtio.Block;
using PvhVm.Core.Tests.Devices.Virtio.Net;
using PvhVm.Core.Tests.Guests;

namespace PvhVm.Core.Tests.Devices.Virtio;

/// <summary>
/// The C virtio guest (tests/guests/virtio.c) checked against device models nobody here wrote: QEMU microvm's
/// virtio-blk-device and virtio-rng-device, found through the virtio_mmio.device= entries QEMU appends to the command
/// line with acpi=off, or in its DSDT with ACPI on (as PvhVm describes its own). VirtioGuestUnderPvhVmTests expects the
/// same transcripts from PvhVm's devices.
/// </summary>
public sealed class VirtioGuestUnderQemuTests : IDisposable
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    private readonly string _image = Path.Combine(Path.GetTempPath(), $"pvhvm-virtio-guest-{Guid.NewGuid():N}.img");

    public void Dispose() => File.Delete(_image);

    [Fact]
    public void TheGuestDriverReadsWritesFlushesAndGetsEntropyFromQemuDevices()
    {
        VirtioGuestTranscript.WriteImage(_image);

        // While QEMU has the image open for writing, PvhVm must not get it (QEMU holds OFD locks on some of its bytes).
        DiskImageProblem? whileQemuRuns = null;
        var transcript = RunUnderQemu(acpi: false, "", DiskAndEntropy, () => whileQemuRuns = Assert.Throws<DiskImageException>(() => DiskImage.Open(_image, readOnly: false)).Problem);
        Assert.Equal(DiskImageProblem.Locked, whileQemuRuns);

        Assert.Equal(VirtioGuestTranscript.Expected("on the command line", "0xfeb00e00 irq 12", "0xfeb00c00 irq 11"), transcript);
        VirtioGuestTranscript.AssertGuestWroteSector8(_image);
    }

    [Fact]
    public void TheGuestFindsQemuDevicesInTheDsdtAndALoopingChainNeedsAReset()
    {
        VirtioGuestTranscript.WriteImage(_image);
        var transcript = RunUnderQemu(acpi: true, "virtio.loop", DiskAndEntropy, () => { });

        // With ACPI, microvm's devices are on its second I/O APIC (GSIs 24-47) and described only in the DSDT.
        var expected = VirtioGuestTranscript.Expected("in the DSDT", "0xfeb02e00 irq 47", "0xfeb02c00 irq 46").ToList();
        expected.Insert(2, "blk looping chain: device needs reset");
        Assert.Equal(expected, transcript);
        VirtioGuestTranscript.AssertGuestWroteSector8(_image);
    }

    [Fact]
    public void TheGuestZeroesAndDiscardsOnQemusDiskAndQemuRefusesWhatTheSpecSays()
    {
        VirtioGuestTranscript.WriteImage(_image);
        // discard=unmap: QEMU passes discards on to the image (the default, ignore, completes them doing nothing).
        string[] devices = [.. DiskAndEntropy.Select(argument => argument.EndsWith("if=none", StringComparison.Ordinal) ? argument + ",discard=unmap" : argument)];
        var transcript = RunUnderQemu(acpi: false, "virtio.discard", devices, () => { });

        Assert.Equal(VirtioGuestTranscript.ExpectedWithDiscard("on the command line", "0xfeb00e00 irq 12", "0xfeb00c00 irq 11"), transcript);
        VirtioGuestTranscript.AssertGuestWroteSector8(_image);
        VirtioGuestTranscript.AssertGuestZeroedAndDiscarded(_image);
    }

    [Fact]
    public void TheGuestDriverGetsArpAndIcmpRepliesFromTheHostKernelThroughQemusVirtioNetOnATap()
    {
        using var network = new TapNamespace();
        network.CreateTapInside();

        var transcript = RunUnderQemu(acpi: false, "",
            ["-netdev", $"tap,id=n,ifname={network.TapName},script=no,downscript=no", "-device", "virtio-net-device,netdev=n,mac=52:54:00:12:34:56"],
            () => { }, network.Name);

        Assert.Equal(
            [
                "virtio: 1 device(s) on the command line",
                "dev 0 at 0xfeb00e00 irq 12: id 1",
                "net mac=52:54:00:12:34:56",
                $"net arp reply from 10.213.0.1 at {network.TapMac()}",
                "net icmp echo reply, 256 bytes back",
                "virtio done",
            ],
            transcript);
    }

    private string[] DiskAndEntropy =>
    [
        "-device", $"virtio-blk-device,drive=d,serial={VirtioGuestTranscript.Serial}",
        "-drive", $"id=d,file={_image},format=raw,if=none",
        "-device", "virtio-rng-device",
    ];

    /// <summary>
    /// The guest's lines up to "virtio done" with <paramref name="devices"/>; <paramref name="whileRunning"/> runs then,
    /// before QEMU is stopped. With <paramref name="networkNamespace"/>, QEMU runs inside it (where its tap is).
    /// </summary>
    private static List<string> RunUnderQemu(bool acpi, string commandLine, string[] devices, Action whileRunning, string? networkNamespace = null)
    {
        var qemuPath = HostTools.Require("qemu-system-x86_64");
        var start = new ProcessStartInfo(networkNamespace is null ? qemuPath : HostTools.Require("ip"))
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
        };
        string[] wrapper = networkNamespace is null ? [] : ["netns", "exec", networkNamespace, qemuPath];
        foreach (var argument in (string[])[
            .. wrapper,
            "-M", $"microvm,accel=kvm,acpi={(acpi ? "on" : "off")}", "-cpu", "host,-arch-capabilities", "-nodefaults", "-no-user-config",
            "-display", "none", "-serial", "stdio", "-no-reboot", "-m", "64",
            // QEMU's virtio-mmio defaults to the legacy (version 1) interface; the guest speaks only version 2.
            "-global", "virtio-mmio.force-legacy=false",
            .. devices,
            "-kernel", GuestImages.PathOf("virtio"), "-append", commandLine,
        ])
        {
            start.ArgumentList.Add(argument);
        }

        using var qemu = Process.Start(start)!;
        var lines = new List<string>();
        var errors = qemu.StandardError.ReadToEndAsync();
        try
        {
            var deadline = Stopwatch.StartNew();
            while (deadline.Elapsed < Bound)
            {
                var line = qemu.StandardOutput.ReadLineAsync();
                if (!line.Wait(Bound - deadline.Elapsed) || line.Result is null)
                {
                    break;
                }

                lines.Add(line.Result.TrimEnd('\r'));
                if (line.Result.StartsWith("virtio done", StringComparison.Ordinal))
                {
                    whileRunning();
                    return lines;
                }
            }
        }
        finally
        {
            // microvm has no i8042, so the guest's reset does not end QEMU: it halts, and the test stops it.
            qemu.Kill(entireProcessTree: true);
            qemu.WaitForExit();
        }

        Assert.Fail($"QEMU gave no 'virtio done' within {Bound}: {string.Join(" | ", lines)} {errors.Result}");
        return lines;
    }
}
