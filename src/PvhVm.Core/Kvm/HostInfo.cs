namespace PvhVm.Core.Kvm;

/// <summary>Whether this host can run VMs, and if not, why and how to fix it.</summary>
public sealed record HostInfo(
    string DevicePath,
    bool IsUsable,
    string? Problem,
    string? Remedy,
    int? ApiVersion,
    int? RecommendedVcpus,
    int? MaxVcpus,
    IReadOnlyDictionary<string, int> Capabilities);
