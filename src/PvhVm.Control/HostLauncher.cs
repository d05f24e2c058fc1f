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
    // with " oom" when the memory cgroup counted an OOM kill (read before the cgroup goes), named relative to the folder
    // the monitor stands in: after DELETE /vm that folder is gone and the write fails, silently (the launcher's stderr
    // pipe may be long closed), even when a new VM of the same name has made a new folder at the same path meanwhile
    // (by path, the write landed there: seen under load).
    private const string MonitorScript =
        "host=$0 folder=$1; shift; cd \"$folder\" || exit 125; "
        + "( for cgroup; do echo 0 > \"$cgroup/cgroup.procs\" || exit 125; done; exec \"$host\" --folder \"$folder\" ); "
        + "status=$? oom=; for cgroup; do grep -qs '^oom_kill [1-9]' \"$cgroup/memory.oom_control\" && oom=' oom'; done; "
        + "{ echo \"$status$oom\" > host.exit; } 2>/dev/null; [ $# -eq 0 ] || rmdir \"$@\" 2>/dev/null";

    /// <summary>
    /// Makes the VM's folder (and, for <paramref name="limits"/>, its cgroups), starts its host and returns once the host
    /// listens on its socket with the VM created. Throws <see cref="HostApiException"/> with the engine's error when the
    /// host could not create the VM (the folder is removed then), <see cref="VmFolderExistsException"/> when the name's
    /// folder exists already, <see cref="CgroupUnavailableException"/> when the limits cannot be applied,
    /// <see cref="HostOutOfMemoryException"/> when the memory limit lets the host not even start.
    /// </summary>
    /// <param name="vsockCidsHeldInProcess">For a vsock VM: the CIDs this process's own (in-process) VMs hold, which no VM
    /// folder shows; the CID itself is chosen host-wide (<see cref="VsockCidAllocator"/>).</param>
    public static (VmFolder Folder, VmDescription Vm) Launch(RuntimeDirectory directory, VmConfig config, string hostPath, HostLimits? limits = null,
        IEnumerable<uint>? vsockCidsHeldInProcess = null)
        => Launch(directory, config.Name, config.HasVsock, folder =>
        {
            var chosen = config.HasVsock ? VsockCidAllocator.Choose(directory, config, vsockCidsHeldInProcess ?? []) : config;
            File.WriteAllBytes(folder.ConfigPath, JsonSerializer.SerializeToUtf8Bytes(chosen, ControlJson.Default.VmConfig));
        }, hostPath, limits);

    /// <summary>
    /// As <see cref="Launch(RuntimeDirectory, VmConfig, string, HostLimits?, IEnumerable{uint}?)"/>, for a VM the host
    /// restores from a checkpoint (in state Created: starting it resumes the guest); a checkpoint the host cannot read is
    /// a <see cref="HostApiException"/> with the engine's CheckpointException.
    /// </summary>
    /// <param name="hasVsock">The checkpoint had a vsock device: the VM gets a CID chosen as a new VM's is.</param>
    public static (VmFolder Folder, VmDescription Vm) Launch(RuntimeDirectory directory, RestoreRequest restore, bool hasVsock, string hostPath,
        IEnumerable<uint>? vsockCidsHeldInProcess = null, HostLimits? limits = null)
        => Launch(directory, restore.Name, hasVsock, folder =>
        {
            var chosen = hasVsock ? VsockCidAllocator.Choose(directory, restore, vsockCidsHeldInProcess ?? []) : restore;
            File.WriteAllBytes(folder.RestorePath, JsonSerializer.SerializeToUtf8Bytes(chosen, ControlJson.Default.RestoreRequest));
        }, hostPath, limits);

    /// <param name="chooseVsockCid">Make the folder and write the request under the runtime directory's CID lock: the
    /// request chooses the VM's CID, and no other session may choose until the config holds it.</param>
    private static (VmFolder Folder, VmDescription Vm) Launch(RuntimeDirectory directory, string name, bool chooseVsockCid, Action<VmFolder> writeRequest,
        string hostPath, HostLimits? limits)
    {
        directory.Ensure();
        var folder = directory.FolderFor(name);
        using (chooseVsockCid ? directory.LockVsockCids() : null)
        {
            if (!Posix.TryMakePrivateDirectory(folder.Path))
            {
                throw new VmFolderExistsException(name, folder.Path);
            }

            try
            {
                writeRequest(folder);
            }
            catch
            {
                Directory.Delete(folder.Path, recursive: true);
                throw;
            }
        }

        VmCgroups? cgroups = null;
        try
        {
            if (limits is { IsEmpty: false })
            {
                // Before the host starts, so that every client that sees the VM sees its limits too.
                File.WriteAllBytes(folder.LimitsPath, JsonSerializer.SerializeToUtf8Bytes(limits, ControlJson.Default.HostLimits));
                cgroups = VmCgroups.Create(folder.Name, limits);
            }

            return (folder, StartHost(folder, hostPath, cgroups?.Directories ?? [], limits));
        }
        catch
        {
            // The monitor removes the cgroups when a host ends; this covers a host that never started.
            cgroups?.Delete();
            Directory.Delete(folder.Path, recursive: true);
            throw;
        }
    }

    private static VmDescription StartHost(VmFolder folder, string hostPath, IReadOnlyList<string> cgroups, HostLimits? limits)
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
            var exit = folder.ReadExit();
            if (exit is { OutOfMemory: true })
            {
                throw new HostOutOfMemoryException(
                    $"The host process for '{folder.Name}' was killed by the kernel's OOM killer before it was ready: its memory limit of "
                    + $"{limits?.MemoryLimitMB} MiB leaves too little for the host program and the guest pages it touches while it starts. Raise -MemoryLimitMB.");
            }

            throw new IOException($"The host process {hostPath} ended before it was ready ({exit?.ToString() ?? "no exit status"}): {stderr}");
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
