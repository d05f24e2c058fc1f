using System.Buffers.Binary;
using System.Text;
using PvhVm.Core.Memory;

namespace PvhVm.Core.Devices.Virtio.Block;

/// <summary>
/// virtio-blk (device ID 2, VIRTIO 1.2 section 5.2) over a <see cref="DiskImage"/>: IN, OUT, FLUSH (answered only
/// after fdatasync) and GET_ID, with SEG_MAX, BLK_SIZE, FLUSH and, for a read-only image, RO; a writable image also
/// offers DISCARD (a punched hole: a sparse image gives the space back) and WRITE_ZEROES (a punched hole with the unmap
/// flag, ZERO_RANGE without), one segment a request, with QEMU's limits. Requests are served on the thread that
/// delivers the notification, straight between the image and guest RAM. Host I/O failures and bad requests reach the
/// guest as a status (IOERR, UNSUPP) and are counted; the device never fails because of them. Owns the image.
/// </summary>
internal sealed class VirtioBlock : IVirtioDevice, IDisposable
{
    public const ushort QueueSize = 256;

    /// <summary>Data segments per request: the queue less the header and status descriptors (QEMU's choice).</summary>
    public const uint SegmentsMax = QueueSize - 2;

    /// <summary>The longest serial GET_ID returns (VIRTIO_BLK_ID_BYTES); shorter ones are NUL-padded.</summary>
    public const int SerialBytes = 20;

    public const ulong FeatureSegMax = 1UL << 2;
    public const ulong FeatureReadOnly = 1UL << 5;
    public const ulong FeatureBlockSize = 1UL << 6;
    public const ulong FeatureFlush = 1UL << 9;
    public const ulong FeatureDiscard = 1UL << 13;
    public const ulong FeatureWriteZeroes = 1UL << 14;

    public const uint RequestIn = 0;
    public const uint RequestOut = 1;
    public const uint RequestFlush = 4;
    public const uint RequestGetId = 8;
    public const uint RequestDiscard = 11;
    public const uint RequestWriteZeroes = 13;

    /// <summary>Sectors one DISCARD or WRITE_ZEROES segment may cover: QEMU's limit (BDRV_REQUEST_MAX_SECTORS), 2 GiB less a sector.</summary>
    public const uint MaxDiscardSectors = 0x3F_FFFF;

    /// <summary>
    /// Segments a DISCARD or WRITE_ZEROES request may carry: one, as QEMU offers (no host API takes several ranges in one
    /// call, and Linux sends one per request unless told more).
    /// </summary>
    public const uint MaxDiscardSegments = 1;

    /// <summary>The unmap flag of a WRITE_ZEROES segment: the range may be deallocated. Any other flag bit is unsupported.</summary>
    public const uint SegmentFlagUnmap = 1;

    /// <summary>struct virtio_blk_discard_write_zeroes: le64 sector, le32 num_sectors, le32 flags.</summary>
    public const int SegmentBytes = 16;

    public const byte StatusOk = 0;
    public const byte StatusIoError = 1;
    public const byte StatusUnsupported = 2;

    /// <summary>struct virtio_blk_config up to write_zeroes_may_unmap (and its padding).</summary>
    public const int ConfigBytes = 60;

    private const int HeaderBytes = 16;

    /// <summary>The discard granularity Linux takes from discard_sector_alignment, in sectors: one sector, as QEMU's is for a 512-byte disk.</summary>
    private const uint DiscardSectorAlignment = 1;

    /// <summary>Guest buffers are handed to the host in pieces no larger than this (spans are int-sized).</summary>
    private const int MaxTransferPiece = 1 << 30;

    private readonly DiskImage _image;
    private readonly byte[] _serial;
    private readonly byte[] _config;
    private long _requests;
    private long _bytesRead;
    private long _bytesWritten;
    private long _errors;

    /// <param name="serial">What GET_ID answers: printable ASCII, at most 20 bytes.</param>
    public VirtioBlock(DiskImage image, string serial)
    {
        CheckSerial(serial);
        _image = image;
        _serial = new byte[SerialBytes];
        Encoding.ASCII.GetBytes(serial, _serial);
        Features = FeatureSegMax | FeatureBlockSize | FeatureFlush
            | (image.ReadOnly ? FeatureReadOnly : FeatureDiscard | FeatureWriteZeroes);
        _config = BuildConfig(image.CapacitySectors);
    }

    /// <summary>Throws <see cref="ArgumentException"/> unless <paramref name="serial"/> is at most 20 printable ASCII characters.</summary>
    public static void CheckSerial(string serial)
    {
        if (serial.Length > SerialBytes || serial.Any(c => c is < ' ' or > '~'))
        {
            throw new ArgumentException($"A disk serial is at most {SerialBytes} printable ASCII characters; '{serial}' is not.", nameof(serial));
        }
    }

    public VirtioDeviceType DeviceType => VirtioDeviceType.Block;

    public ulong Features { get; }

    public IReadOnlyList<ushort> QueueMaxSizes { get; } = [QueueSize];

    public DiskImage Image => _image;

    /// <summary>What GET_ID answers.</summary>
    public string Serial => Encoding.ASCII.GetString(_serial).TrimEnd('\0');

    public long Requests => Interlocked.Read(ref _requests);

    public long BytesRead => Interlocked.Read(ref _bytesRead);

    public long BytesWritten => Interlocked.Read(ref _bytesWritten);

    /// <summary>Requests not answered OK: host I/O failures, requests out of range or malformed, unsupported types.</summary>
    public long Errors => Interlocked.Read(ref _errors);

    public void ReadConfig(uint offset, Span<byte> data)
    {
        data.Clear();
        if (offset < _config.Length)
        {
            var available = _config.AsSpan((int)offset);
            available[..Math.Min(available.Length, data.Length)].CopyTo(data);
        }
    }

    public uint Handle(int queueIndex, DescriptorChain chain, GuestMemory memory)
    {
        Interlocked.Increment(ref _requests);
        if (chain.WritableLength == 0)
        {
            // No status byte to answer in: the request is returned unanswered.
            Interlocked.Increment(ref _errors);
            return 0;
        }

        var statusOffset = chain.WritableLength - 1;
        var status = Serve(chain, memory, statusOffset, out var dataWritten);
        if (status != StatusOk)
        {
            Interlocked.Increment(ref _errors);
        }

        chain.CopyToWritable(memory, statusOffset, [status]);
        return (uint)Math.Min(dataWritten + 1, uint.MaxValue);
    }

    public void Dispose() => _image.Dispose();

    private byte Serve(DescriptorChain chain, GuestMemory memory, ulong statusOffset, out ulong dataWritten)
    {
        dataWritten = 0;
        Span<byte> header = stackalloc byte[HeaderBytes];
        if (chain.CopyFromReadable(memory, 0, header) < HeaderBytes)
        {
            return StatusIoError;
        }

        var type = BinaryPrimitives.ReadUInt32LittleEndian(header);
        var sector = BinaryPrimitives.ReadUInt64LittleEndian(header[8..]);
        switch (type)
        {
            case RequestIn:
                return Transfer(memory, chain.Writable, 0, statusOffset, sector, toGuest: true, out dataWritten);
            case RequestOut:
                return _image.ReadOnly
                    ? StatusIoError
                    : Transfer(memory, chain.Readable, HeaderBytes, chain.ReadableLength - HeaderBytes, sector, toGuest: false, out _);
            case RequestFlush:
                return HostIo(_image.Flush);
            case RequestGetId:
                dataWritten = (ulong)chain.CopyToWritable(memory, 0, _serial.AsSpan(0, (int)Math.Min(statusOffset, SerialBytes)));
                return StatusOk;
            case RequestDiscard or RequestWriteZeroes when !_image.ReadOnly:
                return DiscardOrWriteZeroes(chain, memory, type == RequestWriteZeroes);
            default:
                return StatusUnsupported;
        }
    }

    /// <summary>Moves <paramref name="length"/> bytes between the image at <paramref name="sector"/> and the buffers from <paramref name="offset"/>.</summary>
    private byte Transfer(GuestMemory memory, IReadOnlyList<GuestBuffer> buffers, ulong offset, ulong length, ulong sector,
        bool toGuest, out ulong transferred)
    {
        transferred = 0;
        // Section 5.2.6: data is a whole number of sectors; a request reaching past the capacity is an I/O error.
        if (length % DiskImage.SectorSize != 0 || sector > _image.CapacitySectors
            || length / DiskImage.SectorSize > _image.CapacitySectors - sector)
        {
            return StatusIoError;
        }

        var position = sector * DiskImage.SectorSize;
        try
        {
            foreach (var buffer in DescriptorChain.Slice(buffers, offset, length))
            {
                for (var done = 0u; done < buffer.Length;)
                {
                    var piece = (int)Math.Min(buffer.Length - done, MaxTransferPiece);
                    var span = memory.GetSpan(buffer.Address.Value + done, piece);
                    if (toGuest)
                    {
                        _image.ReadAt(position, span);
                    }
                    else
                    {
                        _image.WriteAt(position, span);
                    }

                    done += (uint)piece;
                    position += (ulong)piece;
                    transferred += (ulong)piece;
                }
            }

            return StatusOk;
        }
        catch (IOException)
        {
            return StatusIoError;
        }
        finally
        {
            Interlocked.Add(ref toGuest ? ref _bytesRead : ref _bytesWritten, (long)transferred);
        }
    }

    /// <summary>
    /// DISCARD or WRITE_ZEROES: the segment list after the header is the guest's and is checked whole before the image is
    /// touched, with QEMU's answers: a list that is not whole segments is an I/O error, more segments than offered or a
    /// flag other than unmap (or unmap on a discard) are unsupported, a segment beyond the limit or the capacity is an
    /// I/O error.
    /// </summary>
    private byte DiscardOrWriteZeroes(DescriptorChain chain, GuestMemory memory, bool writeZeroes)
    {
        var listBytes = chain.ReadableLength - HeaderBytes;
        if (listBytes == 0 || listBytes % SegmentBytes != 0)
        {
            return StatusIoError;
        }

        if (listBytes / SegmentBytes > MaxDiscardSegments)
        {
            return StatusUnsupported;
        }

        Span<byte> segment = stackalloc byte[SegmentBytes];
        chain.CopyFromReadable(memory, HeaderBytes, segment);
        var sector = BinaryPrimitives.ReadUInt64LittleEndian(segment);
        var sectors = BinaryPrimitives.ReadUInt32LittleEndian(segment[8..]);
        var flags = BinaryPrimitives.ReadUInt32LittleEndian(segment[12..]);
        if (sectors > MaxDiscardSectors || sector > _image.CapacitySectors || sectors > _image.CapacitySectors - sector)
        {
            return StatusIoError;
        }

        if ((flags & ~SegmentFlagUnmap) != 0 || (!writeZeroes && flags != 0))
        {
            return StatusUnsupported;
        }

        if (sectors == 0)
        {
            return StatusOk;
        }

        var (offset, length) = (sector * DiskImage.SectorSize, (ulong)sectors * DiskImage.SectorSize);
        return HostIo(writeZeroes ? () => _image.WriteZeroes(offset, length, unmap: flags != 0) : () => _image.Discard(offset, length));
    }

    private static byte HostIo(Action operation)
    {
        try
        {
            operation();
            return StatusOk;
        }
        catch (IOException)
        {
            return StatusIoError;
        }
    }

    /// <summary>
    /// struct virtio_blk_config up to write_zeroes_may_unmap: capacity, size_max (not offered), seg_max, geometry (not
    /// offered), blk_size, topology, writeback and num_queues (not offered), then the discard and write-zeroes limits
    /// (read by a driver only when it negotiated those features).
    /// </summary>
    private static byte[] BuildConfig(ulong capacitySectors)
    {
        var config = new byte[ConfigBytes];
        BinaryPrimitives.WriteUInt64LittleEndian(config, capacitySectors);
        BinaryPrimitives.WriteUInt32LittleEndian(config.AsSpan(12), SegmentsMax);
        BinaryPrimitives.WriteUInt32LittleEndian(config.AsSpan(20), DiskImage.SectorSize);
        BinaryPrimitives.WriteUInt32LittleEndian(config.AsSpan(36), MaxDiscardSectors);
        BinaryPrimitives.WriteUInt32LittleEndian(config.AsSpan(40), MaxDiscardSegments);
        BinaryPrimitives.WriteUInt32LittleEndian(config.AsSpan(44), DiscardSectorAlignment);
        BinaryPrimitives.WriteUInt32LittleEndian(config.AsSpan(48), MaxDiscardSectors);
        BinaryPrimitives.WriteUInt32LittleEndian(config.AsSpan(52), MaxDiscardSegments);
        config[56] = 1; // write_zeroes_may_unmap: a WRITE_ZEROES with the unmap flag punches a hole
        return config;
    }
}
