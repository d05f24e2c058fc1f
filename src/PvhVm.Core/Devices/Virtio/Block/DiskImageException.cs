namespace PvhVm.Core.Devices.Virtio.Block;

/// <summary>Why a disk image could not be attached.</summary>
public enum DiskImageProblem
{
    NotFound,
    NotAccessible,
    NotARegularFile,

    /// <summary>Smaller than one 512-byte sector: the guest would see a disk of size zero.</summary>
    TooSmall,

    /// <summary>Another open of the image (this process or another VMM) holds a conflicting lock: a second writer, or a writer while others read.</summary>
    Locked,

    /// <summary>The VM already has the image as a disk.</summary>
    AlreadyAttached,
}

/// <summary>A disk image path could not become a disk; <see cref="Problem"/> says why.</summary>
public sealed class DiskImageException(DiskImageProblem problem, string path, string detail)
    : Exception($"Disk image '{path}': {detail}.")
{
    public DiskImageProblem Problem { get; } = problem;

    public string Path { get; } = path;
}
