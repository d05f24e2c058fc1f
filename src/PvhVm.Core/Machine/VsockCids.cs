namespace PvhVm.Core.Machine;

/// <summary>
/// The vsock CIDs this process's VMs hold: a CID is an address on the host's vsock "network", so two live VMs must not
/// share one (with vhost-vsock the kernel would refuse; here the Unix sockets differ, but guests and scripts still
/// name peers by CID).
/// </summary>
internal static class VsockCids
{
    /// <summary>0-2 are the hypervisor, the local loopback and the host; guests start at 3.</summary>
    public const uint FirstGuestCid = 3;

    private static readonly HashSet<uint> Held = [];

    /// <summary>
    /// Holds <paramref name="requested"/>, or the lowest free CID other than <paramref name="avoid"/> (a restored VM's
    /// checkpointed CID, whose VM may still run elsewhere); ArgumentException if the one asked for is taken or reserved.
    /// </summary>
    public static uint Reserve(uint? requested, string vmName, uint? avoid = null)
    {
        lock (Held)
        {
            if (requested is { } cid)
            {
                if (cid is < FirstGuestCid or uint.MaxValue)
                {
                    throw new ArgumentException($"Vsock CID {cid} is reserved: a guest's CID is {FirstGuestCid} to {uint.MaxValue - 1}.", nameof(requested));
                }

                if (!Held.Add(cid))
                {
                    throw new ArgumentException($"Vsock CID {cid} is already another VM's; VM '{vmName}' needs its own.", nameof(requested));
                }

                return cid;
            }

            var next = FirstGuestCid;
            while (next == avoid || !Held.Add(next))
            {
                next++;
            }

            return next;
        }
    }

    public static void Release(uint cid)
    {
        lock (Held)
        {
            Held.Remove(cid);
        }
    }
}
