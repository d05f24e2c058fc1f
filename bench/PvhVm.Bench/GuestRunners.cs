using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.RegularExpressions;
using PvhVm.Core.Machine;

namespace PvhVm.Bench;

/// <summary>The C virtio guest running under one VMM, its console lines awaited by pattern.</summary>
internal interface IGuestRun : IDisposable
{
    /// <summary>The process whose KVM exits count for this guest (perf stat -p).</summary>
    int ProcessId { get; }

    /// <summary>The first console line matching <paramref name="pattern"/>, or null after <paramref name="timeout"/>.</summary>
    string? WaitForLine(Regex pattern, TimeSpan timeout);
}

/// <summary>The guest under PvhVm, through the Core API, in this process; its adapter attaches to an existing tap.</summary>
internal sealed class PvhGuestRun : IGuestRun
{
    public const string GuestMac = "02:00:00:00:00:02";

    private readonly VirtualMachine _vm;

    public PvhGuestRun(string elf, string commandLine, string? tapName, string? vsockPath)
    {
        _vm = new VirtualMachine(new VmConfig("bench-virtio", elf, null, commandLine, 64, 1)
        {
            NetworkAdapters = tapName is null ? [] : [new NetworkAdapterConfig(tapName, GuestMac)],
            VsockPath = vsockPath,
        });
        _vm.Start();
    }

    public int ProcessId => Environment.ProcessId;

    public VirtualMachine Vm => _vm;

    public string? WaitForLine(Regex pattern, TimeSpan timeout) => _vm.Console.WaitFor(pattern, timeout)?.Text;

    public void Dispose() => _vm.Dispose();
}

/// <summary>The guest under QEMU microvm with virtio-net-device on the tap (a process; its serial console is stdout).</summary>
internal sealed class QemuGuestRun : IGuestRun
{
    private readonly Process _qemu;
    private readonly List<string> _lines = [];
    private readonly BlockingCollection<string> _incoming = [];

    public QemuGuestRun(string elf, string commandLine, string tapName)
    {
        var start = new ProcessStartInfo("qemu-system-x86_64") { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        foreach (var argument in (string[])[
            "-M", "microvm,accel=kvm,acpi=off", "-cpu", "host,-arch-capabilities", "-nodefaults", "-no-user-config",
            "-display", "none", "-serial", "stdio", "-no-reboot", "-m", "64",
            // QEMU's virtio-mmio defaults to the legacy (version 1) interface; the guest speaks only version 2.
            "-global", "virtio-mmio.force-legacy=false",
            "-netdev", $"tap,id=n,ifname={tapName},script=no,downscript=no",
            "-device", $"virtio-net-device,netdev=n,mac={PvhGuestRun.GuestMac}",
            "-kernel", elf, "-append", commandLine,
        ])
        {
            start.ArgumentList.Add(argument);
        }

        _qemu = Process.Start(start)!;
        _qemu.ErrorDataReceived += (_, e) => { if (e.Data is not null) { Console.Error.WriteLine($"qemu: {e.Data}"); } };
        _qemu.BeginErrorReadLine();
        _qemu.OutputDataReceived += (_, e) => { if (e.Data is not null) { _incoming.Add(e.Data.TrimEnd('\r')); } };
        _qemu.BeginOutputReadLine();
    }

    public int ProcessId => _qemu.Id;

    public string? WaitForLine(Regex pattern, TimeSpan timeout)
    {
        if (_lines.Find(pattern.IsMatch) is { } seen)
        {
            return seen;
        }

        var deadline = Stopwatch.StartNew();
        while (_incoming.TryTake(out var line, Remaining(deadline, timeout)))
        {
            _lines.Add(line);
            if (pattern.IsMatch(line))
            {
                return line;
            }
        }

        return null;
    }

    public void Dispose()
    {
        // microvm has no i8042, so the guest's reset does not end QEMU: it halts, and the bench stops it.
        _qemu.Kill(entireProcessTree: true);
        _qemu.WaitForExit();
        _qemu.Dispose();
        _incoming.Dispose();
    }

    private static TimeSpan Remaining(Stopwatch elapsed, TimeSpan timeout) =>
        timeout > elapsed.Elapsed ? timeout - elapsed.Elapsed : TimeSpan.Zero;
}

/// <summary>KVM exits to user space of one process while it runs (perf's kvm:kvm_userspace_exit tracepoint), started and stopped around a window.</summary>
internal sealed class ExitCounter : IDisposable
{
    private readonly Process _perf;

    public ExitCounter(int processId)
    {
        var start = new ProcessStartInfo("perf") { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var argument in (string[])["stat", "-x", ",", "-e", "kvm:kvm_userspace_exit", "-p", processId.ToString(System.Globalization.CultureInfo.InvariantCulture)])
        {
            start.ArgumentList.Add(argument);
        }

        _perf = Process.Start(start)!;
        // perf attaches to the process's threads before it counts; give it the time to.
        Thread.Sleep(300);
    }

    /// <summary>Stops perf (SIGINT, as Ctrl-C) and returns the count, or null when perf could not count.</summary>
    public long? Stop()
    {
        using (var kill = Process.Start("kill", ["-INT", _perf.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            kill.WaitForExit();
        }

        var report = _perf.StandardError.ReadToEnd();
        _perf.WaitForExit();
        var line = report.Split('\n').FirstOrDefault(l => l.Contains("kvm_userspace_exit", StringComparison.Ordinal));
        return line is not null && long.TryParse(line.Split(',')[0], out var count) ? count : null;
    }

    public void Dispose() => _perf.Dispose();
}
