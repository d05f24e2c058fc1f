using PvhVm.Core.Host;
using PvhVm.Core.Interop;

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
            return Unusable(devicePath, $"Permission denied opening {devicePath}.", AccessRemedy(devicePath));
        }
        catch (KvmException e)
        {
            return Unusable(devicePath, e.Message, "Check that the KVM module is loaded and the device is a KVM device.");
        }
        catch (HostResourceException e)
        {
            return Unusable(devicePath, e.Message, HostResourceException.Remedy(e.Resource));
        }
    }

    /// <summary>What the user can do about a failure to open /dev/kvm, when there is a known fix.</summary>
    public static string? DescribeRemedy(KvmException exception) => exception.Errno switch
    {
        KvmException.ENOENT => "Load the KVM module (modprobe kvm_intel or kvm_amd) or enable nested virtualisation.",
        KvmException.EACCES or KvmException.EPERM => AccessRemedy(KvmSystem.DefaultDevicePath),
        _ => null,
    };

    /// <summary>
    /// How to get access to the device, from its actual group and mode: joining its group helps only when the group
    /// may read and write it (root:kvm 0660 on most distributions, but root:root 0600 on some hosts).
    /// </summary>
    internal static string AccessRemedy(string devicePath)
    {
        if (Libc.Statx(Libc.AT_FDCWD, devicePath, 0, Libc.STATX_MODE | Libc.STATX_GID, out var status) != 0)
        {
            return $"Give the user read and write access to {devicePath} (usually by joining the 'kvm' group), or run as root.";
        }

        var group = GroupName(status.Gid);
        const int GroupReadWrite = 0b110_000;
        return (status.Mode & GroupReadWrite) == GroupReadWrite
            ? $"Add the user to the group '{group}' that owns {devicePath} (sudo usermod -aG {group} $USER, then log in again), or run as root."
            : $"{devicePath} has mode {Convert.ToString(status.Mode & 0x1FF, 8)} and group '{group}', which gives no group access: let a group use it "
                + $"(sudo chgrp kvm {devicePath} && sudo chmod 0660 {devicePath}, or the distribution's udev rule for KVM), "
                + "add the user to that group and log in again; or run as root.";
    }

    // /etc/group lines are name:password:gid:members; a group missing from it is named by number.
    private static string GroupName(uint gid)
    {
        try
        {
            foreach (var line in File.ReadLines("/etc/group"))
            {
                var fields = line.Split(':');
                if (fields.Length >= 3 && uint.TryParse(fields[2], out var id) && id == gid)
                {
                    return fields[0];
                }
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }

        return gid.ToString(System.Globalization.CultureInfo.InvariantCulture);
    }

    private static HostInfo Unusable(string devicePath, string problem, string remedy)
        => new(devicePath, false, problem, remedy, null, null, null, new Dictionary<string, int>());
}
