using System.Text.Json;
using PvhVm.Core.Machine;

namespace PvhVm.Control;

/// <summary>
/// Vsock CIDs for host-process VMs, unique across every pwsh of the user: the choice is made under an exclusive lock on
/// .vsock-cids.lock in the runtime directory, over the requests (config.json or restore.json) of every VM folder there (a
/// VM being launched has its request before its host starts), and the lock is held until the new VM's request holds its
/// CID. Two sessions creating or restoring vsock VMs at once therefore never hand out the same CID.
/// </summary>
public static class VsockCidAllocator
{
    /// <summary>0-2 are the hypervisor, the local loopback and the host; guests start at 3.</summary>
    private const uint FirstGuestCid = 3;

    /// <summary>
    /// The config with its CID: the one asked for, or the lowest that no VM folder's request and none of
    /// <paramref name="heldElsewhere"/> (this session's in-process VMs) holds. ArgumentException when the CID asked for is
    /// another VM's. Call under <see cref="RuntimeDirectory.LockVsockCids"/>.
    /// </summary>
    public static VmConfig Choose(RuntimeDirectory directory, VmConfig config, IEnumerable<uint> heldElsewhere)
        => config with { VsockCid = Choose(HeldBy(directory, heldElsewhere), config.VsockCid, config.Name) };

    /// <summary>As <see cref="Choose(RuntimeDirectory, VmConfig, IEnumerable{uint})"/>, for a VM restored from a checkpoint that had vsock.</summary>
    public static RestoreRequest Choose(RuntimeDirectory directory, RestoreRequest restore, IEnumerable<uint> heldElsewhere)
        => restore with { VsockCid = Choose(HeldBy(directory, heldElsewhere), restore.VsockCid, restore.Name) };

    /// <summary>
    /// <paramref name="requested"/> when none of <paramref name="held"/> is it (ArgumentException when one is), or the
    /// lowest guest CID none of them is.
    /// </summary>
    public static uint Choose(IReadOnlySet<uint> held, uint? requested, string vmName)
    {
        if (requested is { } cid)
        {
            return held.Contains(cid)
                ? throw new ArgumentException($"Vsock CID {cid} is already another VM's; VM '{vmName}' needs its own.", "VsockCid")
                : cid;
        }

        var free = FirstGuestCid;
        while (held.Contains(free))
        {
            free++;
        }

        return free;
    }

    private static HashSet<uint> HeldBy(RuntimeDirectory directory, IEnumerable<uint> heldElsewhere)
        => directory.Folders().Select(ReadCid).OfType<uint>().Concat(heldElsewhere).ToHashSet();

    private static uint? ReadCid(VmFolder folder)
    {
        try
        {
            if (File.Exists(folder.RestorePath))
            {
                // Written with a CID only when the checkpoint had vsock.
                return JsonSerializer.Deserialize(File.ReadAllBytes(folder.RestorePath), ControlJson.Default.RestoreRequest)?.VsockCid;
            }

            return JsonSerializer.Deserialize(File.ReadAllBytes(folder.ConfigPath), ControlJson.Default.VmConfig) is { HasVsock: true } config ? config.VsockCid : null;
        }
        catch (Exception e) when (e is IOException or JsonException or UnauthorizedAccessException)
        {
            // A folder being made (no request yet) or removed: the request, once written, is seen by the next choice.
            return null;
        }
    }
}
