namespace PvhVm.Core.Memory;

/// <summary>One contiguous block of guest RAM. Where the host mapped it stays inside the engine.</summary>
internal sealed record GuestRamRegion(ulong GuestAddress, ulong Size)
{
    internal GuestRamRegion(ulong guestAddress, ulong size, nint hostAddress)
        : this(guestAddress, size)
    {
        HostAddress = hostAddress;
    }

    /// <summary>The host mapping; handed only to KVM (memory slots) and to <see cref="GuestMemory"/>'s checked views.</summary>
    internal nint HostAddress { get; }

    public ulong End => GuestAddress + Size;
}
