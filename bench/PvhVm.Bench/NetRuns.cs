using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;

namespace PvhVm.Bench;

/// <summary>
/// virtio-net packet rates with the C guest (tests/guests/virtio.c, its virtio.net_tx / virtio.net_rx modes) under
/// PvhVm or QEMU, on a tap both attach to, run inside the network namespace bench/Bench-Net.ps1 made (10.213.0.1 on
/// the tap, 10.213.0.2 the guest). Counting is on the host: a UDP socket for guest to host, the guest's own count
/// for host to guest; exits from perf over the same window.
/// </summary>
internal static partial class NetRuns
{
    public const string HostAddress = "10.213.0.1";
    public const string GuestAddress = "10.213.0.2";

    private static readonly TimeSpan LineTimeout = TimeSpan.FromSeconds(60);

    /// <summary>Guest to host: the guest sends <paramref name="frames"/> datagrams as fast as its device takes them.</summary>
    public static int Transmit(string vmm, string elf, string tap, int frames, int size)
    {
        using var sink = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp) { ReceiveBufferSize = 32 << 20, ReceiveTimeout = 200 };
        sink.Bind(new IPEndPoint(IPAddress.Parse(HostAddress), 9));
        var counted = new DatagramCount();
        var stop = false;
        var reader = new Thread(() => counted.ReadUntil(sink, () => Volatile.Read(ref stop))) { IsBackground = true };
        reader.Start();
        var tapBefore = TapCounters.Read(tap);

        using var run = Start(vmm, elf, $"virtio.net_tx={frames} virtio.net_size={size}", tap);
        Expect(run, IcmpReply());
        using var exits = new ExitCounter(run.ProcessId);
        var contentionsBefore = Monitor.LockContentionCount;
        using var go = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        go.Connect(new IPEndPoint(IPAddress.Parse(GuestAddress), 11));
        string? sent = null;
        for (var attempt = 0; attempt < 50 && sent is null; attempt++)
        {
            if (counted.Count == 0)
            {
                go.Send([1]);
            }

            sent = run.WaitForLine(Sent(), TimeSpan.FromMilliseconds(attempt < 49 ? 1000 : LineTimeout.TotalMilliseconds));
        }

        Thread.Sleep(200);
        var exitCount = exits.Stop();
        var contentions = Monitor.LockContentionCount - contentionsBefore;
        Volatile.Write(ref stop, true);
        reader.Join();
        var tapAfter = TapCounters.Read(tap);
        var guestSent = sent is null ? 0 : int.Parse(Sent().Match(sent).Groups[1].Value, CultureInfo.InvariantCulture);
        var seconds = counted.Seconds;
        Json.Line(new
        {
            vmm, direction = "guestToHost", size, frames = guestSent, received = counted.Count, bytes = counted.Bytes, seconds,
            packetsPerSecond = seconds > 0 ? (counted.Count - 1) / seconds : 0, megabytesPerSecond = seconds > 0 ? counted.Bytes / seconds / 1e6 : 0,
            exits = exitCount, exitsPerPacket = exitCount / (double)Math.Max(1, guestSent), tapRxPackets = tapAfter.RxPackets - tapBefore.RxPackets,
            lockContentions = vmm == "pvh" ? contentions : (long?)null,
        });
        return 0;
    }

    /// <summary>Host to guest: datagrams sent as fast as this process can for <paramref name="seconds"/>; the guest counts what it got.</summary>
    public static int Receive(string vmm, string elf, string tap, double seconds, int size)
    {
        using var run = Start(vmm, elf, "virtio.net_rx", tap);
        Expect(run, IcmpReply());
        var tapBefore = TapCounters.Read(tap);
        using var exits = new ExitCounter(run.ProcessId);
        var contentionsBefore = Monitor.LockContentionCount;
        using var sender = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        sender.Connect(new IPEndPoint(IPAddress.Parse(GuestAddress), 9));
        var payload = new byte[size];
        long sent = 0, refused = 0;
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed.TotalSeconds < seconds)
        {
            for (var i = 0; i < 64; i++)
            {
                sender.Send(payload, SocketFlags.None, out var error);
                if (error == SocketError.Success) { sent++; } else { refused++; }
            }
        }

        using var end = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        end.Connect(new IPEndPoint(IPAddress.Parse(GuestAddress), 10));
        string? received = null;
        for (var attempt = 0; attempt < 500 && received is null; attempt++)
        {
            end.Send([1]);
            received = run.WaitForLine(Received(), TimeSpan.FromMilliseconds(20));
        }

        var elapsed = clock.Elapsed.TotalSeconds;
        var exitCount = exits.Stop();
        var contentions = Monitor.LockContentionCount - contentionsBefore;
        var tapAfter = TapCounters.Read(tap);
        var match = received is null ? null : Received().Match(received);
        var frames = match is null ? 0 : long.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
        var bytes = match is null ? 0 : long.Parse(match.Groups[2].Value, CultureInfo.InvariantCulture);
        Json.Line(new
        {
            vmm, direction = "hostToGuest", size, sent, sendRefused = refused, received = frames, bytes, seconds = elapsed,
            packetsPerSecond = frames / elapsed, megabytesPerSecond = bytes / elapsed / 1e6,
            exits = exitCount, exitsPerPacket = exitCount / (double)Math.Max(1, frames),
            tapTxDropped = tapAfter.TxDropped - tapBefore.TxDropped, lockContentions = vmm == "pvh" ? contentions : (long?)null, deviceDroppedIn = (run as PvhGuestRun)?.Vm.GetNetworkAdapters()[0].DroppedIn,
        });
        return 0;
    }

    private static IGuestRun Start(string vmm, string elf, string commandLine, string tap) => vmm switch
    {
        "pvh" => new PvhGuestRun(elf, commandLine, tap, vsockPath: null),
        "qemu" => new QemuGuestRun(elf, commandLine, tap),
        _ => throw new ArgumentException($"unknown VMM '{vmm}' (pvh or qemu)"),
    };

    private static void Expect(IGuestRun run, Regex line)
    {
        if (run.WaitForLine(line, LineTimeout) is null)
        {
            throw new TimeoutException($"the guest did not print '{line}'");
        }
    }

    [GeneratedRegex("^net icmp echo reply")]
    private static partial Regex IcmpReply();

    [GeneratedRegex(@"^net sent (\d+) frames")]
    private static partial Regex Sent();

    [GeneratedRegex(@"^net received (\d+) frames (\d+) bytes")]
    private static partial Regex Received();

    /// <summary>Datagrams a socket received, and when the first and the last came.</summary>
    private sealed class DatagramCount
    {
        private long _first, _last;

        public long Count { get; private set; }

        public long Bytes { get; private set; }

        public double Seconds => Count > 1 ? Stopwatch.GetElapsedTime(_first, _last).TotalSeconds : 0;

        public void ReadUntil(Socket socket, Func<bool> stop)
        {
            var buffer = new byte[65536];
            while (!stop())
            {
                var read = socket.Receive(buffer, SocketFlags.None, out var error);
                if (error != SocketError.Success)
                {
                    continue;
                }

                _last = Stopwatch.GetTimestamp();
                if (Count == 0)
                {
                    _first = _last;
                }

                Count++;
                Bytes += read;
            }
        }
    }

    /// <summary>The tap's kernel counters (rx: frames the VMM wrote; tx_dropped: frames for the VMM lost on a full queue).</summary>
    private readonly record struct TapCounters(long RxPackets, long TxDropped)
    {
        public static TapCounters Read(string tap) => new(Read(tap, "rx_packets"), Read(tap, "tx_dropped"));

        private static long Read(string tap, string counter) =>
            long.Parse(File.ReadAllText($"/sys/class/net/{tap}/statistics/{counter}").Trim(), CultureInfo.InvariantCulture);
    }
}
