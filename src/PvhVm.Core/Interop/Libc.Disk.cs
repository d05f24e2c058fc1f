using System.Runtime.InteropServices;

namespace PvhVm.Core.Interop;

/// <summary>What disks and the entropy device need: OFD record locks (fcntl), fdatasync, fallocate and getrandom.</summary>
internal static partial class Libc
{
    public const int EACCES = 13;
    public const int EROFS = 30;

    /// <summary>Open-file-description locks: owned by the open file, not the process, so two opens in one process conflict too.</summary>
    public const int F_OFD_SETLK = 37;
    public const short F_RDLCK = 0;
    public const short F_WRLCK = 1;
    public const short SEEK_SET = 0;

    public const int EOPNOTSUPP = 95;

    /// <summary>fallocate modes: the file's size stays; a hole is punched (space given back); a range reads as zeroes.</summary>
    public const int FALLOC_FL_KEEP_SIZE = 0x01;
    public const int FALLOC_FL_PUNCH_HOLE = 0x02;
    public const int FALLOC_FL_ZERO_RANGE = 0x10;

    [LibraryImport("libc", EntryPoint = "fcntl", SetLastError = true)]
    public static partial int Fcntl(int fd, int command, ref FileLock fileLock);

    [LibraryImport("libc", EntryPoint = "fdatasync", SetLastError = true)]
    public static partial int Fdatasync(int fd);

    [LibraryImport("libc", EntryPoint = "fallocate", SetLastError = true)]
    public static partial int Fallocate(int fd, int mode, long offset, long length);

    [LibraryImport("libc", EntryPoint = "getrandom", SetLastError = true)]
    public static unsafe partial nint Getrandom(byte* buffer, nuint length, uint flags);
}

/// <summary>struct flock on x86_64 (32 bytes); l_len 0 means "to the end of the file, however it grows".</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct FileLock
{
    public short Type;
    public short Whence;
    public long Start;
    public long Length;
    public int Pid;
}
