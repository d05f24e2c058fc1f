namespace PvhVm.Core.Checkpoints;

/// <summary>
/// Who a VM restored from a checkpoint is: its name, and the identity it must not share with the checkpointed VM or its
/// other clones. Lists go by device, in guest order (disks vda first, adapters eth0 first); a missing or null entry
/// takes the default. Defaults: a new locally administered MAC per adapter, a free vsock CID and a socket of the VM's
/// own, the checkpointed tap names, and the checkpointed image of each read-only disk (shared; its lock is shared). A
/// writable disk has no default: two VMs must never write one image, so it needs an image here
/// (<see cref="CheckpointErrorKind.WritableDiskNeedsImage"/> otherwise), of the checkpointed disk's size.
/// </summary>
public sealed record CheckpointRestoreOptions
{
    /// <summary>The VM's name; null for the checkpoint's VM name.</summary>
    public string? Name { get; init; }

    /// <summary>Per disk: the image this VM uses instead of the checkpointed one (a copy of it, or one made from the same base).</summary>
    public IReadOnlyList<string?> DiskPaths { get; init; } = [];

    /// <summary>Per network adapter: the tap this VM's adapter attaches to; null for the checkpointed VM's tap name.</summary>
    public IReadOnlyList<string?> TapNames { get; init; } = [];

    /// <summary>Per network adapter: its MAC ("02:00:00:00:00:05"); null for a new locally administered one.</summary>
    public IReadOnlyList<string?> MacAddresses { get; init; } = [];

    /// <summary>The guest's vsock CID; null for one no other VM of this process holds.</summary>
    public uint? VsockCid { get; init; }

    /// <summary>The host's Unix socket for the guest's vsock; null for one in a private directory of the VM's own.</summary>
    public string? VsockPath { get; init; }
}
