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
/// Opens an untrusted path read-only: non-blocking, so a FIFO never blocks the caller, and checked with statx on the
/// open descriptor, so a file swapped after a check cannot slip through. Only regular files pass.
/// </summary>
internal static class RegularFile
{
    /// <summary>The open descriptor and the file's size; throws <see cref="RegularFileException"/> saying why not.</summary>
    public static SafeFileHandle Open(string path, out ulong size)
    {
        if (path.Length == 0 || path.Contains('\0'))
        {
            throw new RegularFileException(RegularFileProblem.NotFound, "not a valid path");
        }

        var fd = Libc.Open(path, Libc.O_RDONLY | Libc.O_NONBLOCK | Libc.O_CLOEXEC);
        if (fd < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            throw errno is Libc.ENOENT or Libc.ENOTDIR
                ? new RegularFileException(RegularFileProblem.NotFound, "no such file")
                : new RegularFileException(RegularFileProblem.Unreadable, Libc.ErrorText(errno));
        }

        var handle = new SafeFileHandle(fd, ownsHandle: true);
        if (Libc.Statx(fd, "", Libc.AT_EMPTY_PATH, Libc.STATX_TYPE | Libc.STATX_SIZE, out var status) != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            handle.Dispose();
            throw new RegularFileException(RegularFileProblem.Unreadable, Libc.ErrorText(errno));
        }

        var type = status.Mode & Libc.S_IFMT;
        if (type != Libc.S_IFREG)
        {
            handle.Dispose();
            throw new RegularFileException(RegularFileProblem.NotARegularFile,
                type == Libc.S_IFDIR ? "is a directory" : "is not a regular file (FIFO, socket or device)");
        }

        size = status.Size;
        return handle;
    }
}
