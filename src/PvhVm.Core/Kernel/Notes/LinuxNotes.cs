namespace PvhVm.Core.Kernel;

/// <summary>The kernel's own notes (include/linux/build-salt.h, include/linux/elfnote-lto.h).</summary>
internal static class LinuxNotes
{
    public const string Owner = "Linux";

    public static (string TypeName, object? Value) Decode(uint type, byte[] d) => type switch
    {
        0x100 => ("LINUX_ELFNOTE_BUILD_SALT", NoteDecoder.Text(d)),
        0x101 => ("LINUX_ELFNOTE_LTO_INFO", NoteDecoder.Boxed(NoteDecoder.Number(d))),
        _ => (NoteDecoder.Unknown(type), null),
    };
}
