using PvhVm.Core.Kernel;

namespace PvhVm.Core.Tests.Kernel;

/// <summary>Debian's cloud kernel, as a bzImage and as the ELF inside it, checked against readelf and the package version.</summary>
[Collection(DebianKernelCollection.Name)]
public sealed class DebianKernelTests(DebianKernelFixture kernel)
{
    [Fact]
    public void Vmlinux_matches_readelf_entry_segments_and_notes()
    {
        var info = KernelInspector.Inspect(kernel.VmlinuxPath);
        AssertMatchesReadElf(info, ReadElf.Of(kernel.VmlinuxPath));
        Assert.Equal(KernelFormat.Elf64, info.Format);
        Assert.Equal(KernelCompression.None, info.Compression);
        Assert.Null(info.SetupHeader);
        Assert.Null(info.CommandLineLimit);
    }

    [Fact]
    public void Vmlinuz_is_an_lz4_bzImage_whose_elf_matches_readelf()
    {
        var info = KernelInspector.Inspect(kernel.VmlinuzPath);
        AssertMatchesReadElf(info, ReadElf.Of(kernel.VmlinuxPath));
        Assert.Equal(KernelFormat.BzImage, info.Format);
        Assert.Equal(KernelCompression.Lz4, info.Compression);
        Assert.Equal(KernelImage.Open(kernel.VmlinuxPath).Info.BuildId, info.BuildId);
    }

    [Fact]
    public void Both_forms_name_the_package_version_and_are_pvh_bootable()
    {
        foreach (var path in new[] { kernel.VmlinuxPath, kernel.VmlinuzPath })
        {
            var info = KernelInspector.Inspect(path);
            Assert.StartsWith("Linux version 6.", info.LinuxVersion);
            Assert.Contains($"Debian {kernel.PackageVersion} ", info.LinuxVersion);
            // The banner the kernel prints ends as the setup header's kernel_version does ("#1 SMP ... (date)").
            string setupVersion = KernelInspector.Inspect(kernel.VmlinuzPath).SetupHeader!.KernelVersion!;
            Assert.EndsWith(setupVersion[setupVersion.IndexOf('#')..], info.LinuxVersion);
            Assert.True(info.IsPvhBootable, info.NotPvhBootableReason);
            Assert.Equal("x86-64", info.Machine);

            var entryNote = info.Notes.Single(n => n.Owner == "Xen" && n.TypeName == "XEN_ELFNOTE_PHYS32_ENTRY");
            Assert.Equal((ulong)info.PvhEntryPoint!.Value, entryNote.Value);
            Assert.Contains(info.Segments, s => s.Type == "LOAD" && s.PhysicalAddress <= info.PvhEntryPoint && info.PvhEntryPoint < s.PhysicalAddress + s.FileSize);
        }
    }

    [Fact]
    public void Setup_header_agrees_with_the_bytes_and_the_package()
    {
        var header = KernelInspector.Inspect(kernel.VmlinuzPath).SetupHeader!;
        var bytes = File.ReadAllBytes(kernel.VmlinuzPath);

        Assert.Equal(BitConverter.ToUInt16(bytes, 0x206), header.ProtocolVersion);
        Assert.True(header.ProtocolVersion >= 0x020c);
        Assert.Equal(bytes[0x1f1], header.SetupSectors);
        Assert.Contains($"Debian {kernel.PackageVersion} ", header.KernelVersion);
        Assert.Equal(BitConverter.ToUInt32(bytes, 0x260), header.InitSize);
        Assert.Equal(BitConverter.ToUInt64(bytes, 0x258), header.PreferredAddress);
        Assert.Equal(2047u, header.CommandLineSize);   // x86 COMMAND_LINE_SIZE is 2048, less the NUL
        Assert.Equal((int)header.CommandLineSize, KernelInspector.Inspect(kernel.VmlinuzPath).CommandLineLimit);
        Assert.Equal(new FileInfo(kernel.VmlinuxPath).Length, BitConverter.ToUInt32(bytes, header.ProtectedModeOffset + (int)header.PayloadOffset + (int)header.PayloadLength - 4));
    }

    [Fact]
    public void Notes_decode_to_the_values_linux_declares()
    {
        var notes = KernelInspector.Inspect(kernel.VmlinuxPath).Notes;
        object? Value(string owner, string typeName) => notes.Single(n => n.Owner == owner && n.TypeName == typeName).Value;

        Assert.Equal("linux", Value("Xen", "XEN_ELFNOTE_GUEST_OS"));
        Assert.Equal("xen-3.0", Value("Xen", "XEN_ELFNOTE_XEN_VERSION"));
        Assert.Equal(0xffffffff80000000UL, Value("Xen", "XEN_ELFNOTE_VIRT_BASE"));
        Assert.Equal(new[] { "!writable_page_tables", "pae_pgdir_above_4gb" }, Value("Xen", "XEN_ELFNOTE_FEATURES"));
        Assert.Contains("dom0", (string[])Value("Xen", "XEN_ELFNOTE_SUPPORTED_FEATURES")!);
        Assert.Matches("^[0-9a-f]{40}$", (string)Value("GNU", "NT_GNU_BUILD_ID")!);
        Assert.StartsWith("6.1.", (string)Value("Linux", "LINUX_ELFNOTE_BUILD_SALT")!);
    }

    [Fact]
    public void Load_segments_copy_the_file_bytes_readelf_points_at()
    {
        using var image = KernelImage.Open(kernel.VmlinuzPath);
        using var elf = File.OpenRead(kernel.VmlinuxPath);
        foreach (var segment in image.LoadSegments)
        {
            var copied = new byte[segment.FileSize];
            image.CopySegment(segment, copied);
            var expected = new byte[segment.FileSize];
            elf.Position = (long)segment.FileOffset;
            elf.ReadExactly(expected);
            Assert.True(expected.AsSpan().SequenceEqual(copied), $"segment at 0x{segment.PhysicalAddress:x}");
        }
    }

    private static void AssertMatchesReadElf(BootInfo info, ReadElf expected)
    {
        Assert.Equal(expected.Entry, info.EntryPoint);
        Assert.Equal(
            expected.Segments,
            info.Segments.Select(s => new ReadElf.Segment(s.Type, s.Offset, s.VirtualAddress, s.PhysicalAddress, s.FileSize, s.MemorySize, s.FlagsText.Replace(" ", ""), s.Alignment)));
        Assert.Equal(
            expected.Notes,
            info.Notes.Select(n => new ReadElf.Note(n.Owner, n.Descriptor.Length, Convert.ToHexStringLower(n.Descriptor))));
        Assert.NotEmpty(info.Notes);
    }
}
