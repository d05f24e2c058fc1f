using System.Text.Json;
using PvhVm.Core.Machine;

namespace PvhVm.Control;

/// <summary>
/// Vsock CIDs for host-process VMs, unique across every pwsh of the user: the choice is made under an exclusive lock on
/// .vsock-cids.lock in the runtime directory, over the configs of every VM folder there (a VM being launched has its
/// config before its host starts), and the lock is held until the new VM's config holds its CID. Two sessions creating
/// vsock VMs at once therefore never hand out the same CID.
/// </summary>
public static class VsockCidAllocator
{
    /// <summary>0-2 are the hypervisor, the local loopback and the host; guests start at 3.</summary>
    private const uint FirstGuestCid = 3;

    /// <summary>
    /// The config with its CID: the one asked for, or the lowest that no VM folder's config and none of
    /// <paramref name="heldElsewhere"/> (this session's in-process VMs) holds. ArgumentException when the CID asked for is
    /// another VM's. Call under <see cref="RuntimeDirectory.LockVsockCids"/>.
    /// </summary>
    public static VmConfig Choose(RuntimeDirectory directory, VmConfig config, IEnumerable<uint> heldElsewhere)
    {
        var held = directory.Folders().Select(ReadCid).OfType<uint>().Concat(heldElsewhere).ToHashSet();
        if (config.VsockCid is { } requested)
        {
            return held.Contains(requested)
                ? throw new ArgumentException($"Vsock CID {requested} is already another VM's; VM '{config.Name}' needs its own.", nameof(config))
                : config;
        }

        var cid = FirstGuestCid;
        while (held.Contains(cid))
        {
            cid++;
        }

        return config with { VsockCid = cid };
    }

    private static uint? ReadCid(VmFolder folder)
    {
        try
        {
            return JsonSerializer.Deserialize(File.ReadAllBytes(folder.ConfigPath), ControlJson.Default.VmConfig) is { HasVsock: true } config ? config.VsockCid : null;
        }
        catch (Exception e) when (e is IOException or JsonException or UnauthorizedAccessException)
        {
            // A folder being made (no config yet) or removed: the config, once written, is seen by the next choice.
            return null;
        }
    }
}
