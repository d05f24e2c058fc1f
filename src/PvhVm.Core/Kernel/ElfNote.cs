namespace PvhVm.Core.Kernel;

/// <summary>
/// One ELF note. <see cref="Value"/> is the decoded descriptor where owner and type are known
/// (ulong, string, string[] of flags, ulong[]); null for unknown notes, whose raw bytes stay in <see cref="Descriptor"/>.
/// <see cref="FileOffset"/> is where the note starts in the ELF (for a bzImage, in the decompressed vmlinux).
/// </summary>
public sealed record ElfNote(string Owner, uint Type, string TypeName, byte[] Descriptor, object? Value, ulong FileOffset)
{
    /// <summary>The value as one line: hex for numbers, flags joined by '|', raw hex bytes when undecoded.</summary>
    public string ValueText => NoteValueText.Format(Value, Descriptor);
}
