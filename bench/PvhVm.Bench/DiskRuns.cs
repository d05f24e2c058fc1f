using System.Diagnostics;
using System.Text.RegularExpressions;
using Microsoft.Win32.SafeHandles;
using PvhVm.Core.Machine;

namespace PvhVm.Bench;

/// <summary>
/// The disk rows: the C virtio guest's timed read loops (tests/guests/virtio.c, virtio.seq=/virtio.rand=) under PvhVm
/// (either notification path) and under QEMU, the host's own reads of the same image in the same pattern, and the
/// host memory a disk costs. A guest's loop is timed between its "blk seq|rand begin" line and the line that ends it.
/// </summary>
internal static partial class DiskRuns
{
    private static readonly TimeSpan GuestTimeout = TimeSpan.FromSeconds(300);

    /// <summary>One VM with <paramref name="image"/> as vda: the loop's time, the requests and the exits of the whole run.</summary>
    public static int Engine(string elf, string image, string commandLine, bool useEventFds)
    {
        using var vm = new VirtualMachine(new VmConfig("bench-disk", elf, null, commandLine, 64, 1)
        {
            Disks = [new DiskConfig(image)],
            UseVirtioEventFds = useEventFds,
        });
        vm.Start();
        if (!vm.WaitForExit(GuestTimeout) || vm.ExitReason != VmExitReason.GuestReset)
        {
            throw new InvalidOperationException($"the virtio guest did not finish: {vm.ExitReason} {string.Join(" | ", vm.Console.Snapshot().Select(l => l.Text))}");
        }

        var lines = vm.Console.Snapshot();
        Json.Line(new
        {
            loopMs = LoopMs(lines.Select(l => (l.Elapsed.TotalMilliseconds, l.Text)).ToList()),
            requests = vm.GetDisks()[0].Requests, exits = vm.VcpuExits, eventFds = vm.VirtioEventFdsInUse,
        });
        return 0;
    }

    /// <summary>The same guest under QEMU (its command with -append ... given whole); QEMU is killed after "virtio done".</summary>
    public static int Qemu(string[] command)
    {
        var info = new ProcessStartInfo(command[0]) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        foreach (var argument in command[1..])
        {
            info.ArgumentList.Add(argument);
        }

        var t0 = Stopwatch.GetTimestamp();
        using var qemu = Process.Start(info)!;
        var stderr = qemu.StandardError.ReadToEndAsync();
        var lines = new List<(double Ms, string Text)>();
        try
        {
            while (Stopwatch.GetElapsedTime(t0) < GuestTimeout)
            {
                var line = qemu.StandardOutput.ReadLineAsync();
                if (!line.Wait(GuestTimeout) || line.Result is null)
                {
                    break;
                }

                lines.Add((Json.Ms(t0, Stopwatch.GetTimestamp()), line.Result.TrimEnd('\r')));
                if (line.Result.StartsWith("virtio done", StringComparison.Ordinal))
                {
                    break;
                }
            }
        }
        finally
        {
            // microvm has no i8042: the guest's reset halts it instead of ending QEMU.
            qemu.Kill(entireProcessTree: true);
            qemu.WaitForExit();
        }

        if (lines.Count == 0 || lines[^1].Text != "virtio done" || lines.Any(l => l.Text.StartsWith("dev 0: ", StringComparison.Ordinal)))
        {
            throw new InvalidOperationException($"the virtio guest did not finish under QEMU: {string.Join(" | ", lines.Select(l => l.Text))} {stderr.Result}");
        }

        Json.Line(new { loopMs = LoopMs(lines) });
        return 0;
    }

    /// <summary>
    /// The host reading <paramref name="image"/> itself, in the guest's patterns and sizes (128 KiB sequential, wrapping;
    /// 4 KiB at the guest's pseudo-random offsets), with pread through the page cache as the VMMs' reads go: the ceiling.
    /// </summary>
    public static int Host(string image, int sequentialReads, int randomReads)
    {
        using var handle = File.OpenHandle(image);
        var capacity = RandomAccess.GetLength(handle) / 512;
        var buffer = new byte[SequentialChunk];
        var t0 = Stopwatch.GetTimestamp();
        var sector = 0L;
        for (var i = 0; i < sequentialReads; i++)
        {
            if (sector + (SequentialChunk / 512) > capacity)
            {
                sector = 0;
            }

            ReadExactly(handle, buffer, sector * 512);
            sector += SequentialChunk / 512;
        }

        var t1 = Stopwatch.GetTimestamp();
        var blocks = (uint)(capacity / (RandomChunk / 512));
        var x = 12345u;
        for (var i = 0; i < randomReads; i++)
        {
            x = unchecked((x * 1103515245u) + 12345u);
            ReadExactly(handle, buffer.AsSpan(0, RandomChunk), (long)((x >> 8) % blocks) * RandomChunk);
        }

        var t2 = Stopwatch.GetTimestamp();
        Json.Line(new { sequentialMs = Json.Ms(t0, t1), randomMs = Json.Ms(t1, t2) });
        return 0;
    }

    /// <summary>
    /// Host memory a disk adds to a running VM: a VM with one disk against one with eight (the per-VM I/O thread and
    /// transport machinery counted in both), GC-retained managed bytes, resident set and descriptors, per extra disk.
    /// A disk keeps no buffers of its own (requests go between the image and guest RAM), so this is all of it.
    /// </summary>
    public static int Memory(string haltElf, string directory, int runs)
    {
        const int many = 8;
        var images = Enumerable.Range(0, many).Select(i => Path.Combine(directory, $"memory-{i}.img")).ToArray();
        foreach (var image in images)
        {
            File.WriteAllBytes(image, new byte[1 << 20]);
        }

        for (var run = -1; run < runs; run++)
        {
            var one = Resident(haltElf, images[..1]);
            var all = Resident(haltElf, images);
            if (run >= 0)
            {
                Json.Line(new
                {
                    managedBytesPerDisk = (all.Managed - one.Managed) / (double)(many - 1),
                    residentKiBPerDisk = (all.ResidentKiB - one.ResidentKiB) / (double)(many - 1),
                    descriptorsPerDisk = (all.Descriptors - one.Descriptors) / (double)(many - 1),
                });
            }
        }

        return 0;
    }

    private const int SequentialChunk = 131072;
    private const int RandomChunk = 4096;

    private static (long Managed, long ResidentKiB, int Descriptors) Resident(string haltElf, string[] images)
    {
        using var vm = new VirtualMachine(new VmConfig("bench-disk-memory", haltElf, null, "", 16, 1)
        {
            Disks = images.Select(image => new DiskConfig(image)).ToList(),
        });
        vm.Start();
        Thread.Sleep(200);
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        var managed = GC.GetTotalMemory(forceFullCollection: true);
        var resident = long.Parse(File.ReadLines("/proc/self/status").First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal)).Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]);
        var descriptors = Directory.GetFiles("/proc/self/fd").Length;
        vm.Stop();
        return (managed, resident, descriptors);
    }

    private static void ReadExactly(SafeFileHandle handle, Span<byte> buffer, long offset)
    {
        while (buffer.Length > 0)
        {
            var n = RandomAccess.Read(handle, buffer, offset);
            if (n <= 0)
            {
                throw new IOException($"short read at {offset}");
            }

            buffer = buffer[n..];
            offset += n;
        }
    }

    /// <summary>Milliseconds between the guest's "blk seq|rand begin" line and its "... ok" line; null without a loop.</summary>
    private static double? LoopMs(IReadOnlyList<(double Ms, string Text)> lines)
    {
        var begin = lines.FirstOrDefault(l => LoopBegin().IsMatch(l.Text));
        var end = lines.FirstOrDefault(l => LoopEnd().IsMatch(l.Text));
        if (begin.Text is null)
        {
            return null;
        }

        return end.Text is null ? throw new InvalidOperationException($"the guest's loop did not end: {string.Join(" | ", lines.Select(l => l.Text))}") : end.Ms - begin.Ms;
    }

    [GeneratedRegex("^blk (seq|rand) begin$")]
    private static partial Regex LoopBegin();

    [GeneratedRegex("^blk (seq|rand) [0-9]+ x [0-9]+ bytes ok$")]
    private static partial Regex LoopEnd();
}
