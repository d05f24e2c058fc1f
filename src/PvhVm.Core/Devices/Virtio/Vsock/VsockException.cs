namespace PvhVm.Core.Devices.Virtio.Vsock;

/// <summary>The vsock device's host socket could not be made at <see cref="Path"/>; the message says why.</summary>
public sealed class VsockException(string path, string detail) : Exception($"Vsock socket '{path}': {detail}.")
{
    public string Path { get; } = path;
}
