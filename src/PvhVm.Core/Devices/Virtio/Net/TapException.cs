namespace PvhVm.Core.Devices.Virtio.Net;

/// <summary>Why a tap could not become a network adapter.</summary>
public enum TapProblem
{
    /// <summary>Not a name Linux takes for an interface (1-15 printable characters, no space, '/' or ':').</summary>
    InvalidName,

    /// <summary>The VM already has an adapter on this tap.</summary>
    AlreadyAttached,

    /// <summary>/dev/net/tun or TUNSETIFF refused: no CAP_NET_ADMIN, a tap owned by another user, a name taken by another kind of interface.</summary>
    Unavailable,
}

/// <summary>A tap could not be attached or opened; <see cref="Problem"/> says why, the message names it and gives errno's text.</summary>
public sealed class TapException(TapProblem problem, string tapName, string detail) : Exception($"Tap '{tapName}': {detail}.")
{
    public TapProblem Problem { get; } = problem;

    public string TapName { get; } = tapName;
}
