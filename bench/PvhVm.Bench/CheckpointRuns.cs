using System.Diagnostics;
using System.Text.RegularExpressions;
using PvhVm.Core.Machine;

namespace PvhVm.Bench;

/// <summary>
/// Checkpoints and clones of the echo guest: restore to running against a cold boot of the same VM, a fleet of clones
/// of one checkpoint (wall time, host memory per clone), and checkpoint write speed against a plain file write.
/// </summary>
internal static class CheckpointRuns
{
    private const int WarmupRounds = 3;
    private static readonly TimeSpan PoolRefill = TimeSpan.FromMilliseconds(300);
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);
    private static readonly Regex Ready = new("^echo ready$");

    /// <summary>JSON lines: one per round (cold boot vs restore of the echo guest), one for the clone fleet, one for write speed.</summary>
    public static int Run(string echo, int rounds, int clones, string work)
    {
        Directory.CreateDirectory(work);
        var checkpoint = Path.Combine(work, "echo-64m");
        DeleteIfExists(checkpoint);
        using (var original = StartEcho(echo, "bench-original", 64))
        {
            original.Suspend();
            original.CreateCheckpoint(checkpoint);
        }

        for (var i = -WarmupRounds; i < rounds; i++)
        {
            // Each start gets a pooled VM, as a start at leisure does: the pool refills in the background meanwhile.
            Thread.Sleep(PoolRefill);
            var t0 = Stopwatch.GetTimestamp();
            using var cold = StartEcho(echo, $"bench-cold-{i}", 64);
            var t1 = Stopwatch.GetTimestamp();
            Thread.Sleep(PoolRefill);
            var t2 = Stopwatch.GetTimestamp();
            using var restored = VirtualMachine.Restore(checkpoint, $"bench-restored-{i}");
            restored.Start();
            var t3 = Stopwatch.GetTimestamp();
            Answer(restored);
            var t4 = Stopwatch.GetTimestamp();
            if (i >= 0)
            {
                Json.Line(new { kind = "round", coldBootToReadyMs = Json.Ms(t0, t1), restoreToRunningMs = Json.Ms(t2, t3), restoreToAnswerMs = Json.Ms(t2, t4) });
            }
        }

        DeleteIfExists(checkpoint);
        Fleet(Path.Combine(Path.GetDirectoryName(echo)!, "sleep.elf"), clones, work);
        WriteSpeed(echo, work);
        return 0;
    }

    /// <summary>
    /// Clones of the sleep guest (halted with interrupts on, so an idle clone makes no exits at all: the echo guest's 1 ms
    /// tick in a hundred clones would load this 2-core host and time that, not the restores).
    /// </summary>
    private static void Fleet(string sleep, int count, string work)
    {
        var checkpoint = Path.Combine(work, "sleep-64m");
        DeleteIfExists(checkpoint);
        using (var original = new VirtualMachine(new VmConfig("bench-sleep", sleep, MemoryMB: 64)))
        {
            original.Start();
            if (original.Console.WaitFor(new Regex("^sleeping$"), Bound) is null)
            {
                throw new TimeoutException($"sleep guest: no 'sleeping' within {Bound}");
            }

            original.Suspend();
            original.CreateCheckpoint(checkpoint);
        }

        GC.Collect();
        var before = Smaps.Read();
        var vms = new List<VirtualMachine>(count);
        var t0 = Stopwatch.GetTimestamp();
        for (var i = 0; i < count; i++)
        {
            var vm = VirtualMachine.Restore(checkpoint, $"bench-clone-{i}");
            vm.Start();
            vms.Add(vm);
        }

        var t1 = Stopwatch.GetTimestamp();
        Thread.Sleep(1000);
        var running = vms.Count(vm => vm.State == VmState.Running);
        GC.Collect();
        var after = Smaps.Read();
        foreach (var vm in vms)
        {
            vm.Dispose();
        }

        DeleteIfExists(checkpoint);
        Json.Line(new
        {
            kind = "fleet", clones = count, running, wallMs = Json.Ms(t0, t1), perCloneMs = Json.Ms(t0, t1) / count,
            rssKiBPerClone = (after.RssKiB - before.RssKiB) / (double)count,
            pssKiBPerClone = (after.PssKiB - before.PssKiB) / (double)count,
            anonymousKiBPerClone = (after.AnonymousKiB - before.AnonymousKiB) / (double)count,
        });
    }

    /// <summary>
    /// A 1 GiB echo VM whose RAM above 64 MiB holds random bytes (written into a first checkpoint's memory file, then
    /// restored: the guest never reads them), checkpointed again: the writer scans and writes ~960 MiB of data.
    /// The ceiling is the same bytes written to a new file on the same file system, by one write call per MiB.
    /// </summary>
    private static void WriteSpeed(string echo, string work)
    {
        const int MiB = 1 << 20;
        const int RamMiB = 1024;
        const int FilledFromMiB = 64;
        var first = Path.Combine(work, "echo-1g");
        var second = Path.Combine(work, "echo-1g-full");
        var plain = Path.Combine(work, "plain-write.bin");
        DeleteIfExists(first);
        DeleteIfExists(second);
        File.Delete(plain);
        using (var vm = StartEcho(echo, "bench-1g", RamMiB))
        {
            vm.Suspend();
            vm.CreateCheckpoint(first);
        }

        var block = new byte[MiB];
        using (var memory = new FileStream(Path.Combine(first, "memory.bin"), FileMode.Open, FileAccess.Write))
        {
            memory.Position = (long)FilledFromMiB * MiB;
            for (var i = FilledFromMiB; i < RamMiB; i++)
            {
                Random.Shared.NextBytes(block);
                memory.Write(block);
            }
        }

        double checkpointMs;
        long dataBytes;
        using (var vm = VirtualMachine.Restore(first, "bench-1g-full"))
        {
            vm.Start();
            Answer(vm);
            vm.Suspend();
            var t0 = Stopwatch.GetTimestamp();
            dataBytes = vm.CreateCheckpoint(second).MemoryDataBytes;
            checkpointMs = Json.Ms(t0, Stopwatch.GetTimestamp());
        }

        Random.Shared.NextBytes(block);
        var t1 = Stopwatch.GetTimestamp();
        using (var file = new FileStream(plain, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.None))
        {
            for (long written = 0; written < dataBytes; written += MiB)
            {
                file.Write(block);
            }
        }

        var plainMs = Json.Ms(t1, Stopwatch.GetTimestamp());
        var gib = dataBytes / (double)(1L << 30);
        Json.Line(new { kind = "write", dataBytes, checkpointMs, checkpointMsPerGiB = checkpointMs / gib, plainWriteMs = plainMs, plainWriteMsPerGiB = plainMs / gib });
        DeleteIfExists(first);
        DeleteIfExists(second);
        File.Delete(plain);
    }

    private static VirtualMachine StartEcho(string echo, string name, int memoryMB)
    {
        var vm = new VirtualMachine(new VmConfig(name, echo, MemoryMB: memoryMB));
        vm.Start();
        if (vm.Console.WaitFor(Ready, Bound) is null)
        {
            throw new TimeoutException($"{name}: no 'echo ready' within {Bound}");
        }

        return vm;
    }

    /// <summary>Types a line and waits for the guest to echo it: the VM is running guest code, not just started.</summary>
    private static void Answer(VirtualMachine vm)
    {
        var word = $"ping-{vm.Name}";
        vm.SendConsole(System.Text.Encoding.ASCII.GetBytes(word + "\n"));
        if (vm.Console.WaitFor(new Regex($"^{Regex.Escape(word)}$"), Bound) is null)
        {
            throw new TimeoutException($"{vm.Name} did not echo within {Bound}");
        }
    }

    private static void DeleteIfExists(string folder)
    {
        if (Directory.Exists(folder))
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    /// <summary>This process's /proc/self/smaps_rollup: resident, proportional (shared pages split) and anonymous KiB.</summary>
    private readonly record struct Smaps(long RssKiB, long PssKiB, long AnonymousKiB)
    {
        public static Smaps Read()
        {
            var fields = File.ReadLines("/proc/self/smaps_rollup").Select(line => line.Split(':', 2)).Where(p => p.Length == 2)
                .ToDictionary(p => p[0].Trim(), p => long.TryParse(p[1].Trim().Split(' ')[0], out var kib) ? kib : 0);
            return new Smaps(fields["Rss"], fields["Pss"], fields["Anonymous"]);
        }
    }
}
