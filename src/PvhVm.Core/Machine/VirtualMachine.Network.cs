using PvhVm.Core.Devices.Virtio.Net;

namespace PvhVm.Core.Machine;

/// <summary>The VM's network adapters and its vsock channel.</summary>
public sealed partial class VirtualMachine
{
    /// <summary>The longest port suffix a guest connection adds to the socket path: "_4294967295".</summary>
    private const int VsockPortSuffixLength = 11;

    /// <summary>sun_path less its terminating NUL.</summary>
    private const int UnixSocketPathMax = 107;

    /// <summary>The guest's vsock CID, or null without vsock.</summary>
    public uint? VsockCid => Config.HasVsock ? Config.VsockCid : null;

    /// <summary>The host's Unix socket for the guest's vsock (`CONNECT port` on it), or null without vsock. It exists while the VM runs.</summary>
    public string? VsockPath => Config.HasVsock ? Config.VsockPath : null;

    /// <summary>The adapters, in guest order, with their traffic since the VM started.</summary>
    public IReadOnlyList<VmNetworkAdapter> GetNetworkAdapters()
    {
        var attached = _devices?.NetworkAdapters;
        return Config.NetworkAdapters.Select((adapter, index) =>
        {
            var statistics = attached?[index].Statistics;
            return new VmNetworkAdapter(Name, adapter.TapName, adapter.MacAddress!, statistics?.PacketsIn ?? 0, statistics?.BytesIn ?? 0,
                statistics?.PacketsOut ?? 0, statistics?.BytesOut ?? 0, statistics?.DroppedIn ?? 0, statistics?.DroppedOut ?? 0,
                statistics?.TapLost ?? false);
        }).ToList();
    }

    /// <summary>Adds an adapter after the others to a VM that has not started; the tap is opened (or created) only at start.</summary>
    public VmNetworkAdapter AddNetworkAdapter(NetworkAdapterConfig adapter)
    {
        ArgumentNullException.ThrowIfNull(adapter);
        lock (_gate)
        {
            ThrowUnlessCreated("add a network adapter to");
            Publish(WithNetworkAdapter(_config, adapter));
        }

        return GetNetworkAdapters()[^1];
    }

    /// <summary>Removes the adapter on this tap from a VM that has not started; false if there is none.</summary>
    public bool RemoveNetworkAdapter(string tapName)
    {
        lock (_gate)
        {
            ThrowUnlessCreated("remove a network adapter from");
            var adapters = _config.NetworkAdapters.Where(adapter => adapter.TapName != tapName).ToList();
            if (adapters.Count == _config.NetworkAdapters.Count)
            {
                return false;
            }

            Publish(_config with { NetworkAdapters = adapters });
            return true;
        }
    }

    /// <summary><paramref name="config"/> with <paramref name="adapter"/> after its adapters, its MAC checked or derived.</summary>
    private VmConfig WithNetworkAdapter(VmConfig config, NetworkAdapterConfig adapter)
    {
        Tap.CheckName(adapter.TapName);
        CheckDeviceSlot(config, $"tap '{adapter.TapName}'");
        if (config.NetworkAdapters.Any(other => other.TapName == adapter.TapName))
        {
            throw new TapException(TapProblem.AlreadyAttached, adapter.TapName, $"is already a network adapter of VM '{config.Name}'");
        }

        MacAddress mac;
        if (adapter.MacAddress is null)
        {
            mac = MacAddress.Derive($"{Id}/{adapter.TapName}");
        }
        else if (!MacAddress.TryParse(adapter.MacAddress, out mac))
        {
            throw new ArgumentException($"'{adapter.MacAddress}' is not a unicast MAC address (six hex pairs, like 02:00:00:00:00:01).", nameof(adapter));
        }

        return config with { NetworkAdapters = [.. config.NetworkAdapters, adapter with { MacAddress = mac.ToString() }] };
    }

    /// <summary>
    /// The configuration with its vsock CID held (a free one other than <paramref name="avoidCid"/> unless it names one)
    /// and its socket path decided, when it has vsock at all.
    /// </summary>
    private VmConfig WithVsockResolved(VmConfig config, uint? avoidCid = null)
    {
        if (!config.HasVsock)
        {
            return config;
        }

        var path = Path.GetFullPath(config.VsockPath ?? Path.Combine(RuntimeDirectory, $"pvhvm-{Id:N}", "vsock"));
        if (path.Length + VsockPortSuffixLength > UnixSocketPathMax)
        {
            throw new ArgumentException($"The vsock socket path '{path}' is too long for a Unix socket with a port suffix ({UnixSocketPathMax - VsockPortSuffixLength} characters at most).");
        }

        CheckDeviceSlot(config with { EnableVsock = false, VsockCid = null, VsockPath = null }, "vsock");
        return config with { EnableVsock = true, VsockPath = path, VsockCid = VsockCids.Reserve(config.VsockCid, config.Name, avoidCid) };
    }

    private static string RuntimeDirectory =>
        Environment.GetEnvironmentVariable("XDG_RUNTIME_DIR") is { Length: > 0 } runtime && Directory.Exists(runtime) ? runtime : Path.GetTempPath();
}
