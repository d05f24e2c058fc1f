namespace PvhVm.Core.Kernel;

/// <summary>The section header fields the inspector uses.</summary>
internal sealed record ElfSection(string Name, uint Type, ulong Offset, ulong Size, ulong Alignment)
{
    public const uint ShtNote = 7;
    public const uint ShtNobits = 8;
}
