using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using PvhVm.Core.Tests.Kernel;

namespace PvhVm.Core.Tests.Devices.Virtio.Net;

/// <summary>
/// A network namespace a test creates and removes, with IPv6 off (so the host kernel sends nothing unasked), into which
/// the test moves its tap and gives it <see cref="HostAddress"/>. No traffic reaches the machine's own namespace.
/// </summary>
internal sealed partial class TapNamespace : IDisposable
{
    private const int CloneNewNet = 0x40000000;

    public const string HostAddress = "10.213.0.1";
    public const string GuestAddress = "10.213.0.2";

    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(20);

    public TapNamespace()
    {
        var suffix = Convert.ToHexString(RandomNumberGenerator.GetBytes(4)).ToLowerInvariant();
        Name = $"pvhvm-test-{suffix}";
        TapName = $"pvt{suffix}";
        Ip("netns", "add", Name);
        Ip("netns", "exec", Name, "sysctl", "-q", "-w", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1");
    }

    public string Name { get; }

    /// <summary>A name no other test uses; the device under test creates the tap.</summary>
    public string TapName { get; }

    /// <summary>Moves the tap (created in this process's namespace) in, addresses it and brings it up.</summary>
    public void TakeTap()
    {
        Ip("link", "set", TapName, "netns", Name);
        InNamespace("addr", "add", HostAddress + "/24", "dev", TapName);
        InNamespace("link", "set", TapName, "up");
    }

    /// <summary>Makes a persistent tap inside the namespace, addressed and up, for a program started in it (QEMU) to attach to.</summary>
    public void CreateTapInside()
    {
        InNamespace("tuntap", "add", "dev", TapName, "mode", "tap");
        InNamespace("addr", "add", HostAddress + "/24", "dev", TapName);
        InNamespace("link", "set", TapName, "up");
    }

    /// <summary>The tap's own MAC inside the namespace.</summary>
    public string TapMac() =>
        InNamespace("-br", "link", "show", TapName).Split(" ", StringSplitOptions.RemoveEmptyEntries)[2];

    /// <summary>Frames the host kernel dropped because the tap's queue (towards the VMM) was full.</summary>
    public long TapTxDropped() => long.Parse(Ip("netns", "exec", Name, "cat", $"/sys/class/net/{TapName}/statistics/tx_dropped").Trim(), System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Frames the tap took from the VMM.</summary>
    public long TapRxPackets() => long.Parse(Ip("netns", "exec", Name, "cat", $"/sys/class/net/{TapName}/statistics/rx_packets").Trim(), System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Sends <paramref name="count"/> UDP datagrams of 100 bytes from the namespace to the guest's <paramref name="port"/>, one process each.</summary>
    public void SendDatagrams(int port, int count)
    {
        for (var i = 0; i < count; i++)
        {
            Ip("netns", "exec", Name, HostTools.Require("bash"), "-c", $"printf '%0100d' 0 > /dev/udp/{GuestAddress}/{port}");
        }
    }

    /// <summary>The tap's queue length towards the VMM (txqueuelen).</summary>
    public int TapQueueLength() => int.Parse(Ip("netns", "exec", Name, "cat", $"/sys/class/net/{TapName}/tx_queue_len").Trim(), System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>
    /// A UDP socket bound to <see cref="HostAddress"/>:<paramref name="port"/> inside the namespace: a thread of its own
    /// enters the namespace (setns) and makes it; a socket stays in the namespace it was made in.
    /// </summary>
    public Socket OpenUdpSocket(int port)
    {
        Socket? socket = null;
        Exception? failure = null;
        var maker = new Thread(() =>
        {
            try
            {
                using var handle = File.OpenHandle($"/run/netns/{Name}");
                if (SetNamespace(handle.DangerousGetHandle().ToInt32(), CloneNewNet) != 0)
                {
                    throw new InvalidOperationException($"setns({Name}) failed: errno {Marshal.GetLastPInvokeError()}");
                }

                socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
                socket.Bind(new IPEndPoint(IPAddress.Parse(HostAddress), port));
            }
            catch (Exception e)
            {
                socket?.Dispose();
                failure = e;
            }
        });
        maker.Start();
        maker.Join();
        return failure is null ? socket! : throw new InvalidOperationException($"no UDP socket in {Name}", failure);
    }

    public string InNamespace(params string[] arguments) => Ip(["-n", Name, .. arguments]);

    public static string Ip(params string[] arguments) =>
        DebianKernelFixture.Run(HostTools.Require("ip"), arguments, CommandTimeout).Output;

    public static bool LinkExists(string name)
    {
        try
        {
            Ip("link", "show", name);
            return true;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    public void Dispose() => Ip("netns", "del", Name);

    [LibraryImport("libc", EntryPoint = "setns", SetLastError = true)]
    private static partial int SetNamespace(int fd, int namespaceType);
}
