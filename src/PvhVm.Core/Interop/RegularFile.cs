using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace PvhVm.Core.Interop;

/// <summary>Why a path could not be opened as a regular file.</summary>
internal enum RegularFileProblem
{
    NotFound,
    Unreadable,
    NotARegularFile,
}

/// <summary>A path the engine was given (kernel image, initrd) is not a readable regular file.</summary>
internal sealed class RegularFileException(RegularFileProblem problem, string detail) : Exception(detail)
{
    public RegularFileProblem Problem { get; } = problem;
}

/// <summary>
/// Opens an untrusted path, read-only unless a writable disk image asks otherwise. The type is checked by path before the open, so a device is never opened (opening
/// some has effects: a watchdog arms, a terminal becomes the controlling one), and again on the open descriptor, so a
/// file swapped in between cannot slip through; the open itself is non-blocking, so a FIFO swapped in cannot block the
/// caller. Only regular files pass.
/// </summary>
internal static class RegularFile
{
    /// <summary>The open descriptor and the file's size; throws <see cref="RegularFileException"/> saying why not.</summary>
    public static SafeFileHandle Open(string path, out ulong size, bool writable = false)
    {
        if (path.Length == 0 || path.Contains('\0'))
        {
            throw new RegularFileException(RegularFileProblem.NotFound, "not a valid path");
        }

        _ = EnsureRegular(Libc.Statx(Libc.AT_FDCWD, path, 0, Libc.STATX_TYPE | Libc.STATX_SIZE, out var byPath), byPath);
        var fd = Libc.Open(path, (writable ? Libc.O_RDWR : Libc.O_RDONLY) | Libc.O_NONBLOCK | Libc.O_NOCTTY | Libc.O_CLOEXEC);
        if (fd < 0)
        {
            throw Failure(Marshal.GetLastPInvokeError());
        }

        var handle = new SafeFileHandle(fd, ownsHandle: true);
        try
        {
            size = EnsureRegular(Libc.Statx(fd, "", Libc.AT_EMPTY_PATH, Libc.STATX_TYPE | Libc.STATX_SIZE, out var status), status);
            return handle;
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>The size, when a statx call succeeded on a regular file.</summary>
    private static ulong EnsureRegular(int statxResult, in StatxBuffer status)
    {
        if (statxResult != 0)
        {
            throw Failure(Marshal.GetLastPInvokeError());
        }

        var type = status.Mode & Libc.S_IFMT;
        return type == Libc.S_IFREG
            ? status.Size
            : throw new RegularFileException(RegularFileProblem.NotARegularFile,
                type == Libc.S_IFDIR ? "is a directory" : "is not a regular file (FIFO, socket or device)");
    }

    private static RegularFileException Failure(int errno) => errno is Libc.ENOENT or Libc.ENOTDIR
        ? new RegularFileException(RegularFileProblem.NotFound, "no such file")
        : new RegularFileException(RegularFileProblem.Unreadable, Libc.ErrorText(errno));
}
