using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace PvhVm.Control;

/// <summary>The libc calls the runtime directory and the host process need.</summary>
internal static partial class Posix
{
    private const int SIGKILL = 9;

    [LibraryImport("libc", EntryPoint = "kill")]
    private static partial int Kill(int pid, int signal);

    /// <summary>SIGKILL to every process of the group this process leads.</summary>
    public static void KillProcessGroup(int leader) => Kill(-leader, SIGKILL);

    [LibraryImport("libc", EntryPoint = "getuid")]
    public static partial uint GetUid();

    /// <summary>The uid owning the path (statx would do too; stat's struct is stable on x86-64: st_uid at offset 28).</summary>
    public static unsafe uint OwnerOf(string path)
    {
        var buffer = stackalloc byte[256];
        if (Stat(path, buffer) != 0)
        {
            throw new IOException($"stat {path}: {Marshal.GetLastPInvokeErrorMessage()}");
        }

        return *(uint*)(buffer + 28);
    }

    /// <summary>The inode of an open file (fstat; st_ino is at offset 8 on x86-64): which file a path named when it was opened.</summary>
    public static unsafe ulong InodeOf(SafeFileHandle file)
    {
        var buffer = stackalloc byte[256];
        if (FileStat(file, buffer) != 0)
        {
            throw new IOException($"fstat: {Marshal.GetLastPInvokeErrorMessage()}");
        }

        return *(ulong*)(buffer + 8);
    }

    [LibraryImport("libc", EntryPoint = "fstat", SetLastError = true)]
    private static unsafe partial int FileStat(SafeFileHandle file, byte* buffer);

    /// <summary>mkdir(2) with mode 0700: false when the path exists (EEXIST), so two creators of one name cannot both win.</summary>
    public static bool TryMakePrivateDirectory(string path)
    {
        if (MakeDirectory(path, 0b111_000_000) == 0)
        {
            return true;
        }

        var errno = Marshal.GetLastPInvokeError();
        return errno == EEXIST ? false : throw new IOException($"mkdir {path}: {Marshal.GetPInvokeErrorMessage(errno)}");
    }

    private const int EEXIST = 17;
    private const int EINTR = 4;
    private const int LOCK_EX = 2;

    private const int O_RDWR = 2;
    private const int O_CREAT = 0x40;
    private const int O_CLOEXEC = 0x80000;

    /// <summary>
    /// Opens (creating, mode 0600) the file at <paramref name="path"/> and waits until it holds the file's exclusive flock;
    /// disposing closes it, which releases the lock. Not a FileStream: .NET takes a shared flock of its own, without
    /// waiting, on every file it opens, and so fails while another process holds the exclusive lock.
    /// </summary>
    public static SafeFileHandle LockExclusive(string path)
    {
        var file = new SafeFileHandle(Open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0b110_000_000), ownsHandle: true);
        if (file.IsInvalid)
        {
            throw new IOException($"open {path}: {Marshal.GetLastPInvokeErrorMessage()}");
        }

        while (Flock(file, LOCK_EX) != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            if (errno != EINTR)
            {
                file.Dispose();
                throw new IOException($"flock {path}: {Marshal.GetPInvokeErrorMessage(errno)}");
            }
        }

        return file;
    }

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags, uint mode);

    [LibraryImport("libc", EntryPoint = "flock", SetLastError = true)]
    private static partial int Flock(SafeFileHandle file, int operation);

    private const int AT_FDCWD = -100;
    private const uint RENAME_EXCHANGE = 2;

    /// <summary>
    /// Swaps two paths atomically (renameat2 RENAME_EXCHANGE); false when either is missing or the file system cannot
    /// exchange (the caller renames instead).
    /// </summary>
    public static bool TryExchange(string path, string otherPath) => RenameAt2(AT_FDCWD, path, AT_FDCWD, otherPath, RENAME_EXCHANGE) == 0;

    [LibraryImport("libc", EntryPoint = "renameat2", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int RenameAt2(int oldDirectory, string oldPath, int newDirectory, string newPath, uint flags);

    [LibraryImport("libc", EntryPoint = "mkdir", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int MakeDirectory(string path, uint mode);

    [LibraryImport("libc", EntryPoint = "stat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static unsafe partial int Stat(string path, byte* buffer);
}
