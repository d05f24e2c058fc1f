namespace PvhVm.Control;

/// <summary>A VM of that name already has a folder in the runtime directory (a live host, or a dead one not yet removed).</summary>
public sealed class VmFolderExistsException(string name, string path)
    : IOException($"A VM named '{name}' already exists in {Path.GetDirectoryName(path)}; VM names are unique (case-insensitive).")
{
    public string Name { get; } = name;
}
