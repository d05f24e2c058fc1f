using System.Runtime.InteropServices;
using PvhVm.Core.Interop;
using PvhVm.Core.Host;

namespace PvhVm.Core.Machine;

/// <summary>
/// Refuses a VM that would leave the process almost no file descriptors. The .NET runtime needs a few of its own
/// (threads, assembly loads) and, finding none, ends the process instead of throwing; so VMs stop short of the limit.
/// </summary>
internal static class DescriptorHeadroom
{
    /// <summary>Descriptors left to the runtime and the rest of the host process.</summary>
    public const int Reserve = 32;

    /// <summary>Throws <see cref="HostResourceException"/> (EMFILE) unless <paramref name="needed"/> more descriptors leave the reserve free.</summary>
    /// <remarks>
    /// Opens and closes that many eventfds rather than counting /proc/self/fd: the probe asks the kernel the exact
    /// question (can this many be opened now?) and costs a few microseconds, where listing cost a millisecond a start.
    /// </remarks>
    public static void Ensure(int needed)
    {
        Span<int> probes = stackalloc int[needed + Reserve];
        var opened = 0;
        try
        {
            for (; opened < probes.Length; opened++)
            {
                probes[opened] = Libc.Eventfd(0, Libc.EFD_CLOEXEC);
                if (probes[opened] < 0)
                {
                    var errno = Marshal.GetLastPInvokeError();
                    throw new HostResourceException(HostResource.FileDescriptors, "reserve file descriptors", errno,
                        $"only {opened} more descriptors can be opened; this VM needs {needed} and {Reserve} stay free for the runtime. Raise the limit (ulimit -n) or stop other VMs");
                }
            }
        }
        finally
        {
            for (var i = 0; i < opened; i++)
            {
                _ = Libc.Close(probes[i]);
            }
        }
    }
}
