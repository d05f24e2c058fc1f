namespace PvhVm.Control;

/// <summary>
/// The per-user directory that holds one folder per host-process VM: <c>$XDG_RUNTIME_DIR/pvhvm</c>, or
/// <c>/run/pvhvm</c> for root (and for a user without XDG_RUNTIME_DIR, <c>/tmp/pvhvm-&lt;uid&gt;</c>). Mode 0700:
/// no other user can reach a VM's socket. PVHVM_RUNTIME_DIR overrides it (tests, and one directory per SSH "host").
/// </summary>
public static class RuntimeDirectory
{
    public const string OverrideVariable = "PVHVM_RUNTIME_DIR";

    private const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    public static string Path => Environment.GetEnvironmentVariable(OverrideVariable) is { Length: > 0 } explicitPath
        ? explicitPath
        : DefaultPath(Environment.GetEnvironmentVariable("XDG_RUNTIME_DIR"), Posix.GetUid());

    internal static string DefaultPath(string? xdgRuntimeDir, uint uid)
        => uid == 0 ? "/run/pvhvm"
            : xdgRuntimeDir is { Length: > 0 } ? System.IO.Path.Combine(xdgRuntimeDir, "pvhvm")
            : $"/tmp/pvhvm-{uid}";

    /// <summary>Creates the directory (0700) if needed and refuses one that another user owns or others can enter.</summary>
    public static string Ensure()
    {
        var path = Path;
        var info = Directory.CreateDirectory(path, OwnerOnly);
        if ((info.UnixFileMode & ~OwnerOnly) != 0)
        {
            File.SetUnixFileMode(path, OwnerOnly);
        }

        var owner = Posix.OwnerOf(path);
        if (owner != Posix.GetUid())
        {
            throw new UnauthorizedAccessException($"The PvhVm runtime directory {path} belongs to uid {owner}, not to this user.");
        }

        return path;
    }

    /// <summary>Every VM folder in the directory, ordered by name; none when the directory does not exist.</summary>
    public static IReadOnlyList<VmFolder> Folders()
    {
        var path = Path;
        return Directory.Exists(path)
            ? Directory.EnumerateDirectories(path).Select(d => new VmFolder(d)).OrderBy(f => f.Name, StringComparer.OrdinalIgnoreCase).ToList()
            : [];
    }

    /// <summary>The folder a VM of this name has (or would have). Names are case-insensitive, so the folder is named by the lower-case name.</summary>
    public static VmFolder FolderFor(string name) => new(System.IO.Path.Combine(Path, VmFolder.FolderName(name)));
}
