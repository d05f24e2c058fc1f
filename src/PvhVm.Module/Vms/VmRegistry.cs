using System.Collections.Concurrent;
using System.Management.Automation;
using PvhVm.Control;
using PvhVm.Core.Machine;
using PvhVm.Module.Commands;

namespace PvhVm.Module.Vms;

/// <summary>
/// Every VM this pwsh can reach, by case-insensitive name: the in-process VMs of this process (static, so every runspace
/// of the process sees the same ones; thread-safe for the same reason) and the host-process VMs of the user's runtime
/// directory, whichever pwsh made them. A host-process VM is one handle per folder and VM id in this process, so an
/// action through any cmdlet is seen by every variable that holds it.
/// </summary>
internal static class VmRegistry
{
    private static readonly ConcurrentDictionary<string, InProcessVm> InProcess = new(StringComparer.OrdinalIgnoreCase);
    private static readonly ConcurrentDictionary<string, HostProcessVm> HostProcess = new(StringComparer.Ordinal);

    static VmRegistry()
    {
        // pwsh exiting must not leave vCPU threads running or guest memory mapped. Host processes live on: that is their point.
        AppDomain.CurrentDomain.ProcessExit += (_, _) => ShutdownAll();
    }

    /// <summary>The runtime directory as the environment names it now (PVHVM_RUNTIME_DIR may change within a session).</summary>
    public static RuntimeDirectory Directory => RuntimeDirectory.Default;

    /// <summary>Whether a VM of this name exists in this process or has a folder in the runtime directory (live or not).</summary>
    public static bool Contains(string name) => InProcess.ContainsKey(name) || System.IO.Directory.Exists(Directory.FolderFor(name).Path);

    /// <summary>Registers an in-process VM; false when its name is already taken.</summary>
    public static bool TryAdd(InProcessVm vm) => !System.IO.Directory.Exists(Directory.FolderFor(vm.Name).Path) && InProcess.TryAdd(vm.Name, vm);

    /// <summary>The handle of the host process just launched into this folder.</summary>
    public static HostProcessVm AddHostProcess(VmFolder folder, VmDescription description) => HandleFor(folder, description, readLogFromStart: true);

    /// <summary>Whether this very in-process VM is still registered (not removed, not replaced by a newer one of its name).</summary>
    public static InProcessVm? Find(InProcessVm vm) => InProcess.TryGetValue(vm.Name, out var entry) && ReferenceEquals(entry, vm) ? entry : null;

    /// <summary>VMs whose names match the pattern (a literal name matches at most one), ordered by name.</summary>
    public static IReadOnlyList<VmHandle> Match(string pattern)
    {
        if (!WildcardPattern.ContainsWildcardCharacters(pattern))
        {
            if (InProcess.TryGetValue(pattern, out var entry))
            {
                return [entry];
            }

            return HostProcessVm(Directory.FolderFor(pattern)) is { } hosted ? [hosted] : [];
        }

        var wildcard = WildcardPattern.Get(pattern, WildcardOptions.IgnoreCase);
        return All().Where(vm => wildcard.IsMatch(vm.Name)).ToList();
    }

    public static VmHandle? FindById(Guid id) => All().FirstOrDefault(vm => vm.Id == id);

    public static IReadOnlyList<VmHandle> All()
        => InProcess.Values.Cast<VmHandle>()
            .Concat(Directory.Folders().Select(HostProcessVm).OfType<VmHandle>())
            .OrderBy(vm => vm.Name, StringComparer.OrdinalIgnoreCase).ToList();

    /// <summary>The vsock CIDs this session's in-process VMs hold: no VM folder shows them, so a host-process launch is told.</summary>
    public static IReadOnlyList<uint> InProcessVsockCids() => [.. InProcess.Values.Select(vm => vm.VsockCid).OfType<uint>()];

    /// <summary>Unregisters this very in-process VM (not a newer VM that took the same name).</summary>
    public static bool Remove(InProcessVm vm) => InProcess.TryRemove(new KeyValuePair<string, InProcessVm>(vm.Name, vm));

    /// <summary>Drops a removed host-process VM's handle (a new VM of its name gets a handle of its own).</summary>
    public static void Forget(HostProcessVm vm) => HostProcess.TryRemove(new KeyValuePair<string, HostProcessVm>(vm.Folder.Path, vm));

    /// <summary>Stops and disposes every in-process VM: the module is being removed or the process is exiting.</summary>
    public static void ShutdownAll()
    {
        foreach (var vm in InProcess.Values)
        {
            try
            {
                vm.Remove();
            }
            catch (Exception)
            {
                // One VM's failure must not keep the rest from being released.
            }
        }
    }

    /// <summary>
    /// The VM of a folder, or null for a folder that holds none yet (a launch under way, or one cut short before the host
    /// wrote its state). A folder whose host has died is a VM too: Failed, until Remove-PvhVm cleans it up.
    /// </summary>
    private static HostProcessVm? HostProcessVm(VmFolder folder)
    {
        var state = folder.ReadState();
        if (state is null)
        {
            return null;
        }

        var handle = HandleFor(folder, state, readLogFromStart: false);
        handle.Expire();
        return handle;
    }

    private static HostProcessVm HandleFor(VmFolder folder, VmDescription state, bool readLogFromStart)
        => HostProcess.AddOrUpdate(folder.Path, _ => NewHandle(folder, state, readLogFromStart),
            (_, known) => known.Id == state.Id ? known : NewHandle(folder, state, readLogFromStart));

    private static HostProcessVm NewHandle(VmFolder folder, VmDescription state, bool readLogFromStart)
    {
        var handle = new HostProcessVm(folder, state, readLogFromStart);
        PvhCmdlet.TagVm(handle);
        return handle;
    }
}
