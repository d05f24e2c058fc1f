using System.Diagnostics;
using System.Text.Json;
using PvhVm.Core.Machine;

namespace PvhVm.Control;

/// <summary>
/// Starts a VM's host process, detached: <c>setsid</c> puts a monitor shell in a session of its own (no terminal, no
/// process group of the caller: the VM outlives the pwsh that made it, an SSH disconnect, Remove-Module), and the shell
/// runs the host and records how it ended in the VM's folder, so a host killed by a signal shows as such.
/// </summary>
public static class HostLauncher
{
    /// <summary>How long a host may take to create its VM and listen before the launch counts as failed.</summary>
    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(30);

    // $0 the host program, $1 the VM folder, then the VM's cgroups, if any. A subshell joins them ("0" is the writer
    // itself) and becomes the host, so every page the host ever touches is charged to them; the monitor stays where
    // it is, so that once the host has ended it can remove them. The exit status goes to a file the host never writes,
    // named relative to the folder the monitor stands in: after DELETE /vm that folder is gone and the write fails,
    // silently (the launcher's stderr pipe may be long closed), even when a new VM of the same name has made a new
    // folder at the same path meanwhile (by path, the write landed there: seen under load).
    private const string MonitorScript =
        "host=$0 folder=$1; shift; cd \"$folder\" || exit 125; "
        + "( for cgroup; do echo 0 > \"$cgroup/cgroup.procs\" || exit 125; done; exec \"$host\" --folder \"$folder\" ); "
        + "{ echo $? > host.exit; } 2>/dev/null; [ $# -eq 0 ] || rmdir \"$@\" 2>/dev/null";

    /// <summary>
    /// Makes the VM's folder (and, for <paramref name="limits"/>, its cgroups), starts its host and returns once the host
    /// listens on its socket with the VM created. Throws <see cref="HostApiException"/> with the engine's error when the
    /// host could not create the VM (the folder is removed then), <see cref="VmFolderExistsException"/> when the name's
    /// folder exists already, <see cref="CgroupUnavailableException"/> when the limits cannot be applied.
    /// </summary>
    public static (VmFolder Folder, VmDescription Vm) Launch(RuntimeDirectory directory, VmConfig config, string hostPath, HostLimits? limits = null)
        => Launch(directory, config.Name, folder => File.WriteAllBytes(folder.ConfigPath, JsonSerializer.SerializeToUtf8Bytes(config, ControlJson.Default.VmConfig)), hostPath, limits);

    /// <summary>
    /// As <see cref="Launch(RuntimeDirectory, VmConfig, string, HostLimits?)"/>, for a VM the host restores from a
    /// checkpoint (in state Created: starting it resumes the guest); a checkpoint the host cannot read is a
    /// <see cref="HostApiException"/> with the engine's CheckpointException.
    /// </summary>
    public static (VmFolder Folder, VmDescription Vm) Launch(RuntimeDirectory directory, RestoreRequest restore, string hostPath)
        => Launch(directory, restore.Name, folder => File.WriteAllBytes(folder.RestorePath, JsonSerializer.SerializeToUtf8Bytes(restore, ControlJson.Default.RestoreRequest)), hostPath, null);

    private static (VmFolder Folder, VmDescription Vm) Launch(RuntimeDirectory directory, string name, Action<VmFolder> writeRequest, string hostPath, HostLimits? limits)
    {
        directory.Ensure();
        var folder = directory.FolderFor(name);
        if (!Posix.TryMakePrivateDirectory(folder.Path))
        {
            throw new VmFolderExistsException(name, folder.Path);
        }

        VmCgroups? cgroups = null;
        try
        {
            writeRequest(folder);
            cgroups = limits is { IsEmpty: false } ? VmCgroups.Create(folder.Name, limits) : null;
            return (folder, StartHost(folder, hostPath, cgroups?.Directories ?? []));
        }
        catch
        {
            // The monitor removes the cgroups when a host ends; this covers a host that never started.
            cgroups?.Delete();
            Directory.Delete(folder.Path, recursive: true);
            throw;
        }
    }

    private static VmDescription StartHost(VmFolder folder, string hostPath, IReadOnlyList<string> cgroups)
    {
        var start = new ProcessStartInfo(File.Exists("/usr/bin/setsid") ? "/usr/bin/setsid" : "setsid")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in (string[])["/bin/sh", "-c", MonitorScript, hostPath, folder.Path, .. cgroups])
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start) ?? throw new IOException($"Could not start {hostPath}.");
        process.StandardInput.Close();
        var readLine = process.StandardOutput.ReadLineAsync();
        if (!readLine.Wait(ReadyTimeout))
        {
            // The monitor shell leads a process group of its own (setsid): the group is the shell and the host.
            Posix.KillProcessGroup(process.Id);
            throw new TimeoutException($"The host process for '{folder.Name}' did not report ready within {ReadyTimeout.TotalSeconds} s.");
        }

        var line = readLine.Result;
        if (line is null)
        {
            // The host ended before it reported: what it said on stderr (a runtime crash, a missing library) is the reason.
            var stderr = process.StandardError.ReadToEnd().Trim();
            process.WaitForExit();
            throw new IOException($"The host process {hostPath} ended before it was ready ({folder.ReadExit()?.ToString() ?? "no exit status"}): {stderr}");
        }

        var readiness = JsonSerializer.Deserialize(line, ControlJson.Default.HostReadiness)
            ?? throw new InvalidDataException($"The host process said '{line}' instead of ready.");
        if (readiness.Error is { } error)
        {
            process.WaitForExit();
            throw new HostApiException(400, error);
        }

        return readiness.Vm ?? throw new InvalidDataException($"The host process said '{line}' instead of ready.");
    }
}
