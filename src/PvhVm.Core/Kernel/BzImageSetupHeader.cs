namespace PvhVm.Core.Kernel;

/// <summary>
/// The fields of the x86 boot protocol setup header (Documentation/arch/x86/boot.rst) that describe the image.
/// Offsets in the comments are from the start of the file.
/// </summary>
public sealed record BzImageSetupHeader(
    byte SetupSectors,            // 0x1f1; 0 means 4
    ushort ProtocolVersion,       // 0x206, e.g. 0x020f
    string? KernelVersion,        // 0x20e points at it (relative to 0x200)
    byte LoadFlags,               // 0x211
    uint Code32Start,             // 0x214
    uint KernelAlignment,         // 0x230
    bool RelocatableKernel,       // 0x234
    ushort XLoadFlags,            // 0x236
    uint CommandLineSize,         // 0x238
    uint PayloadOffset,           // 0x248, relative to the protected-mode code
    uint PayloadLength,           // 0x24c
    ulong PreferredAddress,       // 0x258
    uint InitSize)                // 0x260
{
    /// <summary>Protocol version as "2.15".</summary>
    public string ProtocolVersionText => $"{ProtocolVersion >> 8}.{ProtocolVersion & 0xff:D2}";

    /// <summary>Where the protected-mode kernel starts in the file: (setup_sects + 1) * 512.</summary>
    public int ProtectedModeOffset => ((SetupSectors == 0 ? 4 : SetupSectors) + 1) * 512;
}
