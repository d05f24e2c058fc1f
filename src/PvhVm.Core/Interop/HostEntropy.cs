using System.Runtime.InteropServices;

namespace PvhVm.Core.Interop;

/// <summary>The host kernel's random bytes, from getrandom(2) (the urandom pool, blocking only before it is first seeded).</summary>
internal static class HostEntropy
{
    /// <summary>Fills <paramref name="destination"/>; false if the host refused (never seen: getrandom fails only on bad arguments).</summary>
    public static unsafe bool TryFill(Span<byte> destination)
    {
        fixed (byte* start = destination)
        {
            var filled = 0;
            while (filled < destination.Length)
            {
                var got = Libc.Getrandom(start + filled, (nuint)(destination.Length - filled), 0);
                if (got < 0)
                {
                    if (Marshal.GetLastPInvokeError() == Libc.EINTR)
                    {
                        continue;
                    }

                    return false;
                }

                filled += (int)got;
            }
        }

        return true;
    }
}
