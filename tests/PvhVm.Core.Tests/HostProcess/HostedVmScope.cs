using System.Diagnostics;
using PvhVm.Control;
using PvhVm.Core.Machine;
using PvhVm.Core.Tests.Guests;

namespace PvhVm.Core.Tests.HostProcess;

/// <summary>
/// A runtime directory of its own (under /tmp, 0700) and the host processes launched into it; disposing kills any host
/// still alive and removes the directory, so no test leaves a process or a folder behind.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
internal sealed class HostedVmScope : IDisposable
{
    public HostedVmScope()
    {
        Directory = new RuntimeDirectory(Path.Combine(Path.GetTempPath(), $"pvhvm-test-{Guid.NewGuid():N}"[..30]));
    }

    /// <summary>PVHVM_HOST_PATH (build.ps1 could point it at the NativeAOT build), or the host built next to the test assembly.</summary>
    public static string HostPath => Environment.GetEnvironmentVariable("PVHVM_HOST_PATH") is { Length: > 0 } path
        ? path
        : Path.Combine(AppContext.BaseDirectory, "pvhvm-host");

    public RuntimeDirectory Directory { get; }

    public (VmFolder Folder, VmDescription Vm, HostClient Client) Launch(string name, string guest = "probe", string commandLine = "console=ttyS0")
    {
        var (folder, vm) = HostLauncher.Launch(Directory, new VmConfig(name, GuestImages.PathOf(guest), null, commandLine, 16), HostPath);
        return (folder, vm, new HostClient(folder.SocketPath));
    }

    /// <summary>A host that restores its VM from <paramref name="checkpoint"/> (Created: starting it resumes the guest).</summary>
    public (VmFolder Folder, VmDescription Vm, HostClient Client) Restore(string checkpoint, string name)
    {
        var (folder, vm) = HostLauncher.Launch(Directory, new RestoreRequest(checkpoint, name), hasVsock: false, HostPath);
        return (folder, vm, new HostClient(folder.SocketPath));
    }

    /// <summary>Waits until the process with this pid and start time is gone (reaped by its monitor shell).</summary>
    public static void WaitForExit(VmDescription vm)
    {
        var watch = Stopwatch.StartNew();
        while (ProcessStartTime.IsAlive(vm.ProcessId, vm.ProcessStartTicks))
        {
            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(20), $"host process {vm.ProcessId} still alive");
            Thread.Sleep(10);
        }
    }

    /// <summary>Waits until the monitor shell has recorded how the host ended.</summary>
    public static HostExit WaitForExitStatus(VmFolder folder)
    {
        var watch = Stopwatch.StartNew();
        HostExit? exit;
        while ((exit = folder.ReadExit()) is null)
        {
            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(10), "the monitor recorded no exit status");
            Thread.Sleep(10);
        }

        return exit;
    }

    public void Dispose()
    {
        foreach (var folder in Directory.Folders())
        {
            if (folder.ReadState() is { } state && ProcessStartTime.IsAlive(state.ProcessId, state.ProcessStartTicks))
            {
                Process.GetProcessById(state.ProcessId).Kill();
                WaitForExitStatus(folder);
            }
        }

        // A test that killed a host itself may end before that host's monitor wrote host.exit: a second pass gets it.
        try
        {
            System.IO.Directory.Delete(Directory.Path, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
        catch (IOException)
        {
            Thread.Sleep(200);
            System.IO.Directory.Delete(Directory.Path, recursive: true);
        }
    }
}
