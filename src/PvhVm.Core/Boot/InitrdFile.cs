using Microsoft.Win32.SafeHandles;
using PvhVm.Core.Interop;

namespace PvhVm.Core.Boot;

/// <summary>
/// An initrd opened for loading. Opened non-blocking and checked with fstat-style statx on the open descriptor,
/// so a FIFO never blocks the caller and a file swapped after a check cannot slip through: only regular files pass.
/// </summary>
internal sealed class InitrdFile : IDisposable
{
    private const int ChunkSize = 1 << 30;

    private readonly SafeFileHandle _handle;

    private InitrdFile(string path, SafeFileHandle handle, ulong size)
    {
        Path = path;
        _handle = handle;
        Size = size;
    }

    public string Path { get; }

    public ulong Size { get; }

    public static InitrdFile Open(string path)
    {
        if (path.Length == 0 || path.Contains('\0'))
        {
            throw new BootException(BootErrorKind.InitrdNotFound, $"'{path.Replace("\0", "\\0")}' is not a valid initrd path.");
        }

        var fd = Libc.Open(path, Libc.O_RDONLY | Libc.O_NONBLOCK | Libc.O_CLOEXEC);
        if (fd < 0)
        {
            var errno = System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
            var kind = errno is Libc.ENOENT or Libc.ENOTDIR ? BootErrorKind.InitrdNotFound : BootErrorKind.InitrdUnreadable;
            throw new BootException(kind, $"Cannot open initrd '{path}': {Libc.ErrorText(errno)}.");
        }

        var handle = new SafeFileHandle(fd, ownsHandle: true);
        try
        {
            if (Libc.Statx(fd, "", Libc.AT_EMPTY_PATH, Libc.STATX_TYPE | Libc.STATX_SIZE, out var status) != 0)
            {
                var errno = System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
                throw new BootException(BootErrorKind.InitrdUnreadable, $"Cannot stat initrd '{path}': {Libc.ErrorText(errno)}.");
            }

            var type = status.Mode & Libc.S_IFMT;
            if (type != Libc.S_IFREG)
            {
                var what = type == Libc.S_IFDIR ? "a directory" : "not a regular file (FIFO, socket or device)";
                throw new BootException(BootErrorKind.InitrdUnreadable, $"Initrd '{path}' is {what}.");
            }

            if (status.Size == 0)
            {
                throw new BootException(BootErrorKind.InitrdUnreadable, $"Initrd '{path}' is empty.");
            }

            return new InitrdFile(path, handle, status.Size);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>Reads the whole file straight into guest memory at <paramref name="address"/>, in chunks, without a host copy.</summary>
    public void ReadInto(GuestMemory memory, ulong address)
    {
        ulong done = 0;
        while (done < Size)
        {
            var chunk = (int)Math.Min(Size - done, ChunkSize);
            var read = RandomAccess.Read(_handle, memory.GetSpan(address + done, chunk), (long)done);
            if (read == 0)
            {
                throw new BootException(BootErrorKind.InitrdUnreadable, $"Initrd '{Path}' shrank while loading: {done} of {Size} bytes read.");
            }

            done += (ulong)read;
        }
    }

    public void Dispose() => _handle.Dispose();
}
