namespace PvhVm.Core.Kvm;

/// <summary>Checks whether this host can run VMs through /dev/kvm, and if not, why.</summary>
public static class KvmHost
{
    public static HostInfo Probe(string devicePath = KvmSystem.DefaultDevicePath)
    {
        if (!File.Exists(devicePath))
        {
            return Unusable(devicePath, $"{devicePath} does not exist.",
                "Load the KVM module (modprobe kvm_intel or kvm_amd) or enable hardware virtualisation; in a VM, enable nested virtualisation.");
        }

        try
        {
            using var system = KvmSystem.Open(devicePath);
            var capabilities = new Dictionary<string, int>(StringComparer.Ordinal);
            foreach (var capability in Enum.GetValues<KvmCapability>())
            {
                capabilities[capability.ToString()] = system.CheckExtension(capability);
            }

            var missing = new[] { KvmCapability.Irqchip, KvmCapability.UserMemory, KvmCapability.ExtCpuid, KvmCapability.ImmediateExit }
                .Where(c => capabilities[c.ToString()] == 0).ToArray();
            var problem = missing.Length == 0 ? null : $"KVM lacks capabilities the engine needs: {string.Join(", ", missing)}.";
            return new HostInfo(devicePath, missing.Length == 0, problem, problem is null ? null : "Use a newer host kernel.",
                system.ApiVersion, capabilities[nameof(KvmCapability.NrVcpus)], capabilities[nameof(KvmCapability.MaxVcpus)], capabilities);
        }
        catch (KvmException e) when (e.Errno is KvmException.EACCES or KvmException.EPERM)
        {
            return Unusable(devicePath, $"Permission denied opening {devicePath}.",
                $"Add the user to the group that owns {devicePath} (usually 'kvm': sudo usermod -aG kvm $USER, then log in again), or run as root.");
        }
        catch (KvmException e)
        {
            return Unusable(devicePath, e.Message, "Check that the KVM module is loaded and the device is a KVM device.");
        }
    }

    /// <summary>What the user can do about a failure to open /dev/kvm, when there is a known fix.</summary>
    public static string? DescribeRemedy(KvmException exception) => exception.Errno switch
    {
        KvmException.ENOENT => "Load the KVM module (modprobe kvm_intel or kvm_amd) or enable nested virtualisation.",
        KvmException.EACCES or KvmException.EPERM => "Add the user to the group that owns /dev/kvm (usually 'kvm') or run as root.",
        _ => null,
    };

    private static HostInfo Unusable(string devicePath, string problem, string remedy)
        => new(devicePath, false, problem, remedy, null, null, null, new Dictionary<string, int>());
}
