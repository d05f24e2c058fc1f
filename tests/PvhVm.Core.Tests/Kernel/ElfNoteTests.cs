using PvhVm.Core.Kernel;
using static PvhVm.Core.Tests.Kernel.SyntheticImages;

namespace PvhVm.Core.Tests.Kernel;

/// <summary>Every shape of ELF note: owners, types, alignments, sources, and broken notes.</summary>
public sealed class ElfNoteTests
{
    public static TheoryData<uint, byte[], string, string> XenNotes => new()
    {
        { 0, NoteBytes.Text("GUEST_OS=linux"), "XEN_ELFNOTE_INFO", "GUEST_OS=linux" },
        { 1, NoteBytes.U64(0xffffffff81000000), "XEN_ELFNOTE_ENTRY", "0xffffffff81000000" },
        { 2, NoteBytes.U64(0xffffffff81001000), "XEN_ELFNOTE_HYPERCALL_PAGE", "0xffffffff81001000" },
        { 3, NoteBytes.U64(0xffffffff80000000), "XEN_ELFNOTE_VIRT_BASE", "0xffffffff80000000" },
        { 4, NoteBytes.U32(0), "XEN_ELFNOTE_PADDR_OFFSET", "0x0" },
        { 5, NoteBytes.Text("xen-3.0"), "XEN_ELFNOTE_XEN_VERSION", "xen-3.0" },
        { 6, NoteBytes.Text("linux"), "XEN_ELFNOTE_GUEST_OS", "linux" },
        { 7, NoteBytes.Text("2.6"), "XEN_ELFNOTE_GUEST_VERSION", "2.6" },
        { 8, NoteBytes.Text("generic"), "XEN_ELFNOTE_LOADER", "generic" },
        { 9, NoteBytes.Text("yes"), "XEN_ELFNOTE_PAE_MODE", "yes" },
        { 10, NoteBytes.Text("!writable_page_tables|pae_pgdir_above_4gb"), "XEN_ELFNOTE_FEATURES", "!writable_page_tables|pae_pgdir_above_4gb" },
        { 11, NoteBytes.Text("yes"), "XEN_ELFNOTE_BSD_SYMTAB", "yes" },
        { 12, NoteBytes.U64(0xffff800000000000), "XEN_ELFNOTE_HV_START_LOW", "0xffff800000000000" },
        { 13, [.. NoteBytes.U64(1), .. NoteBytes.U64(1)], "XEN_ELFNOTE_L1_MFN_VALID", "0x1 0x1" },
        { 14, NoteBytes.U32(1), "XEN_ELFNOTE_SUSPEND_CANCEL", "0x1" },
        { 15, NoteBytes.U64(0x8000000000), "XEN_ELFNOTE_INIT_P2M", "0x8000000000" },
        { 16, NoteBytes.U32(1), "XEN_ELFNOTE_MOD_START_PFN", "0x1" },
        { 17, NoteBytes.U32(0x8801), "XEN_ELFNOTE_SUPPORTED_FEATURES", "writable_page_tables|dom0|linux_rsdp_unrestricted" },
        { 18, NoteBytes.U32(0x100000), "XEN_ELFNOTE_PHYS32_ENTRY", "0x100000" },
        { 19, [.. NoteBytes.U32(0x200000), .. NoteBytes.U32(0x1000000), .. NoteBytes.U32(0x40000000)], "XEN_ELFNOTE_PHYS32_RELOC", "0x200000 0x1000000 0x40000000" },
        { 0x2000001, [1, 2, 3], "XEN_ELFNOTE_DUMPCORE_HEADER", "010203" },
        { 42, [0xde, 0xad], "unknown (0x2a)", "dead" },
    };

    [Theory]
    [MemberData(nameof(XenNotes))]
    public void Every_xen_note_gets_its_name_and_value(uint type, byte[] descriptor, string typeName, string valueText)
    {
        var note = Assert.Single(Inspect(Elf(true, ("Xen", type, descriptor))).Notes);
        Assert.Equal("Xen", note.Owner);
        Assert.Equal(type, note.Type);
        Assert.Equal(typeName, note.TypeName);
        Assert.Equal(descriptor, note.Descriptor);
        Assert.Equal(valueText, note.ValueText);
    }

    [Fact]
    public void Flag_notes_decode_to_string_arrays()
    {
        var notes = Inspect(Elf(true, ("Xen", 10, NoteBytes.Text("a|!b")), ("Xen", 17, NoteBytes.U32(0x5)))).Notes;
        Assert.Equal(new[] { "a", "!b" }, notes[0].Value);
        Assert.Equal(new[] { "writable_page_tables", "auto_translated_physmap" }, notes[1].Value);
    }

    [Fact]
    public void Gnu_and_linux_notes_are_decoded()
    {
        byte[] buildId = [0x3b, 0x43, 0xfa, 0xd5, 0x03, 0x48, 0x74, 0x49, 0x04, 0x92, 0x49, 0x5d, 0x55, 0x2c, 0x0a, 0xf6, 0xa5, 0xfa, 0xb2, 0x35];
        var info = Inspect(Elf(true,
            ("GNU", 3, buildId),
            ("GNU", 1, [.. NoteBytes.U32(0), .. NoteBytes.U32(3), .. NoteBytes.U32(2), .. NoteBytes.U32(0)]),
            ("GNU", 4, NoteBytes.Text("gold 1.16")),
            ("Linux", 0x100, NoteBytes.Text("6.1.0-56-cloud-amd64")),
            ("Linux", 0x101, NoteBytes.U32(0))));
        Assert.Equal("3b43fad5034874490492495d552c0af6a5fab235", info.BuildId);
        Assert.Equal(["NT_GNU_BUILD_ID", "NT_GNU_ABI_TAG", "NT_GNU_GOLD_VERSION", "LINUX_ELFNOTE_BUILD_SALT", "LINUX_ELFNOTE_LTO_INFO"], info.Notes.Select(n => n.TypeName));
        Assert.Equal(["3b43fad5034874490492495d552c0af6a5fab235", "Linux 3.2.0", "gold 1.16", "6.1.0-56-cloud-amd64", "0x0"], info.Notes.Select(n => n.ValueText));
    }

    [Fact]
    public void Unknown_owners_are_kept_raw_never_dropped()
    {
        var info = Inspect(Elf(true, ("FreeBSD", 1, [1, 2, 3, 4, 5]), ("", 7, []), ("Go", 4, NoteBytes.Text("abc"))));
        Assert.Equal(["FreeBSD", "", "Go"], info.Notes.Select(n => n.Owner));
        Assert.All(info.Notes, n => Assert.Null(n.Value));
        Assert.Equal(new byte[] { 1, 2, 3, 4, 5 }, info.Notes[0].Descriptor);
        Assert.Equal("0102030405", info.Notes[0].ValueText);
        Assert.Equal("unknown (0x7)", info.Notes[1].TypeName);
    }

    [Fact]
    public void Names_and_descriptors_of_every_length_honour_4_byte_padding()
    {
        var notes = new List<(string, uint, byte[])>();
        for (int length = 0; length <= 9; length++)
        {
            notes.Add((new string('n', length), (uint)length, Enumerable.Range(1, length).Select(i => (byte)i).ToArray()));
        }

        var decoded = Inspect(Elf(true, [.. notes])).Notes;
        Assert.Equal(notes.Select(n => n.Item1), decoded.Select(n => n.Owner));
        Assert.Equal(notes.Select(n => n.Item3), decoded.Select(n => n.Descriptor));
    }

    [Fact]
    public void Notes_in_an_8_byte_aligned_segment_use_8_byte_padding()
    {
        var builder = new ElfBuilder(true);
        builder.AddLoad(CodeAddress, new byte[16]).AddNoteSegment(
            NoteBytes.Aligned(8, ("GNU", 5, new byte[12]), ("Xen", 18, NoteBytes.U32((uint)CodeAddress))), alignment: 8);
        var info = Inspect(builder.Build());
        Assert.Equal(["NT_GNU_PROPERTY_TYPE_0", "XEN_ELFNOTE_PHYS32_ENTRY"], info.Notes.Select(n => n.TypeName));
        Assert.True(info.IsPvhBootable);
    }

    [Fact]
    public void A_note_reached_from_both_segment_and_section_is_listed_once()
    {
        var builder = new ElfBuilder(true);
        int notes = builder.AddBlob(NoteBytes.Of(("Xen", 18, NoteBytes.U32((uint)CodeAddress)), ("GNU", 3, [0xab])));
        int sectionOnly = builder.AddBlob(NoteBytes.Of(("Linux", 0x100, NoteBytes.Text("salt"))));
        builder.AddLoad(CodeAddress, new byte[16])
            .AddSegment(4, notes, 0, alignment: 4)
            .AddSection(".notes", 7, notes)
            .AddSection(".note.salt", 7, sectionOnly);
        var info = Inspect(builder.Build());
        Assert.Equal(["Xen", "GNU", "Linux"], info.Notes.Select(n => n.Owner));
        Assert.Equal(3, info.Notes.Select(n => n.FileOffset).Distinct().Count());
    }

    [Fact]
    public void A_descriptor_overrunning_its_segment_is_a_note_overrun()
    {
        var notes = NoteBytes.Of(("Xen", 18, NoteBytes.U64(CodeAddress)));
        notes[4] = 0x40;   // descsz 64, the segment holds 8
        var builder = new ElfBuilder(true);
        builder.AddLoad(CodeAddress, new byte[16]).AddNoteSegment(notes);
        Assert.Equal(KernelImageErrorKind.NoteOverrun, Rejection(builder.Build()));
    }

    [Fact]
    public void A_name_overrunning_its_segment_is_a_note_overrun()
    {
        var notes = NoteBytes.Of(("Xen", 18, NoteBytes.U64(CodeAddress)));
        notes[0] = 0xff;
        notes[1] = 0xff;
        notes[2] = 0xff;
        notes[3] = 0xff;   // namesz 4 GiB - 1
        var builder = new ElfBuilder(true);
        builder.AddLoad(CodeAddress, new byte[16]).AddNoteSegment(notes);
        Assert.Equal(KernelImageErrorKind.NoteOverrun, Rejection(builder.Build()));
    }

    [Fact]
    public void A_note_header_cut_short_is_a_note_overrun_but_zero_padding_is_fine()
    {
        var note = NoteBytes.Of(("Xen", 18, NoteBytes.U32((uint)CodeAddress)));
        var builder = new ElfBuilder(true);
        builder.AddLoad(CodeAddress, new byte[16]).AddNoteSegment([.. note, 4, 0, 0, 0]);
        Assert.Equal(KernelImageErrorKind.NoteOverrun, Rejection(builder.Build()));

        var padded = new ElfBuilder(true);
        padded.AddLoad(CodeAddress, new byte[16]).AddNoteSegment([.. note, 0, 0, 0, 0, 0, 0, 0, 0]);
        Assert.Single(Inspect(padded.Build()).Notes);
    }

    [Fact]
    public void A_note_segment_past_the_end_of_the_file_is_truncated()
    {
        var builder = new ElfBuilder(true);
        builder.AddLoad(CodeAddress, new byte[16]).AddSegment(4, builder.AddBlob(new byte[12]), 0, fileSize: 0x1000);
        Assert.Equal(KernelImageErrorKind.Truncated, Rejection(builder.Build()));
    }
}
