using System.Buffers.Binary;
using Microsoft.Extensions.Logging;
using PvhVm.Core.Memory;
using static PvhVm.Core.Devices.Virtio.VirtioMmioRegister;

namespace PvhVm.Core.Devices.Virtio;

/// <summary>
/// The virtio-mmio transport, version 2 only (VIRTIO 1.2, section 4.2): identification, feature negotiation with
/// VIRTIO_F_VERSION_1 required, the status sequence, queue setup, notifications and the interrupt status, with the
/// device's configuration space from 0x100. A driver that breaks the protocol in a way that leaves the queues
/// untrustworthy (a bad queue layout, a notify of a queue never made ready, a malformed chain) sets
/// DEVICE_NEEDS_RESET: the device stops serving until the driver resets it, and nothing escapes to the vCPU thread.
/// Requests are served on the thread that delivers the notification: the vCPU thread that wrote QueueNotify, or the
/// VM's <see cref="VirtioIoThread"/> when KVM signals it through an ioeventfd (<see cref="ServeNotification"/>), except
/// on the queues a <see cref="IDeviceDrivenQueues"/> device fills itself through <see cref="TryFill"/>. InterruptStatus
/// and InterruptAck bypass the lock, so a driver acknowledging an interrupt never waits behind a request being served.
/// </summary>
internal sealed class VirtioMmioTransport : IMmioDevice, IVirtqueueFiller
{
    /// <summary>The guest-physical window one device claims (Firecracker's spacing; QEMU microvm uses 0x200).</summary>
    public const ulong WindowSize = 0x1000;

    private const int LoggedProblems = 16;
    private const DeviceStatus DriverStatusBits =
        DeviceStatus.Acknowledge | DeviceStatus.Driver | DeviceStatus.FeaturesOk | DeviceStatus.DriverOk;

    /// <summary>The order in which the driver sets the status bits; every status it writes is a prefix of it.</summary>
    private static readonly DeviceStatus[] StatusSequence =
        [DeviceStatus.Acknowledge, DeviceStatus.Driver, DeviceStatus.FeaturesOk, DeviceStatus.DriverOk];

    private readonly object _gate = new();
    private readonly IVirtioDevice _device;
    private readonly GuestMemory _memory;
    private readonly IInterruptLine _interrupt;
    private readonly ILogger _logger;
    private readonly Virtqueue[] _queues;
    private readonly ulong _offeredFeatures;
    private DeviceStatus _status;
    private uint _deviceFeaturesSelect;
    private uint _driverFeaturesSelect;
    private ulong _driverFeatures;
    private uint _queueSelect;
    private uint _interruptStatus;
    private uint _configGeneration;
    private long _protocolErrors;
    private long _ignoredAccesses;
    private string? _lastProtocolError;

    public VirtioMmioTransport(IVirtioDevice device, GuestMemory memory, IInterruptLine interrupt, ILogger logger)
    {
        _device = device;
        _memory = memory;
        _interrupt = interrupt;
        _logger = logger;
        _offeredFeatures = device.Features | VirtioFeature.Transport;
        _queues = device.QueueMaxSizes.Select(size => new Virtqueue(size)).ToArray();
    }

    public IVirtioDevice Device => _device;

    public int QueueCount => _queues.Length;

    public DeviceStatus Status
    {
        get { lock (_gate) { return _status; } }
    }

    /// <summary>How many times the driver broke the protocol badly enough to set DEVICE_NEEDS_RESET.</summary>
    public long ProtocolErrors => Interlocked.Read(ref _protocolErrors);

    /// <summary>What the last such break was, for logs and tests.</summary>
    public string? LastProtocolError
    {
        get { lock (_gate) { return _lastProtocolError; } }
    }

    /// <summary>Register accesses ignored as out of place (wrong width, a write the current status forbids).</summary>
    public long IgnoredAccesses => Interlocked.Read(ref _ignoredAccesses);

    public void Read(ulong offset, Span<byte> data)
    {
        if (offset == InterruptStatus && data.Length == 4)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(data, Volatile.Read(ref _interruptStatus));
            return;
        }

        lock (_gate)
        {
            if (offset >= Config)
            {
                data.Clear();
                _device.ReadConfig((uint)(offset - Config), data);
                return;
            }

            if (data.Length != 4 || offset % 4 != 0)
            {
                data.Clear();
                Ignore($"a {data.Length}-byte read at 0x{offset:x}");
                return;
            }

            BinaryPrimitives.WriteUInt32LittleEndian(data, ReadRegister((uint)offset));
        }
    }

    public void Write(ulong offset, ReadOnlySpan<byte> data)
    {
        if (offset == InterruptAck && data.Length == 4)
        {
            Interlocked.And(ref _interruptStatus, ~BinaryPrimitives.ReadUInt32LittleEndian(data));
            return;
        }

        lock (_gate)
        {
            if (offset >= Config)
            {
                // Neither device has a writable configuration field; the spec lets such writes be ignored.
                Ignore($"a configuration write at 0x{offset:x}");
                return;
            }

            if (data.Length != 4 || offset % 4 != 0)
            {
                Ignore($"a {data.Length}-byte write at 0x{offset:x}");
                return;
            }

            WriteRegister((uint)offset, BinaryPrimitives.ReadUInt32LittleEndian(data));
        }
    }

    private Virtqueue? SelectedQueue => _queueSelect < _queues.Length ? _queues[_queueSelect] : null;

    private uint ReadRegister(uint offset) => offset switch
    {
        MagicValue => Magic,
        VirtioMmioRegister.Version => ModernVersion,
        DeviceId => (uint)_device.DeviceType,
        VendorId => PvhVmVendor,
        DeviceFeatures => _deviceFeaturesSelect switch
        {
            0 => (uint)_offeredFeatures,
            1 => (uint)(_offeredFeatures >> 32),
            _ => 0,
        },
        QueueNumMax => SelectedQueue?.MaxSize ?? 0u,
        QueueReady => SelectedQueue is { Ready: true } ? 1u : 0u,
        VirtioMmioRegister.Status => (uint)_status,
        // No shared memory regions: a length of -1 says so (section 4.2.2).
        ShmLenLow or ShmLenHigh => uint.MaxValue,
        // A device's configuration is fixed at creation; it moves only when a restore gives the device another identity.
        ConfigGeneration => _configGeneration,
        _ => 0,
    };

    private void WriteRegister(uint offset, uint value)
    {
        switch (offset)
        {
            case DeviceFeaturesSel:
                _deviceFeaturesSelect = value;
                break;
            case DriverFeaturesSel:
                _driverFeaturesSelect = value;
                break;
            case DriverFeatures:
                WriteDriverFeatures(value);
                break;
            case QueueSel:
                _queueSelect = value;
                break;
            case QueueNum or QueueDescLow or QueueDescHigh or QueueDriverLow or QueueDriverHigh or QueueDeviceLow or QueueDeviceHigh:
                WriteQueueSetup(offset, value);
                break;
            case QueueReady:
                WriteQueueReady(value);
                break;
            case QueueNotify:
                Notify(value);
                break;
            case VirtioMmioRegister.Status:
                WriteStatus(value);
                break;
            default:
                Ignore($"a write of 0x{value:x} to register 0x{offset:x}");
                break;
        }
    }

    private void WriteDriverFeatures(uint value)
    {
        if ((_status & (DeviceStatus.Driver | DeviceStatus.FeaturesOk)) != DeviceStatus.Driver || _driverFeaturesSelect > 1)
        {
            Ignore($"driver features written in status {_status} with select {_driverFeaturesSelect}");
            return;
        }

        var shift = 32 * (int)_driverFeaturesSelect;
        _driverFeatures = (_driverFeatures & ~(0xFFFF_FFFFUL << shift)) | ((ulong)value << shift);
    }

    /// <summary>Queue registers may be written only between FEATURES_OK and DRIVER_OK, while the queue is not ready.</summary>
    private void WriteQueueSetup(uint offset, uint value)
    {
        if (SelectedQueue is not { Ready: false } queue || !InQueueSetup())
        {
            Ignore($"queue register 0x{offset:x} written for queue {_queueSelect} in status {_status}");
            return;
        }

        switch (offset)
        {
            case QueueNum: queue.Size = (ushort)Math.Min(value, ushort.MaxValue); break;
            case QueueDescLow: queue.DescriptorTable = SetLow(queue.DescriptorTable, value); break;
            case QueueDescHigh: queue.DescriptorTable = SetHigh(queue.DescriptorTable, value); break;
            case QueueDriverLow: queue.AvailableRing = SetLow(queue.AvailableRing, value); break;
            case QueueDriverHigh: queue.AvailableRing = SetHigh(queue.AvailableRing, value); break;
            case QueueDeviceLow: queue.UsedRing = SetLow(queue.UsedRing, value); break;
            default: queue.UsedRing = SetHigh(queue.UsedRing, value); break;
        }
    }

    private void WriteQueueReady(uint value)
    {
        if (SelectedQueue is not { } queue)
        {
            Ignore($"QueueReady written for queue {_queueSelect}, which does not exist");
            return;
        }

        if (value == 0)
        {
            queue.Ready = false;
            return;
        }

        if (!InQueueSetup())
        {
            Ignore($"queue {_queueSelect} made ready in status {_status}");
            return;
        }

        if (queue.CheckLayout(_memory) is { } problem)
        {
            SetNeedsReset($"queue {_queueSelect}: {problem}");
            return;
        }

        queue.Ready = true;
    }

    private bool InQueueSetup() =>
        (_status & (DeviceStatus.FeaturesOk | DeviceStatus.DriverOk | DeviceStatus.DeviceNeedsReset | DeviceStatus.Failed))
        == DeviceStatus.FeaturesOk;

    private void WriteStatus(uint value)
    {
        if (value == 0)
        {
            Reset();
            return;
        }

        // The device owns DEVICE_NEEDS_RESET: a driver writing back what it read must not clear (or set) it.
        var written = (DeviceStatus)value & ~DeviceStatus.DeviceNeedsReset;
        var requested = written & DriverStatusBits;
        if (written != (requested | (written & DeviceStatus.Failed)) || !IsStatusPrefix(requested)
            || (requested & (_status & DriverStatusBits)) != (_status & DriverStatusBits))
        {
            Ignore($"status 0x{value:x} after {_status} (bits must be set in order and never cleared)");
            return;
        }

        var adding = requested & ~_status;
        if (_status.HasFlag(DeviceStatus.DeviceNeedsReset) && adding != 0)
        {
            // Only a reset brings the device back; it does not go live (or further) meanwhile.
            Ignore($"status 0x{value:x} while the device needs a reset");
            return;
        }

        if (adding.HasFlag(DeviceStatus.FeaturesOk) && !FeaturesAcceptable())
        {
            // Section 2.2.2: the device leaves FEATURES_OK clear, and the driver sees it on reading back.
            Log($"features 0x{_driverFeatures:x} refused (offered 0x{_offeredFeatures:x}, VERSION_1 required)");
            requested &= ~(DeviceStatus.FeaturesOk | DeviceStatus.DriverOk);
        }

        _status = requested | (written & DeviceStatus.Failed) | (_status & (DeviceStatus.DeviceNeedsReset | DeviceStatus.Failed));
        if (adding.HasFlag(DeviceStatus.DriverOk) && _status.HasFlag(DeviceStatus.DriverOk) && _device is IDeviceDrivenQueues driven)
        {
            driven.Activate(this);
        }
    }

    private static bool IsStatusPrefix(DeviceStatus bits)
    {
        var expected = DeviceStatus.Reset;
        foreach (var step in StatusSequence)
        {
            if (bits == expected)
            {
                return true;
            }

            expected |= step;
        }

        return bits == expected;
    }

    private bool FeaturesAcceptable() =>
        (_driverFeatures & ~_offeredFeatures) == 0 && (_driverFeatures & VirtioFeature.Version1) != 0;

    /// <summary>The registers and queues, for a checkpoint of a paused VM (no thread serves the device meanwhile).</summary>
    public VirtioTransportState Save()
    {
        lock (_gate)
        {
            return new VirtioTransportState((uint)_status, _deviceFeaturesSelect, _driverFeaturesSelect, _driverFeatures, _queueSelect,
                Volatile.Read(ref _interruptStatus), _configGeneration, [.. _queues.Select(queue => queue.Save())]);
        }
    }

    /// <summary>
    /// Takes a saved state on a device that has not run: null when it fits this device (a status the driver could have
    /// set, features the device offers, the queue count, each ready queue's layout inside guest RAM), else why not, and
    /// nothing is changed. A live driver's device-driven queues are handed to the device again.
    /// </summary>
    public string? Restore(VirtioTransportState state)
    {
        lock (_gate)
        {
            var status = (DeviceStatus)state.Status;
            if ((status & ~(DriverStatusBits | DeviceStatus.DeviceNeedsReset | DeviceStatus.Failed)) != 0 || !IsStatusPrefix(status & DriverStatusBits))
            {
                return $"virtio {_device.DeviceType}: status 0x{state.Status:x} is not one a driver can reach";
            }

            if ((state.DriverFeatures & ~_offeredFeatures) != 0)
            {
                return $"virtio {_device.DeviceType}: driver features 0x{state.DriverFeatures:x} were never offered (0x{_offeredFeatures:x})";
            }

            if ((state.InterruptStatus & ~(InterruptUsedBuffer | InterruptConfigChange)) != 0)
            {
                return $"virtio {_device.DeviceType}: interrupt status 0x{state.InterruptStatus:x} has bits no device sets";
            }

            if (state.Queues.Length != _queues.Length)
            {
                return $"virtio {_device.DeviceType}: {state.Queues.Length} queues; the device has {_queues.Length}";
            }

            for (var i = 0; i < _queues.Length; i++)
            {
                var probe = new Virtqueue(_queues[i].MaxSize);
                probe.Restore(state.Queues[i]);
                var problem = probe.Size > probe.MaxSize ? $"size {probe.Size} is above {probe.MaxSize}"
                    : probe.Ready ? probe.CheckLayout(_memory) : null;
                if (problem is not null)
                {
                    return $"virtio {_device.DeviceType}: queue {i}: {problem}";
                }
            }

            for (var i = 0; i < _queues.Length; i++)
            {
                _queues[i].Restore(state.Queues[i]);
            }

            _status = status;
            _deviceFeaturesSelect = state.DeviceFeaturesSelect;
            _driverFeaturesSelect = state.DriverFeaturesSelect;
            _driverFeatures = state.DriverFeatures;
            _queueSelect = state.QueueSelect;
            _configGeneration = state.ConfigGeneration;
            Volatile.Write(ref _interruptStatus, state.InterruptStatus);
            if ((status & (DeviceStatus.DriverOk | DeviceStatus.DeviceNeedsReset | DeviceStatus.Failed)) == DeviceStatus.DriverOk
                && _device is IDeviceDrivenQueues driven)
            {
                driven.Activate(this);
            }

            return null;
        }
    }

    /// <summary>
    /// After a restore: serves every ready queue once, as if notified. A chain the driver made available just before the
    /// pause, whose notification the checkpointed VM's I/O thread had not taken, would otherwise wait in the clone for a
    /// notification that never comes (its eventfds are new, and with EVENT_IDX the driver does not notify twice).
    /// Firecracker kicks its devices on restore for the same reason.
    /// </summary>
    public void ServePending()
    {
        lock (_gate)
        {
            if ((_status & (DeviceStatus.DriverOk | DeviceStatus.DeviceNeedsReset | DeviceStatus.Failed)) != DeviceStatus.DriverOk)
            {
                return;
            }

            for (var queue = 0u; queue < _queues.Length; queue++)
            {
                if (_queues[queue].Ready)
                {
                    Notify(queue);
                }
            }
        }
    }

    /// <summary>
    /// The device's configuration changed under the driver (a restored clone's new MAC or CID): the generation moves, so a
    /// driver reading it mid-change reads again, and a live driver gets a configuration change interrupt (section 2.5.1).
    /// </summary>
    public void ConfigurationChanged()
    {
        lock (_gate)
        {
            _configGeneration++;
            if (_status.HasFlag(DeviceStatus.DriverOk))
            {
                Raise(InterruptConfigChange);
            }
        }
    }

    /// <summary>A notification of queue <paramref name="queueIndex"/> that came through its ioeventfd instead of a register write.</summary>
    public void ServeNotification(uint queueIndex)
    {
        lock (_gate)
        {
            Notify(queueIndex);
        }
    }

    private void Notify(uint queueIndex)
    {
        if (_status.HasFlag(DeviceStatus.DeviceNeedsReset))
        {
            return;
        }

        if (!_status.HasFlag(DeviceStatus.DriverOk) || _status.HasFlag(DeviceStatus.Failed))
        {
            SetNeedsReset($"queue {queueIndex} notified in status {_status}");
            return;
        }

        if (queueIndex >= _queues.Length || !_queues[queueIndex].Ready)
        {
            SetNeedsReset($"queue {queueIndex} notified but never made ready");
            return;
        }

        if (_device is IDeviceDrivenQueues driven && driven.IsDeviceDriven((int)queueIndex))
        {
            driven.BuffersAdded((int)queueIndex);
            return;
        }

        var queue = _queues[queueIndex];
        var usedBefore = queue.NextUsed;
        try
        {
            do
            {
                while (queue.TryPop(_memory, IndirectNegotiated, out var chain))
                {
                    queue.PushUsed(_memory, chain!.Head, _device.Handle((int)queueIndex, chain, _memory));
                }
            }
            while (EventIndexNegotiated && queue.RequestNotificationAndRecheck(_memory));
        }
        catch (Exception e) when (e is VirtqueueException or GuestMemoryException)
        {
            SetNeedsReset($"queue {queueIndex}: {e.Message}");
            return;
        }

        InterruptIfWanted(queue, usedBefore);
    }

    public FillResult TryFill(int queueIndex, ChainFiller fill)
    {
        lock (_gate)
        {
            if ((_status & (DeviceStatus.DriverOk | DeviceStatus.DeviceNeedsReset | DeviceStatus.Failed)) != DeviceStatus.DriverOk
                || queueIndex >= _queues.Length || !_queues[queueIndex].Ready)
            {
                return FillResult.NotLive;
            }

            var queue = _queues[queueIndex];
            var usedBefore = queue.NextUsed;
            try
            {
                DescriptorChain? chain;
                // With EVENT_IDX the driver notifies only when asked to: ask, then look once more.
                if (!queue.TryPop(_memory, IndirectNegotiated, out chain)
                    && !(EventIndexNegotiated && queue.RequestNotificationAndRecheck(_memory) && queue.TryPop(_memory, IndirectNegotiated, out chain)))
                {
                    return FillResult.NoBuffer;
                }

                queue.PushUsed(_memory, chain!.Head, fill(chain, _memory));
            }
            catch (Exception e) when (e is VirtqueueException or GuestMemoryException)
            {
                SetNeedsReset($"queue {queueIndex}: {e.Message}");
                return FillResult.NotLive;
            }

            InterruptIfWanted(queue, usedBefore);
            return FillResult.Filled;
        }
    }

    private bool IndirectNegotiated => (_driverFeatures & VirtioFeature.RingIndirectDesc) != 0;

    private bool EventIndexNegotiated => (_driverFeatures & VirtioFeature.RingEventIdx) != 0;

    private void InterruptIfWanted(Virtqueue queue, ushort usedBefore)
    {
        if (queue.NextUsed != usedBefore && queue.DriverWantsInterrupt(_memory, usedBefore, EventIndexNegotiated))
        {
            Raise(InterruptUsedBuffer);
        }
    }

    private void SetNeedsReset(string reason)
    {
        _status |= DeviceStatus.DeviceNeedsReset;
        _lastProtocolError = reason;
        if (Interlocked.Increment(ref _protocolErrors) <= LoggedProblems)
        {
            _logger.LogWarning("virtio {Device}: device needs reset: {Reason}", _device.DeviceType, reason);
        }

        // Section 2.1.2: a running driver is told through a configuration change notification.
        if (_status.HasFlag(DeviceStatus.DriverOk))
        {
            Raise(InterruptConfigChange);
        }
    }

    private void Raise(uint cause)
    {
        Interlocked.Or(ref _interruptStatus, cause);
        _interrupt.Trigger();
    }

    private void Reset()
    {
        if (_status.HasFlag(DeviceStatus.DriverOk) && _device is IDeviceDrivenQueues driven)
        {
            driven.Deactivate();
        }

        _status = DeviceStatus.Reset;
        _deviceFeaturesSelect = _driverFeaturesSelect = _queueSelect = 0;
        _driverFeatures = 0;
        Volatile.Write(ref _interruptStatus, 0);
        foreach (var queue in _queues)
        {
            queue.Reset();
        }
    }

    private void Ignore(string what)
    {
        if (Interlocked.Increment(ref _ignoredAccesses) <= LoggedProblems)
        {
            Log($"ignored {what}");
        }
    }

    private void Log(string message) => _logger.LogDebug("virtio {Device}: {Message}", _device.DeviceType, message);

    private static ulong SetLow(ulong current, uint value) => (current & 0xFFFF_FFFF_0000_0000) | value;

    private static ulong SetHigh(ulong current, uint value) => (current & 0xFFFF_FFFF) | ((ulong)value << 32);
}
