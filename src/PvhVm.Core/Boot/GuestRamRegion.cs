namespace PvhVm.Core.Boot;

/// <summary>One contiguous block of guest RAM and where the host mapped it.</summary>
public sealed record GuestRamRegion(ulong GuestAddress, ulong Size, nint HostAddress)
{
    public ulong End => GuestAddress + Size;
}
