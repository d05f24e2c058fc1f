using PvhVm.Core.Kernel;
using static PvhVm.Core.Tests.Kernel.SyntheticImages;

namespace PvhVm.Core.Tests.Kernel;

/// <summary>ELF64/ELF32 headers, segments and the PVH entry on images built in the test.</summary>
public sealed class ElfImageTests
{
    [Fact]
    public void Elf64_with_an_8_byte_phys32_entry_is_pvh_bootable()
    {
        var info = Inspect(Elf(true, ("Xen", 18, NoteBytes.U64(CodeAddress + 0x40))));
        Assert.Equal(KernelFormat.Elf64, info.Format);
        Assert.Equal("x86-64", info.Machine);
        Assert.Equal((uint)(CodeAddress + 0x40), info.PvhEntryPoint);
        Assert.True(info.IsPvhBootable);
        Assert.Null(info.NotPvhBootableReason);
    }

    [Fact]
    public void Elf32_with_a_4_byte_phys32_entry_is_pvh_bootable()
    {
        var info = Inspect(Elf(false, ("Xen", 18, NoteBytes.U32((uint)CodeAddress))));
        Assert.Equal(KernelFormat.Elf32, info.Format);
        Assert.Equal("x86", info.Machine);
        Assert.Equal((uint)CodeAddress, info.PvhEntryPoint);
        Assert.True(info.IsPvhBootable);
        var load = Assert.Single(info.Segments, s => s.Type == "LOAD");
        Assert.Equal(CodeAddress, load.PhysicalAddress);
        Assert.Equal(0xc0000000 | CodeAddress, load.VirtualAddress);
        Assert.Equal(0x1000UL, load.FileSize);
        Assert.Equal(0x2000UL, load.MemorySize);
        Assert.Equal("R E", load.FlagsText);
    }

    [Fact]
    public void An_image_without_phys32_entry_says_why_it_is_not_bootable()
    {
        var info = Inspect(Elf(true, ("Xen", 1, NoteBytes.U64(0xffffffff81000000))));
        Assert.False(info.IsPvhBootable);
        Assert.Null(info.PvhEntryPoint);
        Assert.Contains("XEN_ELFNOTE_PHYS32_ENTRY", info.NotPvhBootableReason);
    }

    [Theory]
    [InlineData(2, "2-byte descriptor")]
    [InlineData(16, "16-byte descriptor")]
    public void A_phys32_entry_of_the_wrong_size_is_not_bootable(int size, string reason)
    {
        var info = Inspect(Elf(true, ("Xen", 18, new byte[size])));
        Assert.False(info.IsPvhBootable);
        Assert.Contains(reason, info.NotPvhBootableReason);
    }

    [Fact]
    public void An_entry_outside_every_load_segment_is_not_bootable()
    {
        var info = Inspect(Elf(true, ("Xen", 18, NoteBytes.U32(0x900000))));
        Assert.Equal(0x900000u, info.PvhEntryPoint);
        Assert.False(info.IsPvhBootable);
        Assert.Contains("outside", info.NotPvhBootableReason);
    }

    [Fact]
    public void An_entry_above_4_gib_is_not_bootable()
    {
        var info = Inspect(Elf(true, ("Xen", 18, NoteBytes.U64(0x1_0000_0000))));
        Assert.Null(info.PvhEntryPoint);
        Assert.Contains("above 4 GiB", info.NotPvhBootableReason);
    }

    [Fact]
    public void A_non_x86_image_is_not_bootable()
    {
        var builder = new ElfBuilder(true) { Machine = 183 };
        builder.AddLoad(CodeAddress, new byte[16]).AddNoteSegment(NoteBytes.Of(("Xen", 18, NoteBytes.U32((uint)CodeAddress))));
        var info = Inspect(builder.Build());
        Assert.Equal("AArch64", info.Machine);
        Assert.Contains("not x86", info.NotPvhBootableReason);
    }

    [Fact]
    public void Entry_point_and_every_program_header_are_reported()
    {
        var builder = new ElfBuilder(true) { Entry = 0xffffffff81000000 };
        builder.AddLoad(0x1000000, new byte[64], memorySize: 0x1000, flags: 5)
            .AddLoad(0x2000000, new byte[32], memorySize: 0x3000, flags: 6)
            .AddSegment(0x6474e551, builder.AddBlob([]), 0, flags: 6);
        var info = Inspect(builder.Build());
        Assert.Equal(0xffffffff81000000, info.EntryPoint);
        Assert.Equal(["LOAD", "LOAD", "GNU_STACK"], info.Segments.Select(s => s.Type));
        Assert.Equal(0x3000UL, info.Segments[1].MemorySize);
        Assert.Equal("RW ", info.Segments[1].FlagsText);
        Assert.Empty(info.Notes);
    }

    [Fact]
    public void Overlapping_load_segments_are_a_corrupt_header()
    {
        var builder = new ElfBuilder(true);
        builder.AddLoad(0x100000, new byte[0x100], memorySize: 0x2000).AddLoad(0x101000, new byte[0x100]);
        Assert.Equal(KernelImageErrorKind.CorruptHeader, Rejection(builder.Build()));
    }

    [Fact]
    public void A_load_whose_file_size_exceeds_its_memory_size_is_a_corrupt_header()
    {
        var builder = new ElfBuilder(true);
        builder.AddSegment(1, builder.AddBlob(new byte[0x100]), 0x100000, memorySize: 0x80);
        Assert.Equal(KernelImageErrorKind.CorruptHeader, Rejection(builder.Build()));
    }

    [Fact]
    public void A_load_whose_bytes_lie_past_the_end_of_the_file_is_truncated()
    {
        var builder = new ElfBuilder(true);
        builder.AddSegment(1, builder.AddBlob(new byte[0x100]), 0x100000, memorySize: 0x10000, fileSize: 0x10000);
        Assert.Equal(KernelImageErrorKind.Truncated, Rejection(builder.Build()));
    }

    [Fact]
    public void An_offset_that_would_overflow_is_truncated_not_a_crash()
    {
        var builder = new ElfBuilder(true);
        builder.AddSegment(1, builder.AddBlob(new byte[0x100]), 0x100000, memorySize: 0x100, offset: ulong.MaxValue - 8, fileSize: 0x100);
        Assert.Equal(KernelImageErrorKind.Truncated, Rejection(builder.Build()));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void An_image_cut_anywhere_in_its_headers_is_truncated(bool is64)
    {
        var image = Elf(is64, ("Xen", 18, NoteBytes.U32((uint)CodeAddress)));
        int headers = is64 ? 64 + 2 * 56 : 52 + 2 * 32;
        for (int length = 5; length < headers; length++)
        {
            Assert.Equal(KernelImageErrorKind.Truncated, Rejection(image[..length]));
        }
    }

    [Fact]
    public void Big_endian_and_unknown_classes_are_corrupt_headers()
    {
        var image = Elf(true);
        image[5] = 2;
        Assert.Equal(KernelImageErrorKind.CorruptHeader, Rejection(image));
        image[5] = 1;
        image[4] = 3;
        Assert.Equal(KernelImageErrorKind.CorruptHeader, Rejection(image));
    }

    [Fact]
    public void Bytes_that_are_neither_elf_nor_bzimage_are_not_a_kernel_image()
    {
        Assert.Equal(KernelImageErrorKind.NotAKernelImage, Rejection("#!/bin/sh\necho this is not a kernel\n"u8.ToArray()));
        Assert.Equal(KernelImageErrorKind.NotAKernelImage, Rejection(new byte[4096]));
    }

    [Fact]
    public void The_linux_banner_is_found_and_format_strings_are_skipped()
    {
        var builder = new ElfBuilder(true);
        builder.AddLoad(CodeAddress, "%s\0Linux version %s\0Linux version 6.12.9-test (me@here) #1 SMP\n\0"u8.ToArray());
        Assert.Equal("Linux version 6.12.9-test (me@here) #1 SMP", Inspect(builder.Build()).LinuxVersion);
        Assert.Null(Inspect(Elf(true)).LinuxVersion);
    }

    [Fact]
    public void The_banner_with_a_build_number_wins_over_the_placeholder()
    {
        var builder = new ElfBuilder(true);
        builder.AddLoad(CodeAddress, "Linux version 6.1.0 (b@h) # SMP\n\0Linux version 6.1.0 (b@h) #7 SMP\n\0"u8.ToArray());
        Assert.Equal("Linux version 6.1.0 (b@h) #7 SMP", Inspect(builder.Build()).LinuxVersion);
    }
}
