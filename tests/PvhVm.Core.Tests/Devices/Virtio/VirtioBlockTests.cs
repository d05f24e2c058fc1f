using System.Buffers.Binary;
using System.Diagnostics;
using System.Text;
using PvhVm.Core.Devices.Virtio;
using PvhVm.Core.Devices.Virtio.Block;
using PvhVm.Core.Tests.Reliability.Host;
using static PvhVm.Core.Tests.Devices.Virtio.VirtioTestDriver;

namespace PvhVm.Core.Tests.Devices.Virtio;

/// <summary>
/// virtio-blk over a real image file, driven as Linux's virtio_blk does: a 16-byte header, data buffers, a status
/// byte. What the guest reads and writes is checked against the file on the host.
/// </summary>
public sealed class VirtioBlockTests : IDisposable
{
    private const int Sectors = 64;
    private const ulong Header = DataArea;
    private const ulong Data = DataArea + 0x1000;
    private const ulong StatusByte = DataArea + 0x80;

    private readonly string _path = Path.Combine(Path.GetTempPath(), $"pvhvm-blk-{Guid.NewGuid():N}.img");

    public VirtioBlockTests()
    {
        var image = new byte[Sectors * 512];
        for (var i = 0; i < image.Length; i++)
        {
            image[i] = (byte)(i / 512 * 7 + i);
        }

        File.WriteAllBytes(_path, image);
    }

    public void Dispose() => File.Delete(_path);

    [Fact]
    public void ConfigurationAndFeaturesDescribeTheImage()
    {
        using (var device = new VirtioBlock(DiskImage.Open(_path, readOnly: false), "disk-0"))
        using (var driver = new VirtioTestDriver(device))
        {
            Assert.Equal(VirtioFeature.Transport | VirtioBlock.FeatureSegMax | VirtioBlock.FeatureBlockSize | VirtioBlock.FeatureFlush
                | VirtioBlock.FeatureDiscard | VirtioBlock.FeatureWriteZeroes, driver.ReadDeviceFeatures());
            Assert.Equal((ulong)Sectors, ReadConfig64(driver, 0));
            Assert.Equal(254u, (uint)ReadConfig64(driver, 12));
            Assert.Equal(512u, (uint)ReadConfig64(driver, 20));
            // max_discard_sectors, max_discard_seg, discard_sector_alignment, max_write_zeroes_sectors and _seg,
            // write_zeroes_may_unmap: QEMU's values (the C guest prints both).
            Assert.Equal([0x3FFFFFu, 1u, 1u, 0x3FFFFFu, 1u, 1u], new uint[] { 36, 40, 44, 48, 52, 56 }.Select(offset => (uint)ReadConfig64(driver, offset)));
            // A byte-wide read, as the spec allows for the configuration space.
            var one = new byte[1];
            driver.Transport.Read(VirtioMmioRegister.Config, one);
            Assert.Equal(Sectors, one[0]);
        }

        using var readOnly = new VirtioBlock(DiskImage.Open(_path, readOnly: true), "");
        Assert.Equal(VirtioBlock.FeatureReadOnly, readOnly.Features & (VirtioBlock.FeatureReadOnly | VirtioBlock.FeatureDiscard | VirtioBlock.FeatureWriteZeroes));
    }

    [Theory]
    [InlineData(VirtioBlock.RequestDiscard, 4UL, 8u, 0u, VirtioBlock.StatusOk)]
    [InlineData(VirtioBlock.RequestWriteZeroes, 4UL, 8u, 0u, VirtioBlock.StatusOk)]
    [InlineData(VirtioBlock.RequestWriteZeroes, 4UL, 8u, VirtioBlock.SegmentFlagUnmap, VirtioBlock.StatusOk)]
    [InlineData(VirtioBlock.RequestDiscard, Sectors - 8UL, 8u, 0u, VirtioBlock.StatusOk)]
    [InlineData(VirtioBlock.RequestDiscard, 4UL, 0u, 0u, VirtioBlock.StatusOk)]
    [InlineData(VirtioBlock.RequestDiscard, 4UL, 8u, VirtioBlock.SegmentFlagUnmap, VirtioBlock.StatusUnsupported)]
    [InlineData(VirtioBlock.RequestWriteZeroes, 4UL, 8u, 2u, VirtioBlock.StatusUnsupported)]
    [InlineData(VirtioBlock.RequestWriteZeroes, 4UL, 8u, 0x8000_0001u, VirtioBlock.StatusUnsupported)]
    [InlineData(VirtioBlock.RequestDiscard, Sectors - 8UL, 9u, 0u, VirtioBlock.StatusIoError)]
    [InlineData(VirtioBlock.RequestWriteZeroes, Sectors, 1u, 0u, VirtioBlock.StatusIoError)]
    [InlineData(VirtioBlock.RequestDiscard, ulong.MaxValue, 1u, 0u, VirtioBlock.StatusIoError)]
    [InlineData(VirtioBlock.RequestWriteZeroes, ulong.MaxValue - 2, 8u, 0u, VirtioBlock.StatusIoError)]
    [InlineData(VirtioBlock.RequestWriteZeroes, 0UL, VirtioBlock.MaxDiscardSectors + 1, 0u, VirtioBlock.StatusIoError)]
    [InlineData(VirtioBlock.RequestDiscard, 0UL, uint.MaxValue, 0u, VirtioBlock.StatusIoError)]
    public void ASegmentIsCheckedBeforeTheImageIsTouched(uint type, ulong sector, uint sectors, uint flags, byte expected)
    {
        var before = File.ReadAllBytes(_path);
        using var device = new VirtioBlock(DiskImage.Open(_path, readOnly: false), "");
        using var driver = new VirtioTestDriver(device).Start();
        WriteSegment(driver, 0, sector, sectors, flags);
        Assert.Equal(expected, Request(driver, type, 0, new TestBuffer(Data, VirtioBlock.SegmentBytes)));
        Assert.False(driver.NeedsReset);

        // Done: the range reads as zeroes and the rest is as it was. Refused: the image is untouched.
        var after = File.ReadAllBytes(_path);
        if (expected == VirtioBlock.StatusOk)
        {
            Array.Clear(before, (int)sector * 512, (int)sectors * 512);
        }

        Assert.Equal(before, after);
        Assert.Equal(expected == VirtioBlock.StatusOk ? 0 : 1, device.Errors);
    }

    /// <summary>
    /// Seeded random requests as a hostile driver would send them (any type, sector, length, segment list and flags)
    /// against a model of the image: a request answered OK did exactly what its type says inside the capacity, one
    /// answered otherwise left the image untouched, and the device never needs a reset because of a request.
    /// </summary>
    [Fact]
    public void TwoThousandRandomRequestsKeepTheImageTrueToItsModel()
    {
        var model = File.ReadAllBytes(_path);
        using var device = new VirtioBlock(DiskImage.Open(_path, readOnly: false), "");
        using var driver = new VirtioTestDriver(device).Start();
        var random = new Random(11);
        var statuses = new int[3];
        uint[] types = [VirtioBlock.RequestIn, VirtioBlock.RequestOut, VirtioBlock.RequestFlush, VirtioBlock.RequestGetId, VirtioBlock.RequestDiscard, VirtioBlock.RequestWriteZeroes];
        for (var i = 0; i < 2000; i++)
        {
            var type = random.Next(8) == 0 ? (uint)random.Next() : types[random.Next(types.Length)];
            ulong AnySector() => random.Next(6) == 0 ? (ulong)random.NextInt64() << random.Next(2) : (ulong)random.Next(Sectors + 4);
            var sector = AnySector();
            byte status;
            if (type is VirtioBlock.RequestDiscard or VirtioBlock.RequestWriteZeroes)
            {
                var segments = random.Next(6) == 0 ? 2 : 1;
                for (var segment = 0; segment < segments; segment++)
                {
                    WriteSegment(driver, segment, AnySector(), random.Next(6) == 0 ? (uint)random.NextInt64(uint.MaxValue) : (uint)random.Next(12),
                        random.Next(4) == 0 ? (uint)random.Next(4) : 0);
                }

                var listBytes = random.Next(6) == 0 ? (uint)random.Next(40) : (uint)segments * VirtioBlock.SegmentBytes;
                status = Request(driver, type, sector, new TestBuffer(Data, listBytes));
                var (first, count, flags) = (driver.Memory.ReadUInt64(Data), driver.Memory.ReadUInt32(Data + 8), driver.Memory.ReadUInt32(Data + 12));
                if (status == VirtioBlock.StatusOk)
                {
                    Assert.True(listBytes == VirtioBlock.SegmentBytes && first + count <= Sectors && first <= Sectors
                        && (flags == 0 || (flags == VirtioBlock.SegmentFlagUnmap && type == VirtioBlock.RequestWriteZeroes)),
                        $"request {i}: {type} of {listBytes} list bytes, sectors {first}+{count}, flags {flags} was answered OK");
                    Array.Clear(model, (int)first * 512, (int)count * 512);
                }
            }
            else
            {
                var length = random.Next(5) == 0 ? (uint)random.Next(3000) : 512u * (uint)random.Next(5);
                var toDevice = type != VirtioBlock.RequestIn && type != VirtioBlock.RequestGetId;
                var data = new byte[length];
                random.NextBytes(data);
                driver.Memory.Write(Data, data);
                status = Request(driver, type, sector, length == 0 ? [] : [new TestBuffer(Data, length, !toDevice)]);
                if (status == VirtioBlock.StatusOk && type == VirtioBlock.RequestOut)
                {
                    Assert.True(sector + (length / 512) <= Sectors && length % 512 == 0, $"request {i}: a write of {length} bytes at sector {sector} was answered OK");
                    data.CopyTo(model, (int)sector * 512);
                }
            }

            Assert.InRange(status, VirtioBlock.StatusOk, VirtioBlock.StatusUnsupported);
            statuses[status]++;
            Assert.False(driver.NeedsReset, $"request {i} made the device need a reset");
            Assert.True(model.AsSpan().SequenceEqual(File.ReadAllBytes(_path)), $"request {i}: {type} at sector {sector} answered {status} left the image unlike its model");
        }

        // The generator reaches every answer, so the campaign cannot pass by refusing (or accepting) everything.
        Assert.All(statuses, count => Assert.True(count > 100, string.Join(", ", statuses)));
    }

    [Fact]
    public void ASegmentListMustBeOneWholeSegment()
    {
        var before = File.ReadAllBytes(_path);
        using var device = new VirtioBlock(DiskImage.Open(_path, readOnly: false), "");
        using var driver = new VirtioTestDriver(device).Start();
        WriteSegment(driver, 0, 4, 8, 0);
        WriteSegment(driver, 1, 20, 8, 0);
        // Two segments: one more than offered, refused as QEMU refuses it.
        Assert.Equal(VirtioBlock.StatusUnsupported, Request(driver, VirtioBlock.RequestDiscard, 0, new TestBuffer(Data, 2 * VirtioBlock.SegmentBytes)));
        // Not a whole number of segments, or none at all.
        Assert.Equal(VirtioBlock.StatusIoError, Request(driver, VirtioBlock.RequestWriteZeroes, 0, new TestBuffer(Data, 8)));
        Assert.Equal(VirtioBlock.StatusIoError, Request(driver, VirtioBlock.RequestDiscard, 0, new TestBuffer(Data, 24)));
        Assert.Equal(VirtioBlock.StatusIoError, Request(driver, VirtioBlock.RequestDiscard, 0));
        // The segment sent device-writable, where the device cannot take it from.
        Assert.Equal(VirtioBlock.StatusIoError, Request(driver, VirtioBlock.RequestDiscard, 0, new TestBuffer(Data, VirtioBlock.SegmentBytes, true)));
        Assert.Equal(before, File.ReadAllBytes(_path));
        Assert.Equal(5, device.Errors);
        Assert.False(driver.NeedsReset);
    }

    [Fact]
    public void AReadOnlyDiskRefusesDiscardAndWriteZeroesAsUnsupported()
    {
        var before = File.ReadAllBytes(_path);
        using var device = new VirtioBlock(DiskImage.Open(_path, readOnly: true), "");
        using var driver = new VirtioTestDriver(device).Start();
        WriteSegment(driver, 0, 4, 8, 0);
        Assert.Equal(VirtioBlock.StatusUnsupported, Request(driver, VirtioBlock.RequestDiscard, 0, new TestBuffer(Data, VirtioBlock.SegmentBytes)));
        Assert.Equal(VirtioBlock.StatusUnsupported, Request(driver, VirtioBlock.RequestWriteZeroes, 0, new TestBuffer(Data, VirtioBlock.SegmentBytes)));
        Assert.Equal(before, File.ReadAllBytes(_path));
    }

    [Theory]
    [InlineData("/tmp")]
    [InlineData("/dev/shm")]
    public void DiscardGivesSpaceBackAndWriteZeroesZeroesOnExt4AndTmpfs(string directory)
    {
        // tmpfs has no ZERO_RANGE: write zeroes without unmap falls back to writing zeroes there.
        Assert.True(Directory.Exists(directory), $"{directory} is missing: the test needs it to reach that filesystem");
        var path = Path.Combine(directory, $"pvhvm-blk-{Guid.NewGuid():N}.img");
        File.WriteAllBytes(path, Enumerable.Repeat((byte)0x5A, 1 << 20).ToArray());
        try
        {
            using var device = new VirtioBlock(DiskImage.Open(path, readOnly: false), "");
            using var driver = new VirtioTestDriver(device).Start();
            foreach (var (type, sector, flags) in new[] { (VirtioBlock.RequestDiscard, 256UL, 0u), (VirtioBlock.RequestWriteZeroes, 512UL, VirtioBlock.SegmentFlagUnmap), (VirtioBlock.RequestWriteZeroes, 1024UL, 0u) })
            {
                WriteSegment(driver, 0, sector, 128, flags);
                Assert.Equal(VirtioBlock.StatusOk, Request(driver, type, 0, new TestBuffer(Data, VirtioBlock.SegmentBytes)));
            }

            var image = File.ReadAllBytes(path);
            foreach (var sector in new[] { 256, 512, 1024 })
            {
                Assert.All(image.AsSpan(sector * 512, 128 * 512).ToArray(), b => Assert.Equal(0, b));
            }

            Assert.Equal(0x5A, image[(256 * 512) - 1]);
            Assert.Equal(0x5A, image[(256 + 128) * 512]);
            Assert.True(SparseFile.IsHole(path, 256 * 512, 384 * 512), "a discard left the range allocated");
            Assert.True(SparseFile.IsHole(path, 512 * 512, 640 * 512), "write zeroes with unmap left the range allocated");
            Assert.Equal(1 << 20, image.Length);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void ReadsSectorsIntoGuestBuffersSplitAnyWay()
    {
        using var device = new VirtioBlock(DiskImage.Open(_path, readOnly: false), "");
        using var driver = new VirtioTestDriver(device).Start();
        WriteHeader(driver, VirtioBlock.RequestIn, sector: 3);
        // The header split over two descriptors, two sectors over three buffers, the status byte alone.
        var used = driver.Submit(new TestBuffer(Header, 4), new TestBuffer(Header + 4, 12),
            new TestBuffer(Data, 100, true), new TestBuffer(Data + 0x1000, 700, true), new TestBuffer(Data + 0x2000, 224, true),
            new TestBuffer(StatusByte, 1, true));
        Assert.Equal(1025u, used);
        Assert.Equal(VirtioBlock.StatusOk, driver.Memory.ReadByte(StatusByte));
        var expected = File.ReadAllBytes(_path).AsSpan(3 * 512, 1024).ToArray();
        var actual = new byte[1024];
        driver.Memory.Read(Data, actual.AsSpan(0, 100));
        driver.Memory.Read(Data + 0x1000, actual.AsSpan(100, 700));
        driver.Memory.Read(Data + 0x2000, actual.AsSpan(800));
        Assert.Equal(expected, actual);
        Assert.Equal(1024, device.BytesRead);
        Assert.Equal(1, device.Requests);
    }

    [Fact]
    public void WritesReachTheImageAndFlushCompletes()
    {
        using var device = new VirtioBlock(DiskImage.Open(_path, readOnly: false), "");
        using var driver = new VirtioTestDriver(device).Start();
        var payload = Encoding.ASCII.GetBytes(new string('W', 512));
        driver.Memory.Write(Data, payload);
        Assert.Equal(VirtioBlock.StatusOk, Request(driver, VirtioBlock.RequestOut, 8, new TestBuffer(Data, 512)));
        Assert.Equal(VirtioBlock.StatusOk, Request(driver, VirtioBlock.RequestFlush, 0));
        Assert.Equal(payload, File.ReadAllBytes(_path).AsSpan(8 * 512, 512).ToArray());
        Assert.Equal(512, device.BytesWritten);
        Assert.Equal(0, device.Errors);

        // Through an indirect table, as Linux sends requests with more than a couple of segments.
        driver.Memory.Write(Data, Encoding.ASCII.GetBytes(new string('I', 512)));
        WriteHeader(driver, VirtioBlock.RequestOut, 9);
        Assert.Equal(1u, driver.SubmitIndirect(new TestBuffer(Header, 16), new TestBuffer(Data, 512), new TestBuffer(StatusByte, 1, true)));
        Assert.Equal((byte)'I', File.ReadAllBytes(_path)[9 * 512]);
    }

    [Fact]
    public void GetIdAnswersTheSerial()
    {
        using var device = new VirtioBlock(DiskImage.Open(_path, readOnly: false), "PVH-SERIAL-1");
        using var driver = new VirtioTestDriver(device).Start();
        driver.Memory.Write(Data, Enumerable.Repeat((byte)0xAA, 20).ToArray());
        Assert.Equal(VirtioBlock.StatusOk, Request(driver, VirtioBlock.RequestGetId, 0, new TestBuffer(Data, 20, true)));
        var id = new byte[20];
        driver.Memory.Read(Data, id);
        Assert.Equal(Encoding.ASCII.GetBytes("PVH-SERIAL-1").Concat(new byte[8]), id);
    }

    [Theory]
    [InlineData("123456789012345678901")]
    [InlineData("tab\there")]
    [InlineData("\u00e9")]
    public void ASerialIsAtMost20PrintableAsciiCharacters(string serial)
    {
        using var image = DiskImage.Open(_path, readOnly: true);
        Assert.Throws<ArgumentException>(() => new VirtioBlock(image, serial));
    }

    [Fact]
    public void AReadOnlyDiskRefusesWritesWithIoError()
    {
        var before = File.ReadAllBytes(_path);
        using var device = new VirtioBlock(DiskImage.Open(_path, readOnly: true), "");
        using var driver = new VirtioTestDriver(device).Start();
        Assert.Equal(VirtioBlock.StatusIoError, Request(driver, VirtioBlock.RequestOut, 0, new TestBuffer(Data, 512)));
        Assert.Equal(VirtioBlock.StatusOk, Request(driver, VirtioBlock.RequestIn, 0, new TestBuffer(Data, 512, true)));
        Assert.Equal(before, File.ReadAllBytes(_path));
        Assert.Equal(1, device.Errors);
        Assert.Equal(2, device.Requests);
    }

    [Theory]
    [InlineData(Sectors - 1, 512u, VirtioBlock.StatusOk)]
    [InlineData(Sectors - 2, 1024u, VirtioBlock.StatusOk)]
    [InlineData(Sectors - 1, 1024u, VirtioBlock.StatusIoError)]
    [InlineData(Sectors, 512u, VirtioBlock.StatusIoError)]
    [InlineData(Sectors + 1, 0u, VirtioBlock.StatusIoError)]
    [InlineData(ulong.MaxValue / 512, 512u, VirtioBlock.StatusIoError)]
    [InlineData(ulong.MaxValue, 512u, VirtioBlock.StatusIoError)]
    [InlineData(0, 100u, VirtioBlock.StatusIoError)]
    [InlineData(0, 513u, VirtioBlock.StatusIoError)]
    public void RequestsAreCheckedAgainstCapacityAndSectorSize(ulong sector, uint length, byte expected)
    {
        using var device = new VirtioBlock(DiskImage.Open(_path, readOnly: false), "");
        using var driver = new VirtioTestDriver(device).Start();
        var buffers = length == 0 ? [] : new[] { new TestBuffer(Data, length, true) };
        Assert.Equal(expected, Request(driver, VirtioBlock.RequestIn, sector, buffers));
        Assert.Equal(expected == VirtioBlock.StatusOk ? 0 : 1, device.Errors);
        Assert.False(driver.NeedsReset);
    }

    [Fact]
    public void BadRequestsGetTheirStatusAndNeverResetTheDevice()
    {
        using var device = new VirtioBlock(DiskImage.Open(_path, readOnly: false), "");
        using var driver = new VirtioTestDriver(device).Start();
        Assert.Equal(VirtioBlock.StatusUnsupported, Request(driver, 99, 0));
        // A header shorter than 16 bytes.
        Assert.Equal(1u, driver.Submit(new TestBuffer(Header, 8), new TestBuffer(StatusByte, 1, true)));
        Assert.Equal(VirtioBlock.StatusIoError, driver.Memory.ReadByte(StatusByte));
        // Nowhere to put a status: returned with nothing written.
        Assert.Equal(0u, driver.Submit(new TestBuffer(Header, 16)));
        Assert.Equal(3, device.Errors);
        Assert.False(driver.NeedsReset);
    }

    [Fact]
    public void AHostIoErrorReachesTheGuestAsIoErrorAndIsCounted()
    {
        using var device = new VirtioBlock(DiskImage.Open(_path, readOnly: false), "");
        using var driver = new VirtioTestDriver(device).Start();
        // Someone shrinks the image under the running disk: reading what was there fails on the host.
        using (var file = new FileStream(_path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite))
        {
            file.SetLength(4 * 512);
        }

        Assert.Equal(VirtioBlock.StatusIoError, Request(driver, VirtioBlock.RequestIn, 10, new TestBuffer(Data, 512, true)));
        Assert.Equal(VirtioBlock.StatusOk, Request(driver, VirtioBlock.RequestIn, 1, new TestBuffer(Data, 512, true)));
        Assert.Equal(1, device.Errors);
        Assert.Equal(512, device.BytesRead);
    }

    [Fact]
    public void AWritableImageIsLockedAgainstASecondOpenInThisProcess()
    {
        using (DiskImage.Open(_path, readOnly: false))
        {
            Assert.Equal(DiskImageProblem.Locked, Assert.Throws<DiskImageException>(() => DiskImage.Open(_path, readOnly: false)).Problem);
            Assert.Equal(DiskImageProblem.Locked, Assert.Throws<DiskImageException>(() => DiskImage.Open(_path, readOnly: true)).Problem);
        }

        using (DiskImage.Open(_path, readOnly: true))
        using (DiskImage.Open(_path, readOnly: true))
        {
            var refused = Assert.Throws<DiskImageException>(() => DiskImage.Open(_path, readOnly: false));
            Assert.Equal(DiskImageProblem.Locked, refused.Problem);
            Assert.Contains(_path, refused.Message);
        }

        using (DiskImage.Open(_path, readOnly: false))
        {
        }
    }

    [Fact]
    public void AFreeImageIsNeverRefusedWhileThisProcessStartsOthers()
    {
        // Each child holds copies of this process's descriptors, and so their locks, from its vfork to its exec.
        using var stop = new CancellationTokenSource();
        var children = 0;
        var spawner = new Thread(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                using var child = Process.Start(new ProcessStartInfo("/bin/true") { RedirectStandardOutput = true })!;
                child.WaitForExit();
                children++;
            }
        });
        spawner.Start();
        try
        {
            for (var i = 0; i < 2000; i++)
            {
                using (DiskImage.Open(_path, readOnly: i % 2 == 0))
                {
                }
            }
        }
        finally
        {
            stop.Cancel();
            spawner.Join();
        }

        Assert.True(children > 0, "no child was started while the image was opened");
    }

    [Fact]
    public void AWritableImageIsLockedAgainstAnotherProcessAndQemu()
    {
        using (DiskImage.Open(_path, readOnly: false))
        {
            var child = ChildRun.Run([], "open-disk", _path);
            Assert.Equal(["Locked"], child["problem"]);

            // QEMU takes OFD locks on bytes of the same file and must meet ours.
            var qemu = Process.Start(new ProcessStartInfo(HostTools.Require("qemu-io"), ["-f", "raw", "-c", "write 0 512", _path])
            {
                RedirectStandardError = true,
                RedirectStandardOutput = true,
            })!;
            var error = qemu.StandardError.ReadToEnd() + qemu.StandardOutput.ReadToEnd();
            qemu.WaitForExit();
            Assert.NotEqual(0, qemu.ExitCode);
            Assert.Contains("Failed to lock byte", error);
        }

        Assert.Equal(["opened"], ChildRun.Run([], "open-disk", _path)["result"]);
    }

    [Fact]
    public void OpeningExplainsWhatIsWrongWithThePath()
    {
        Assert.Equal(DiskImageProblem.NotFound, Assert.Throws<DiskImageException>(() => DiskImage.Open(_path + ".missing", false)).Problem);
        Assert.Equal(DiskImageProblem.NotARegularFile, Assert.Throws<DiskImageException>(() => DiskImage.Open(Path.GetTempPath(), true)).Problem);
        var tiny = _path + ".tiny";
        File.WriteAllBytes(tiny, new byte[511]);
        try
        {
            Assert.Equal(DiskImageProblem.TooSmall, Assert.Throws<DiskImageException>(() => DiskImage.Open(tiny, false)).Problem);
        }
        finally
        {
            File.Delete(tiny);
        }
    }

    private static ulong ReadConfig64(VirtioTestDriver driver, uint offset)
    {
        var bytes = new byte[8];
        driver.Transport.Read(VirtioMmioRegister.Config + offset, bytes);
        return BinaryPrimitives.ReadUInt64LittleEndian(bytes);
    }

    /// <summary>Segment <paramref name="index"/> of a DISCARD or WRITE_ZEROES list at <see cref="Data"/>.</summary>
    private static void WriteSegment(VirtioTestDriver driver, int index, ulong sector, uint sectors, uint flags)
    {
        var at = Data + ((ulong)index * VirtioBlock.SegmentBytes);
        driver.Memory.WriteUInt64(at, sector);
        driver.Memory.WriteUInt32(at + 8, sectors);
        driver.Memory.WriteUInt32(at + 12, flags);
    }

    private static void WriteHeader(VirtioTestDriver driver, uint type, ulong sector)
    {
        driver.Memory.WriteUInt32(Header, type);
        driver.Memory.WriteUInt32(Header + 4, 0);
        driver.Memory.WriteUInt64(Header + 8, sector);
    }

    /// <summary>Header, <paramref name="data"/>, status byte: the status the device answered.</summary>
    private static byte Request(VirtioTestDriver driver, uint type, ulong sector, params TestBuffer[] data)
    {
        WriteHeader(driver, type, sector);
        driver.Memory.Write(StatusByte, [0xFF]);
        var used = driver.Submit([new TestBuffer(Header, 16), .. data, new TestBuffer(StatusByte, 1, true)]);
        Assert.NotNull(used);
        return driver.Memory.ReadByte(StatusByte);
    }
}
