using System.Runtime.InteropServices;
using PvhVm.Core.Interop;

namespace PvhVm.Core.Memory;

/// <summary>
/// Guest RAM to and from a file laid out as the regions one after another: written with holes where a page is all
/// zeros, mapped back copy-on-write (MAP_PRIVATE), so every VM mapping one file shares the pages none of them wrote.
/// </summary>
internal sealed partial class GuestMemory
{
    /// <summary>
    /// Writes RAM to a new file at <paramref name="path"/>, of exactly <see cref="RamSize"/> bytes, skipping all-zero
    /// pages (they stay holes). Returns the bytes of data written.
    /// </summary>
    /// <remarks>
    /// Zero pages are found by reading them, not with mincore(2): a resident page can be all zeros, and a page the guest
    /// wrote may have been swapped out, which mincore calls absent. Reading an untouched anonymous page maps the
    /// kernel's shared zero page, so the scan does not grow the VM's resident memory.
    /// </remarks>
    public unsafe long WriteSparseFile(string path)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        using var file = File.OpenHandle(path, FileMode.CreateNew, FileAccess.Write);
        RandomAccess.SetLength(file, (long)RamSize);
        long written = 0;
        long fileOffset = 0;
        foreach (var region in _regions)
        {
            var pages = region.Size / PageSize;
            ulong page = 0;
            while (page < pages)
            {
                if (IsZeroPage(region, page))
                {
                    page++;
                    continue;
                }

                // A run of data pages goes out in one write (at most 1 GiB, what a span can hold).
                var first = page;
                while (page < pages && page - first < (1 << 18) && !IsZeroPage(region, page))
                {
                    page++;
                }

                var length = (int)((page - first) * PageSize);
                RandomAccess.Write(file, new ReadOnlySpan<byte>((byte*)region.HostAddress + (first * PageSize), length), fileOffset + (long)(first * PageSize));
                written += length;
            }

            fileOffset += (long)region.Size;
        }

        return written;
    }

    /// <summary>
    /// Maps a RAM file written by <see cref="WriteSparseFile"/> copy-on-write; the caller has checked that it is
    /// exactly <paramref name="ramSize"/> bytes. The guest's writes go to pages of this process only; the file is never changed.
    /// </summary>
    public static GuestMemory MapPrivateFile(string path, ulong ramSize)
    {
        var fd = Libc.Open(path, Libc.O_RDONLY | Libc.O_CLOEXEC);
        if (fd < 0)
        {
            throw new IOException($"{path}: {Libc.ErrorText(Marshal.GetLastPInvokeError())}");
        }

        try
        {
            return Allocate(ramSize, (size, offset) => MapFile(fd, size, offset));
        }
        finally
        {
            Libc.Close(fd);
        }
    }

    private static unsafe bool IsZeroPage(GuestRamRegion region, ulong page)
        => new ReadOnlySpan<byte>((byte*)region.HostAddress + (page * PageSize), (int)PageSize).IndexOfAnyExcept((byte)0) < 0;

    private static nint MapFile(int fd, ulong size, ulong offset)
    {
        var address = Libc.Mmap(0, (nuint)size, Libc.PROT_READ | Libc.PROT_WRITE, Libc.MAP_PRIVATE | Libc.MAP_NORESERVE, fd, (nint)offset);
        if (address == Libc.MAP_FAILED)
        {
            var errno = Marshal.GetLastPInvokeError();
            throw new Host.HostResourceException(Host.HostResource.Memory, $"mmap {size} bytes of guest RAM from a checkpoint", errno);
        }

        return address;
    }
}
