namespace PvhVm.Core.Kernel;

/// <summary>Turns a parsed ELF image into a <see cref="BootInfo"/>.</summary>
internal static class ElfInspection
{
    public static BootInfo Describe(string path, ReadOnlySpan<byte> elf, KernelCompression compression, BzImageSetupHeader? setupHeader)
    {
        var layout = ElfReader.Read(elf);
        var notes = ElfNoteReader.ReadAll(elf, layout);
        var (entry, reason) = PvhEntry.Find(layout, notes);
        return new BootInfo
        {
            Path = path,
            Format = setupHeader is null ? layout.Format : KernelFormat.BzImage,
            Compression = compression,
            Machine = ElfNames.Machine(layout.Machine),
            EntryPoint = layout.Entry,
            PvhEntryPoint = entry,
            NotPvhBootableReason = reason,
            LinuxVersion = LinuxBanner.Find(elf, layout),
            BuildId = notes.FirstOrDefault(n => n.Owner == GnuNotes.Owner && n.Type == GnuNotes.BuildIdType)?.Value as string,
            CommandLineLimit = CommandLineLimit(setupHeader),
            Segments = layout.Segments,
            Notes = notes,
            SetupHeader = setupHeader,
        };
    }

    // cmdline_size exists from boot protocol 2.06; before it the limit was 255 characters.
    private static int? CommandLineLimit(BzImageSetupHeader? header) => header switch
    {
        null => null,
        { ProtocolVersion: < 0x0206 } => 255,
        { CommandLineSize: <= int.MaxValue } h => (int)h.CommandLineSize,
        _ => null,
    };
}
