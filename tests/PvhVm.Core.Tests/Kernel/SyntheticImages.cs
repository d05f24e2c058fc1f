using PvhVm.Core.Kernel;

namespace PvhVm.Core.Tests.Kernel;

/// <summary>Small helpers shared by the synthetic-image tests.</summary>
internal static class SyntheticImages
{
    public const ulong CodeAddress = 0x100000;

    /// <summary>A PVH-style ELF: one LOAD of 4 KiB code at 1 MiB and the given notes in a PT_NOTE segment.</summary>
    public static byte[] Elf(bool is64, params (string Owner, uint Type, byte[] Descriptor)[] notes)
    {
        var builder = new ElfBuilder(is64) { Machine = is64 ? (ushort)62 : (ushort)3 };
        builder.AddLoad(CodeAddress, Enumerable.Repeat((byte)0x90, 0x1000).ToArray(), memorySize: 0x2000);
        if (notes.Length > 0)
        {
            builder.AddNoteSegment(NoteBytes.Of(notes));
        }

        return builder.Build();
    }

    public static BootInfo Inspect(byte[] image) => KernelImage.Parse("synthetic", image).Info;

    public static KernelImageErrorKind Rejection(byte[] image)
        => Assert.Throws<KernelImageException>(() => KernelImage.Parse("synthetic", image)).Kind;
}
