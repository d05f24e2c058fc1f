namespace PvhVm.Core.Boot;

/// <summary>A segment register's hidden state, in the terms of kvm_segment.</summary>
internal readonly record struct SegmentState(
    ushort Selector,
    ulong Base,
    uint Limit,
    byte Type,
    bool Present,
    byte Dpl,
    bool DefaultBig,
    bool CodeOrData,
    bool Long,
    bool Granularity,
    bool Unusable = false);
