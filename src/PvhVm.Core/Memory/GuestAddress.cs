namespace PvhVm.Core.Memory;

/// <summary>
/// A guest-physical address (vm-memory's <c>GuestAddress</c>). Arithmetic on it is checked: addresses and offsets come
/// from untrusted kernels and guests, and a sum that wraps past 2^64 must fail, never alias low memory.
/// </summary>
internal readonly record struct GuestAddress(ulong Value)
{
    /// <summary>The ABI structures and the layout carry addresses as plain u64.</summary>
    public static implicit operator GuestAddress(ulong value) => new(value);

    /// <summary><c>this + offset</c>, or null when the sum does not fit in 64 bits.</summary>
    public GuestAddress? CheckedAdd(ulong offset) => offset > ulong.MaxValue - Value ? null : new GuestAddress(Value + offset);

    public override string ToString() => $"0x{Value:x}";
}
