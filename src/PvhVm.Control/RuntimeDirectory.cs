namespace PvhVm.Control;

/// <summary>
/// The per-user directory that holds one folder per host-process VM: <c>$XDG_RUNTIME_DIR/pvhvm</c>, or
/// <c>/run/pvhvm</c> for root (and for a user without XDG_RUNTIME_DIR, <c>/tmp/pvhvm-&lt;uid&gt;</c>). Mode 0700:
/// no other user can reach a VM's socket. PVHVM_RUNTIME_DIR overrides it (one directory per SSH "host" in the tests).
/// </summary>
public sealed class RuntimeDirectory(string path)
{
    public const string OverrideVariable = "PVHVM_RUNTIME_DIR";

    private const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    public string Path { get; } = path;

    /// <summary>This user's directory, as the environment says now.</summary>
    public static RuntimeDirectory Default => new(Environment.GetEnvironmentVariable(OverrideVariable) is { Length: > 0 } explicitPath
        ? explicitPath
        : DefaultPath(Environment.GetEnvironmentVariable("XDG_RUNTIME_DIR"), Posix.GetUid()));

    internal static string DefaultPath(string? xdgRuntimeDir, uint uid)
        => uid == 0 ? "/run/pvhvm"
            : xdgRuntimeDir is { Length: > 0 } ? System.IO.Path.Combine(xdgRuntimeDir, "pvhvm")
            : $"/tmp/pvhvm-{uid}";

    /// <summary>Creates the directory (0700) if needed; refuses one that another user owns.</summary>
    public void Ensure()
    {
        var info = Directory.CreateDirectory(Path, OwnerOnly);
        if ((info.UnixFileMode & ~OwnerOnly) != 0)
        {
            File.SetUnixFileMode(Path, OwnerOnly);
        }

        var owner = Posix.OwnerOf(Path);
        if (owner != Posix.GetUid())
        {
            throw new UnauthorizedAccessException($"The PvhVm runtime directory {Path} belongs to uid {owner}, not to this user.");
        }
    }

    /// <summary>
    /// An exclusive lock (flock) on .vsock-cids.lock in the directory, held until disposed; waits while another session
    /// holds it. See <see cref="VsockCidAllocator"/>.
    /// </summary>
    public IDisposable LockVsockCids() => Posix.LockExclusive(System.IO.Path.Combine(Path, ".vsock-cids.lock"));

    /// <summary>Every VM folder in the directory, ordered by name; none when the directory does not exist.</summary>
    public IReadOnlyList<VmFolder> Folders()
        => Directory.Exists(Path)
            ? Directory.EnumerateDirectories(Path).Select(d => new VmFolder(d)).OrderBy(f => f.Name, StringComparer.OrdinalIgnoreCase).ToList()
            : [];

    /// <summary>The folder a VM of this name has (or would have).</summary>
    public VmFolder FolderFor(string name) => new(System.IO.Path.Combine(Path, VmFolder.FolderName(name)));
}
