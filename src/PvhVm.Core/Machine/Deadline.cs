using System.Diagnostics;

namespace PvhVm.Core.Machine;

/// <summary>
/// When a wait given a timeout ends. <see cref="Timeout.InfiniteTimeSpan"/>, and any timeout longer than a wait handle
/// can take (about 24.8 days), never ends, so a caller's "very long" is not an error.
/// </summary>
internal readonly struct Deadline
{
    private const long Never = long.MaxValue;
    private readonly long _timestamp;

    private Deadline(long timestamp) => _timestamp = timestamp;

    public static Deadline After(TimeSpan timeout)
    {
        if (timeout == Timeout.InfiniteTimeSpan || timeout.TotalMilliseconds >= int.MaxValue)
        {
            return new Deadline(Never);
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(timeout, TimeSpan.Zero);
        return new Deadline(Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency));
    }

    /// <summary>What is left, for Monitor.Wait and wait handles: <see cref="Timeout.Infinite"/> when it never ends, 0 once passed.</summary>
    public int RemainingMilliseconds => _timestamp == Never
        ? Timeout.Infinite
        : (int)Math.Clamp((_timestamp - Stopwatch.GetTimestamp()) * 1000 / Stopwatch.Frequency, 0, int.MaxValue);

    public TimeSpan Remaining => _timestamp == Never ? Timeout.InfiniteTimeSpan : TimeSpan.FromMilliseconds(RemainingMilliseconds);
}
