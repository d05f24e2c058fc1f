namespace PvhVm.Core.Tests.Guests;

/// <summary>
/// Every guest that build/Guests.targets assembles is a bootable PVH image: the Xen PHYS32_ENTRY note
/// sits in a PT_NOTE segment and names an address inside loaded, executable bytes. readelf is the judge.
/// </summary>
public sealed class GuestImageTests
{
    private const uint XenElfNotePhys32Entry = 18;
    private const ulong ImageBase = 0x100000;
    private const ulong SmpTrampoline = 0x9A000;

    public static TheoryData<string> Guests => new(GuestImages.Names);

    [Theory]
    [MemberData(nameof(Guests))]
    public void GuestIsBuiltNextToTheTests(string name)
    {
        Assert.True(File.Exists(GuestImages.PathOf(name)), $"missing {GuestImages.PathOf(name)}");
    }

    [Theory]
    [MemberData(nameof(Guests))]
    public void GuestHasOneXenEntryNoteInAPtNoteSegment(string name)
    {
        var report = ReadElfReport.Of(GuestImages.PathOf(name));

        var note = Assert.Single(report.Notes, n => n.Owner == "Xen" && n.Type == XenElfNotePhys32Entry);
        Assert.Contains(report.Segments, s => s.Type == "NOTE" && s.Sections.Contains(note.Section));
        // Like Linux: an 8-byte descriptor in ELF64, a 4-byte one in the ELF32 build.
        Assert.Equal(report.ElfClass == "ELF32" ? 4 : 8, note.DescriptorSize);
        Assert.Equal(note.DescriptorSize, note.Descriptor.Length);
    }

    [Theory]
    [MemberData(nameof(Guests))]
    public void NoteEntryIsTheElfEntryInsideAnExecutableLoadSegment(string name)
    {
        var report = ReadElfReport.Of(GuestImages.PathOf(name));
        var note = Assert.Single(report.Notes, n => n.Owner == "Xen" && n.Type == XenElfNotePhys32Entry);

        var entry = EntryOf(note.Descriptor);
        Assert.Equal(report.Entry, entry);
        var load = Assert.Single(report.Segments, s => s.Type == "LOAD" && s.Contains(entry));
        Assert.Contains('E', load.Flags);
        Assert.Equal(ImageBase, load.PhysicalAddress);
    }

    [Theory]
    [MemberData(nameof(Guests))]
    public void GuestIsOfTheExpectedElfClass(string name)
    {
        var report = ReadElfReport.Of(GuestImages.PathOf(name));
        Assert.Equal(GuestImages.Elf32.Contains(name) ? "ELF32" : "ELF64", report.ElfClass);
    }

    [Fact]
    public void SmpTrampolineIsItsOwnLoadSegmentBelowOneMegabyte()
    {
        var report = ReadElfReport.Of(GuestImages.PathOf("smp"));
        var trampoline = Assert.Single(report.Segments, s => s.Type == "LOAD" && s.PhysicalAddress == SmpTrampoline);
        Assert.Equal([".trampoline"], trampoline.Sections);
        Assert.InRange(trampoline.MemorySize, 1UL, 0x1000UL);
    }

    [Fact]
    public void EveryOtherGuestLoadsOnlyAtTheImageBase()
    {
        foreach (var name in GuestImages.Names.Where(n => n != "smp"))
        {
            var loads = ReadElfReport.Of(GuestImages.PathOf(name)).Segments.Where(s => s.Type == "LOAD");
            Assert.All(loads, s => Assert.Equal(ImageBase, s.PhysicalAddress));
        }
    }

    private static ulong EntryOf(byte[] descriptor) => descriptor.Length switch
    {
        4 => BitConverter.ToUInt32(descriptor),
        8 => BitConverter.ToUInt64(descriptor),
        _ => throw new InvalidDataException($"PVH entry descriptor of {descriptor.Length} bytes"),
    };
}
