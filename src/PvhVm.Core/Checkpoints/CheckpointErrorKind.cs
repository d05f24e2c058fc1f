namespace PvhVm.Core.Checkpoints;

/// <summary>Why a pause, a checkpoint or a restore could not be done; each has its own error id in the module.</summary>
public enum CheckpointErrorKind
{
    /// <summary>The VM has a device whose state cannot be paused or saved faithfully (see docs/CHECKPOINTS.md).</summary>
    UnsupportedDevice,

    /// <summary>A vCPU did not leave the guest in time.</summary>
    PauseTimeout,

    /// <summary>The checkpoint folder exists and is not empty.</summary>
    FolderNotEmpty,

    /// <summary>No manifest.json in the folder: not a checkpoint.</summary>
    ManifestMissing,

    /// <summary>The manifest is not valid JSON of the expected shape, or its values are out of range.</summary>
    ManifestInvalid,

    /// <summary>The manifest declares a format version this engine does not read.</summary>
    UnsupportedVersion,

    /// <summary>The state file is shorter than it says, longer than allowed, or its hash does not match the manifest.</summary>
    StateCorrupt,

    /// <summary>The memory file is missing or not exactly the guest's RAM size.</summary>
    MemoryTruncated,

    /// <summary>KVM refused a saved state on restore (another host CPU or kernel, or a state altered to be invalid).</summary>
    StateRejected,

    /// <summary>The checkpointed VM had a writable disk and the restore named no image for it: two VMs must not write one image.</summary>
    WritableDiskNeedsImage,

    /// <summary>An image given for a restored disk is not the checkpointed disk's size (the guest knows its capacity).</summary>
    DiskMismatch,
}
