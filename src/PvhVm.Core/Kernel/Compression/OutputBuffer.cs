namespace PvhVm.Core.Kernel;

/// <summary>
/// A growable byte buffer that never exceeds a fixed limit. It grows with the data actually produced,
/// so a lying size field cannot make it allocate up front.
/// </summary>
internal sealed class OutputBuffer
{
    private const int MinimumGrowth = 1 << 20;
    private byte[] _buffer;

    public OutputBuffer(int initialCapacity, int limit)
    {
        Limit = limit;
        _buffer = new byte[Math.Min(initialCapacity, limit)];
    }

    public int Limit { get; }

    public int Length { get; private set; }

    public int Remaining => Limit - Length;

    /// <summary>Free space of at least <paramref name="wanted"/> bytes (fewer only at the limit).</summary>
    public Span<byte> Free(int wanted)
    {
        wanted = Math.Min(wanted, Remaining);
        if (_buffer.Length - Length < wanted)
        {
            long grown = Math.Max((long)_buffer.Length * 2, (long)Length + Math.Max(wanted, MinimumGrowth));
            Array.Resize(ref _buffer, (int)Math.Min(grown, Limit));
        }

        return _buffer.AsSpan(Length, Math.Min(_buffer.Length - Length, Remaining));
    }

    public void Advance(int count) => Length += count;

    public byte[] ToArray()
    {
        if (_buffer.Length != Length)
        {
            Array.Resize(ref _buffer, Length);
        }

        return _buffer;
    }
}
