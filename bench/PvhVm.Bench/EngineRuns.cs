using System.Diagnostics;
using System.Text.RegularExpressions;
using PvhVm.Core.Kernel;
using PvhVm.Core.Machine;

namespace PvhVm.Bench;

/// <summary>The engine through its Core API, without PowerShell: what the cmdlets add is the difference.</summary>
internal static partial class EngineRuns
{
    /// <summary>Untimed runs first, so the vCPU loop and boot path run tier-1 JIT code as in a warm pwsh session.</summary>
    private const int WarmupRuns = 5;

    private static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(30);

    /// <summary>
    /// New -> Start -> guest exit -> Dispose of a probe, with the phases split: construct (kernel read),
    /// start (memory, load, vCPU setup, thread start), first console line, exit, dispose.
    /// </summary>
    public static int RoundTrips(string elf, int runs)
    {
        for (var i = -WarmupRuns; i < runs; i++)
        {
            var t0 = Stopwatch.GetTimestamp();
            using var vm = new VirtualMachine(new VmConfig($"bench-{i}", elf, null, "console=ttyS0", 256, 1));
            var t1 = Stopwatch.GetTimestamp();
            vm.Start();
            var t2 = Stopwatch.GetTimestamp();
            // Block, never spin: a spinning waiter takes a core from the vCPU thread on a 2-core host.
            if (!vm.WaitForExit(ProbeTimeout))
            {
                throw new TimeoutException($"probe did not exit within {ProbeTimeout}");
            }

            var t3 = Stopwatch.GetTimestamp();
            var bytes = vm.Console.BytesReceived;
            var reason = vm.ExitReason;
            vm.Dispose();
            var t4 = Stopwatch.GetTimestamp();
            if (reason != VmExitReason.GuestReset)
            {
                throw new InvalidOperationException($"probe ended with {reason}, not a guest reset");
            }

            if (i >= 0)
            {
                Json.Line(new
                {
                    totalMs = Json.Ms(t0, t4), constructMs = Json.Ms(t0, t1), startMs = Json.Ms(t1, t2),
                    firstLineMs = vm.Console.Snapshot().FirstOrDefault()?.Elapsed.TotalMilliseconds, runMs = Json.Ms(t2, t3),
                    disposeMs = Json.Ms(t3, t4), consoleBytes = bytes,
                });
            }
        }

        return 0;
    }

    /// <summary>
    /// A real kernel from New (image read, like a QEMU process reading -kernel) to its first console byte and
    /// its banner line; then the VM is stopped.
    /// </summary>
    public static int KernelBoot(string kernel, int memoryMB, string commandLine, double timeoutSeconds)
    {
        var t0 = Stopwatch.GetTimestamp();
        using var vm = new VirtualMachine(new VmConfig("bench-kernel", kernel, null, commandLine, memoryMB, 1));
        var t1 = Stopwatch.GetTimestamp();
        vm.Start();
        var t2 = Stopwatch.GetTimestamp();
        var deadline = t2 + (long)(timeoutSeconds * Stopwatch.Frequency);
        while (vm.Console.BytesReceived == 0 && !vm.WaitForExit(TimeSpan.Zero) && Stopwatch.GetTimestamp() < deadline)
        {
            Thread.Sleep(1);
        }

        var firstByte = Stopwatch.GetTimestamp();
        var banner = vm.Console.WaitFor(LinuxVersion(), TimeSpan.FromSeconds(timeoutSeconds));
        var t3 = Stopwatch.GetTimestamp();
        vm.Stop();
        Json.Line(new
        {
            constructMs = Json.Ms(t0, t1), startMs = Json.Ms(t1, t2),
            firstByteMs = vm.Console.BytesReceived == 0 ? (double?)null : Json.Ms(t0, firstByte),
            // The banner's own timestamp (taken when its line ended) is more exact than when the wait woke.
            bannerMs = banner is null ? (double?)null : Json.Ms(t0, t2) + banner.Elapsed.TotalMilliseconds,
            bannerWaitMs = Json.Ms(t0, t3), exitReason = vm.ExitReason?.ToString(),
        });
        return 0;
    }

    /// <summary>Bytes the console captured from the flood guest in a window that opens one second after Start.</summary>
    public static int Flood(string elf, double seconds)
    {
        using var vm = new VirtualMachine(new VmConfig("bench-flood", elf, null, "", 256, 1));
        vm.Start();
        Thread.Sleep(ProcessRuns.FloodSkip);
        var before = vm.Console.BytesReceived;
        var t0 = Stopwatch.GetTimestamp();
        Thread.Sleep(TimeSpan.FromSeconds(seconds));
        var bytes = vm.Console.BytesReceived - before;
        var window = Stopwatch.GetElapsedTime(t0).TotalSeconds;
        vm.Stop();
        Json.Line(new { seconds = window, bytes, bytesPerSecond = bytes / window });
        return 0;
    }

    /// <summary>KernelInspector on an image, warm (first call excluded), one line per run.</summary>
    public static int Inspect(string kernel, int runs)
    {
        for (var i = -1; i < runs; i++)
        {
            var t0 = Stopwatch.GetTimestamp();
            var info = KernelInspector.Inspect(kernel);
            var t1 = Stopwatch.GetTimestamp();
            if (i >= 0)
            {
                Json.Line(new { ms = Json.Ms(t0, t1), format = info.Format.ToString(), notes = info.Notes.Count });
            }
        }

        return 0;
    }

    [GeneratedRegex("Linux version")]
    private static partial Regex LinuxVersion();
}
