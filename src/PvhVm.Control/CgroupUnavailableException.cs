namespace PvhVm.Control;

/// <summary>
/// A limit cannot be applied: the cgroup v1 hierarchy of its controller is not mounted, or this user cannot write to it
/// (read-only, no permission). <see cref="Path"/> is what was missing or refused.
/// </summary>
public sealed class CgroupUnavailableException(string message, string path, Exception? inner = null) : IOException(message, inner)
{
    public string Path { get; } = path;
}
