using System.Diagnostics;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;
using PvhVm.Core.Interop;

namespace PvhVm.Core.Devices.Virtio.Block;

/// <summary>
/// A raw disk image file, opened and locked for one disk. The lock is an OFD lock over the whole file (as QEMU takes
/// one): exclusive for a writable disk, shared for a read-only one, so two writers, or a writer and a reader, can never
/// have the same image at once, whether in this process or in another VMM that honours the lock. It is released when
/// the image is closed. Capacity is fixed at open, in whole 512-byte sectors.
/// </summary>
internal sealed class DiskImage : IDisposable
{
    public const int SectorSize = 512;

    private readonly SafeFileHandle _handle;

    private DiskImage(string path, SafeFileHandle handle, ulong sizeBytes, bool readOnly)
    {
        Path = path;
        _handle = handle;
        SizeBytes = sizeBytes;
        ReadOnly = readOnly;
    }

    public string Path { get; }

    public ulong SizeBytes { get; }

    public ulong CapacitySectors => SizeBytes / SectorSize;

    public bool ReadOnly { get; }

    /// <summary>Opens and locks <paramref name="path"/>; throws <see cref="DiskImageException"/> saying why not.</summary>
    public static DiskImage Open(string path, bool readOnly)
    {
        var handle = OpenUnlocked(path, readOnly, out var size);
        try
        {
            Lock(handle, path, readOnly);
            return new DiskImage(path, handle, size, readOnly);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The size of the image <paramref name="path"/> would be, if it can be opened as asked; throws
    /// <see cref="DiskImageException"/> saying why not. Takes no lock: a disk is checked when it is added to a VM and
    /// locked only while the VM runs.
    /// </summary>
    public static ulong Check(string path, bool readOnly)
    {
        using var handle = OpenUnlocked(path, readOnly, out var size);
        return size;
    }

    private static SafeFileHandle OpenUnlocked(string path, bool readOnly, out ulong size)
    {
        SafeFileHandle handle;
        try
        {
            handle = RegularFile.Open(path, out size, writable: !readOnly);
        }
        catch (RegularFileException e)
        {
            throw new DiskImageException(e.Problem switch
            {
                RegularFileProblem.NotFound => DiskImageProblem.NotFound,
                RegularFileProblem.NotARegularFile => DiskImageProblem.NotARegularFile,
                _ => DiskImageProblem.NotAccessible,
            }, path, e.Message);
        }

        if (size < SectorSize)
        {
            handle.Dispose();
            throw new DiskImageException(DiskImageProblem.TooSmall, path, $"{size} bytes is smaller than one {SectorSize}-byte sector");
        }

        return handle;
    }

    /// <summary>Reads exactly <paramref name="destination"/>'s length at <paramref name="offset"/>; <see cref="IOException"/> on any failure or short read.</summary>
    public void ReadAt(ulong offset, Span<byte> destination)
    {
        while (destination.Length > 0)
        {
            var got = RandomAccess.Read(_handle, destination, (long)offset);
            if (got == 0)
            {
                throw new IOException($"'{Path}' ended at byte {offset}: the image shrank under the disk");
            }

            destination = destination[got..];
            offset += (ulong)got;
        }
    }

    public void WriteAt(ulong offset, ReadOnlySpan<byte> source) => RandomAccess.Write(_handle, source, (long)offset);

    /// <summary>fdatasync: returns only once written data is on stable storage; <see cref="IOException"/> if the host says it is not.</summary>
    public void Flush()
    {
        if (Libc.Fdatasync((int)_handle.DangerousGetHandle()) != 0)
        {
            throw new IOException($"fdatasync of '{Path}' failed: {Libc.ErrorText(Marshal.GetLastPInvokeError())}");
        }
    }

    /// <summary>
    /// Gives the range's space back to the host's filesystem (a punched hole, which reads as zeroes; the size stays);
    /// <see cref="IOException"/> if the filesystem cannot (every common Linux one can: ext4, xfs, btrfs, tmpfs).
    /// </summary>
    public void Discard(ulong offset, ulong length)
    {
        if (FallocateError(Libc.FALLOC_FL_PUNCH_HOLE | Libc.FALLOC_FL_KEEP_SIZE, offset, length) is var errno and not 0)
        {
            throw new IOException($"punching a hole in '{Path}' failed: {Libc.ErrorText(errno)}");
        }
    }

    /// <summary>
    /// Makes the range read as zeroes: by punching a hole when <paramref name="unmap"/> allows giving the space back,
    /// else by zeroing it in place (ZERO_RANGE keeps it allocated), or, where the filesystem has no ZERO_RANGE (tmpfs),
    /// by writing zeroes.
    /// </summary>
    public void WriteZeroes(ulong offset, ulong length, bool unmap)
    {
        if (unmap)
        {
            Discard(offset, length);
            return;
        }

        switch (FallocateError(Libc.FALLOC_FL_ZERO_RANGE | Libc.FALLOC_FL_KEEP_SIZE, offset, length))
        {
            case 0:
                return;
            case Libc.EOPNOTSUPP:
                for (var done = 0UL; done < length;)
                {
                    var piece = (int)Math.Min(length - done, (ulong)Zeroes.Length);
                    WriteAt(offset + done, Zeroes.AsSpan(0, piece));
                    done += (ulong)piece;
                }

                return;
            case var errno:
                throw new IOException($"zeroing a range of '{Path}' failed: {Libc.ErrorText(errno)}");
        }
    }

    public void Dispose() => _handle.Dispose();

    /// <summary>What <see cref="WriteZeroes"/> writes where it must write; one for all disks.</summary>
    private static readonly byte[] Zeroes = new byte[64 * 1024];

    /// <summary>fallocate on the image: 0, or the errno it failed with.</summary>
    private int FallocateError(int mode, ulong offset, ulong length)
        => Libc.Fallocate((int)_handle.DangerousGetHandle(), mode, (long)offset, (long)length) == 0 ? 0 : Marshal.GetLastPInvokeError();

    /// <summary>
    /// How long a refused lock is tried again before it counts as another holder's. A lock can be held for an instant by
    /// this process itself: a child it starts (Process.Start, a host-process launch) holds copies of every descriptor from
    /// its vfork until its exec closes them (they are O_CLOEXEC), and the open file description keeps its OFD lock while
    /// any copy lives. Measured: with one thread starting /bin/true in a loop, 932 of 20,000 exclusive locks of a free
    /// file were refused.
    /// </summary>
    private static readonly TimeSpan LockRetryWindow = TimeSpan.FromMilliseconds(100);

    private static void Lock(SafeFileHandle handle, string path, bool readOnly)
    {
        var fileLock = new FileLock { Type = readOnly ? Libc.F_RDLCK : Libc.F_WRLCK, Whence = Libc.SEEK_SET };
        var trying = Stopwatch.StartNew();
        int errno;
        while (true)
        {
            if (Libc.Fcntl((int)handle.DangerousGetHandle(), Libc.F_OFD_SETLK, ref fileLock) == 0)
            {
                return;
            }

            errno = Marshal.GetLastPInvokeError();
            if (errno is not (Libc.EAGAIN or Libc.EACCES) || trying.Elapsed >= LockRetryWindow)
            {
                break;
            }

            Thread.Sleep(1);
        }

        throw errno is Libc.EAGAIN or Libc.EACCES
            ? new DiskImageException(DiskImageProblem.Locked, path, readOnly
                ? "is open for writing elsewhere (locked), so it cannot be attached read-only"
                : "is in use elsewhere (locked by another disk or VMM), so it cannot be attached writable")
            : new DiskImageException(DiskImageProblem.NotAccessible, path, $"could not be locked: {Libc.ErrorText(errno)}");
    }
}
