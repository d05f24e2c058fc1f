using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;

namespace PvhVm.Core.Machine;

/// <summary>
/// The guest's serial output, assembled into lines and kept in a bounded ring: a guest that prints
/// forever cannot exhaust host memory. The oldest lines drop and <see cref="DroppedLines"/> counts them.
/// Writers are vCPU threads; readers may follow live with <see cref="WaitForLinesAfter"/>.
/// </summary>
public sealed class ConsoleLog
{
    public const int DefaultCapacity = 10_000;
    public const int DefaultMaxLineLength = 4096;

    private readonly object _gate = new();
    private readonly ConsoleLine[] _ring;
    private readonly int _maxLineLength;
    private readonly byte[] _partial;
    private int _partialLength;
    private int _head;
    private int _count;
    private long _nextSequence;
    private long _startTimestamp;
    private DateTimeOffset _startTime;
    private bool _completed;

    public ConsoleLog(int capacity = DefaultCapacity, int maxLineLength = DefaultMaxLineLength)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxLineLength, 1);
        _ring = new ConsoleLine[capacity];
        _maxLineLength = maxLineLength;
        _partial = new byte[maxLineLength];
        Restart();
    }

    public int Capacity => _ring.Length;

    /// <summary>Lines held now.</summary>
    public int Count { get { lock (_gate) { return _count; } } }

    /// <summary>Lines printed since start, held or dropped.</summary>
    public long TotalLines { get { lock (_gate) { return _nextSequence; } } }

    /// <summary>Lines that fell out of the ring.</summary>
    public long DroppedLines { get { lock (_gate) { return _nextSequence - _count; } } }

    /// <summary>True once the VM has ended and the last partial line was flushed.</summary>
    public bool IsCompleted { get { lock (_gate) { return _completed; } } }

    /// <summary>Bytes received from the guest, including those not yet ending a line.</summary>
    public long BytesReceived { get; private set; }

    /// <summary>Empties the log and sets time zero; called when the VM starts.</summary>
    public void Restart()
    {
        lock (_gate)
        {
            Array.Clear(_ring);
            _head = _count = _partialLength = 0;
            _nextSequence = 0;
            _completed = false;
            BytesReceived = 0;
            _startTime = DateTimeOffset.Now;
            _startTimestamp = Stopwatch.GetTimestamp();
        }
    }

    /// <summary>Takes bytes the guest wrote: '\n' ends a line, '\r' is dropped, over-long lines are split.</summary>
    public void Write(ReadOnlySpan<byte> bytes)
    {
        lock (_gate)
        {
            BytesReceived += bytes.Length;
            var appended = false;
            foreach (var b in bytes)
            {
                if (b == (byte)'\n')
                {
                    AppendPartialLocked();
                    appended = true;
                }
                else if (b != (byte)'\r')
                {
                    _partial[_partialLength++] = b;
                    if (_partialLength == _maxLineLength)
                    {
                        AppendPartialLocked();
                        appended = true;
                    }
                }
            }

            if (appended)
            {
                Monitor.PulseAll(_gate);
            }
        }
    }

    /// <summary>No more output: flushes a trailing partial line and wakes every follower.</summary>
    public void Complete()
    {
        lock (_gate)
        {
            if (_partialLength > 0)
            {
                AppendPartialLocked();
            }

            _completed = true;
            Monitor.PulseAll(_gate);
        }
    }

    /// <summary>The bytes of the line not yet ended: a checkpoint carries them so a restored console goes on mid-line.</summary>
    internal byte[] PartialLine()
    {
        lock (_gate)
        {
            return _partial.AsSpan(0, _partialLength).ToArray();
        }
    }

    /// <summary>Every line held, oldest first.</summary>
    public IReadOnlyList<ConsoleLine> Snapshot() => ReadAfter(-1);

    /// <summary>The last <paramref name="count"/> lines held, oldest first.</summary>
    public IReadOnlyList<ConsoleLine> Tail(int count)
    {
        lock (_gate)
        {
            var take = Math.Clamp(count, 0, _count);
            return CopyLocked(_count - take, take);
        }
    }

    /// <summary>Held lines with <see cref="ConsoleLine.Sequence"/> greater than <paramref name="sequence"/>.</summary>
    public IReadOnlyList<ConsoleLine> ReadAfter(long sequence)
    {
        lock (_gate)
        {
            var firstHeld = _nextSequence - _count;
            var from = Math.Max(sequence + 1, firstHeld);
            var take = (int)Math.Max(0, _nextSequence - from);
            return CopyLocked((int)(from - firstHeld), take);
        }
    }

    /// <summary>
    /// Blocks until a line after <paramref name="sequence"/> exists (true), or the log completes,
    /// the timeout passes or the token is cancelled (false).
    /// </summary>
    public bool WaitForLinesAfter(long sequence, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var deadline = Deadline.After(timeout);
        using var registration = cancellationToken.Register(() => { lock (_gate) { Monitor.PulseAll(_gate); } });
        lock (_gate)
        {
            while (_nextSequence - 1 <= sequence)
            {
                if (_completed || cancellationToken.IsCancellationRequested)
                {
                    return false;
                }

                var remaining = deadline.RemainingMilliseconds;
                if (remaining == 0)
                {
                    return false;
                }

                Monitor.Wait(_gate, remaining);
            }

            return true;
        }
    }

    /// <summary>
    /// Waits for a line matching <paramref name="pattern"/> (also among lines already held); null on timeout,
    /// completion (the VM ended) or cancellation.
    /// </summary>
    public ConsoleLine? WaitFor(Regex pattern, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var deadline = Deadline.After(timeout);
        var seen = -1L;
        while (true)
        {
            foreach (var line in ReadAfter(seen))
            {
                if (pattern.IsMatch(line.Text))
                {
                    return line;
                }

                seen = line.Sequence;
            }

            if (!WaitForLinesAfter(seen, deadline.Remaining, cancellationToken))
            {
                // One last look: lines flushed by completion arrive together with the wake-up.
                return ReadAfter(seen).FirstOrDefault(l => pattern.IsMatch(l.Text));
            }
        }
    }

    private void AppendPartialLocked()
    {
        var elapsed = Stopwatch.GetElapsedTime(_startTimestamp);
        var line = new ConsoleLine(_nextSequence++, _startTime + elapsed, elapsed, Encoding.UTF8.GetString(_partial, 0, _partialLength));
        _partialLength = 0;
        _ring[(_head + _count) % _ring.Length] = line;
        if (_count == _ring.Length)
        {
            _head = (_head + 1) % _ring.Length;
        }
        else
        {
            _count++;
        }
    }

    private ConsoleLine[] CopyLocked(int offset, int take)
    {
        var result = new ConsoleLine[take];
        for (var i = 0; i < take; i++)
        {
            result[i] = _ring[(_head + offset + i) % _ring.Length];
        }

        return result;
    }
}
