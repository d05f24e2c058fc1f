using PvhVm.Core.Interop;
using PvhVm.Core.Kvm;

namespace PvhVm.Core.Machine;

/// <summary>
/// Refuses a VM that would leave the process almost no file descriptors. The .NET runtime needs a few of its own
/// (threads, assembly loads) and, finding none, ends the process instead of throwing; so VMs stop short of the limit.
/// </summary>
internal static class DescriptorHeadroom
{
    /// <summary>Descriptors left to the runtime and the rest of the host process.</summary>
    public const int Reserve = 32;

    /// <summary>Throws <see cref="KvmException"/> (EMFILE) unless <paramref name="needed"/> more descriptors leave the reserve free.</summary>
    public static void Ensure(int needed)
    {
        if (Libc.Getrlimit(Libc.RLIMIT_NOFILE, out var limit) != 0 || limit.Current == Libc.RLIM_INFINITY)
        {
            return;
        }

        ulong open;
        try
        {
            open = (ulong)Directory.EnumerateFileSystemEntries("/proc/self/fd").Count();
        }
        catch (IOException)
        {
            open = limit.Current;   // not even one free to list them with
        }

        if (open + (ulong)needed + Reserve > limit.Current)
        {
            throw new KvmException("reserve file descriptors", Libc.EMFILE,
                $"{open} of the process's {limit.Current} are open; this VM needs {needed} more and {Reserve} stay free for the runtime. Raise the limit (ulimit -n) or stop other VMs");
        }
    }
}
