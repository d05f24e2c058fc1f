namespace PvhVm.Core.Memory;

/// <summary>An access to guest-physical memory that is not entirely backed by guest RAM, or a mapping that failed.</summary>
internal sealed class GuestMemoryException : Exception
{
    public GuestMemoryException(string message) : base(message) { }
}
