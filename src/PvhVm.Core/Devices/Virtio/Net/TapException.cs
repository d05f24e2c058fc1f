namespace PvhVm.Core.Devices.Virtio.Net;

/// <summary>A tap interface could not be opened or created; the message names it and says why (errno text).</summary>
internal sealed class TapException(string tapName, string detail) : Exception($"Tap '{tapName}': {detail}.")
{
    public string TapName { get; } = tapName;
}
