namespace PvhVm.Core.Devices.Virtio.Vsock;

/// <summary>
/// Packets without payload (RESPONSE, RST, REQUEST, credit) waiting for a receive buffer, in order. Bounded: a guest
/// that never empties its receive queue loses what comes beyond <see cref="MaxPending"/>, counted. Guarded by the muxer's lock.
/// </summary>
internal sealed class VsockControlQueue
{
    public const int MaxPending = 1024;

    private readonly Queue<VsockHeader> _packets = new();

    public int Count => _packets.Count;

    /// <summary>Packets lost because the queue was full or the guest's buffer could not hold one.</summary>
    public long Dropped { get; private set; }

    public void Enqueue(VsockHeader packet)
    {
        if (_packets.Count >= MaxPending)
        {
            Dropped++;
            return;
        }

        _packets.Enqueue(packet);
    }

    public VsockHeader Dequeue() => _packets.Dequeue();

    public void CountDropped() => Dropped++;

    public void Clear() => _packets.Clear();
}
