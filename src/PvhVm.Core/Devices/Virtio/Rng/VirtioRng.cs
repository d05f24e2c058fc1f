using PvhVm.Core.Interop;
using PvhVm.Core.Memory;

namespace PvhVm.Core.Devices.Virtio.Rng;

/// <summary>
/// virtio-rng (device ID 4, VIRTIO 1.2 section 5.4): one request queue whose writable buffers are filled from the
/// host's getrandom. No configuration space, no device features.
/// </summary>
internal sealed class VirtioRng : IVirtioDevice
{
    public const ushort QueueSize = 256;

    /// <summary>
    /// Bytes one request gets at most (Linux asks for 64 at a time): a chain of huge buffers must not make the host
    /// produce gigabytes of entropy on a vCPU thread. The used length says how many were given.
    /// </summary>
    public const int MaxBytesPerRequest = 64 * 1024;

    private long _requests;
    private long _bytes;

    public VirtioDeviceType DeviceType => VirtioDeviceType.Entropy;

    public ulong Features => 0;

    public IReadOnlyList<ushort> QueueMaxSizes { get; } = [QueueSize];

    public long Requests => Interlocked.Read(ref _requests);

    public long BytesProvided => Interlocked.Read(ref _bytes);

    public void ReadConfig(uint offset, Span<byte> data) => data.Clear();

    public uint Handle(int queueIndex, DescriptorChain chain, GuestMemory memory)
    {
        Interlocked.Increment(ref _requests);
        var provided = 0u;
        foreach (var piece in DescriptorChain.Slice(chain.Writable, 0, Math.Min(chain.WritableLength, MaxBytesPerRequest)))
        {
            if (!HostEntropy.TryFill(memory.GetSpan(piece.Address, (int)piece.Length)))
            {
                break;
            }

            provided += piece.Length;
        }

        Interlocked.Add(ref _bytes, provided);
        return provided;
    }
}
