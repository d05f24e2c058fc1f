using System.Collections.Concurrent;
using System.Management.Automation;
using PvhVm.Core.Machine;

namespace PvhVm.Module.Registry;

/// <summary>
/// Every VM of this process, by case-insensitive name. Static, so every runspace of the process
/// (ForEach-Object -Parallel, thread jobs) sees the same VMs; thread-safe for the same reason.
/// </summary>
internal static class VmRegistry
{
    private static readonly ConcurrentDictionary<string, RegisteredVm> Vms = new(StringComparer.OrdinalIgnoreCase);

    static VmRegistry()
    {
        // pwsh exiting must not leave vCPU threads running or guest memory mapped.
        AppDomain.CurrentDomain.ProcessExit += (_, _) => ShutdownAll();
    }

    public static bool Contains(string name) => Vms.ContainsKey(name);

    /// <summary>Registers the VM; false when its name is already taken.</summary>
    public static bool TryAdd(RegisteredVm entry) => Vms.TryAdd(entry.Name, entry);

    /// <summary>The registration of this very VM object, or null when it was removed (or never registered).</summary>
    public static RegisteredVm? Find(VirtualMachine vm)
        => Vms.TryGetValue(vm.Name, out var entry) && ReferenceEquals(entry.Vm, vm) ? entry : null;

    /// <summary>Registered VMs whose names match the pattern (a literal name matches at most one), ordered by name.</summary>
    public static IReadOnlyList<RegisteredVm> Match(string pattern)
    {
        if (!WildcardPattern.ContainsWildcardCharacters(pattern))
        {
            return Vms.TryGetValue(pattern, out var entry) ? [entry] : [];
        }

        var wildcard = WildcardPattern.Get(pattern, WildcardOptions.IgnoreCase);
        return All().Where(entry => wildcard.IsMatch(entry.Name)).ToList();
    }

    public static RegisteredVm? FindById(Guid id) => Vms.Values.FirstOrDefault(entry => entry.Vm.Id == id);

    public static IReadOnlyList<RegisteredVm> All()
        => Vms.Values.OrderBy(entry => entry.Name, StringComparer.OrdinalIgnoreCase).ToList();

    /// <summary>Unregisters this very entry (not a newer VM that took the same name).</summary>
    public static bool Remove(RegisteredVm entry) => Vms.TryRemove(new KeyValuePair<string, RegisteredVm>(entry.Name, entry));

    /// <summary>Stops and disposes every VM: the module is being removed or the process is exiting.</summary>
    public static void ShutdownAll()
    {
        foreach (var entry in Vms.Values)
        {
            if (Remove(entry))
            {
                Release(entry.Vm);
            }
        }
    }

    /// <summary>Stops the VM if it runs (Dispose waits for its vCPUs), then frees it. Never throws: it runs at teardown.</summary>
    private static void Release(VirtualMachine vm)
    {
        try
        {
            vm.Dispose();
        }
        catch (Exception)
        {
            // One VM's failure must not keep the rest from being released.
        }
    }
}
