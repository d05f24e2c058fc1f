namespace PvhVm.Core.Machine;

/// <summary>
/// A network adapter of a VM: a virtio-net device on a host tap interface. The tap is attached by name if it exists
/// (made with `ip tuntap add`, it stays after the VM), else created when the VM starts and removed when it stops.
/// </summary>
/// <param name="MacAddress">The guest's Ethernet address ("02:00:00:00:00:01"); null to derive one from the VM and the tap name.</param>
public sealed record NetworkAdapterConfig(string TapName, string? MacAddress = null);
