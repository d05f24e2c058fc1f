using PvhVm.Core.Memory;

namespace PvhVm.Core.Devices.Virtio;

/// <summary>One descriptor's buffer, already checked to lie wholly inside one guest RAM region.</summary>
internal readonly record struct GuestBuffer(GuestAddress Address, uint Length);
