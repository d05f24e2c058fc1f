using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;

namespace PvhVm.Bench;

/// <summary>
/// vsock through the VM's hybrid Unix socket to the C guest's echo on port 5000, and the same measurements on a Unix
/// socket pair with an echo thread (the ceiling): round trips of one byte, stop-and-wait echoes of 4,000 bytes, and a
/// stream echoed while it is written. QEMU has no user-space vsock (and this host no vhost-vsock), so no QEMU figures.
/// </summary>
internal static partial class VsockRuns
{
    private static readonly TimeSpan LineTimeout = TimeSpan.FromSeconds(60);

    public static int ThroughGuest(string elf, int roundTrips, int echoes, int streamMiB)
    {
        var directory = Directory.CreateTempSubdirectory("pvhvm-bench-vsock-");
        try
        {
            var path = Path.Combine(directory.FullName, "vsock");
            using var hostListener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            hostListener.Bind(new UnixDomainSocketEndPoint($"{path}_5001"));
            hostListener.Listen(1);
            using var run = new PvhGuestRun(elf, "", tapName: null, vsockPath: path);
            using (var fromGuest = hostListener.Accept())
            {
                // The guest's hello, until it closes.
                while (fromGuest.Receive(new byte[256]) > 0) { }
            }

            if (run.WaitForLine(Listening(), LineTimeout) is null)
            {
                throw new TimeoutException("the guest did not listen on vsock port 5000");
            }

            using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            socket.Connect(new UnixDomainSocketEndPoint(path));
            socket.Send("CONNECT 5000\n"u8);
            var ok = new StringBuilder();
            var one = new byte[1];
            while (socket.Receive(one) == 1 && one[0] != '\n')
            {
                ok.Append((char)one[0]);
            }

            if (!ok.ToString().StartsWith("OK ", StringComparison.Ordinal))
            {
                throw new InvalidOperationException($"CONNECT 5000 answered '{ok}'");
            }

            Measure("pvh", socket, run.ProcessId, roundTrips, echoes, streamMiB);
            socket.Shutdown(SocketShutdown.Send);
            while (socket.Receive(new byte[4096]) > 0) { }
            run.WaitForLine(Echoed(), LineTimeout);
            return 0;
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    public static int SocketPair(int roundTrips, int echoes, int streamMiB)
    {
        using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        var path = Path.Combine(Path.GetTempPath(), $"pvhvm-bench-pair-{Environment.ProcessId}");
        listener.Bind(new UnixDomainSocketEndPoint(path));
        listener.Listen(1);
        using var client = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        client.Connect(new UnixDomainSocketEndPoint(path));
        using var server = listener.Accept();
        File.Delete(path);
        var echo = new Thread(() =>
        {
            var buffer = new byte[4096];
            int read;
            while ((read = server.Receive(buffer)) > 0)
            {
                server.Send(buffer.AsSpan(0, read));
            }
        }) { IsBackground = true };
        echo.Start();
        Measure("socketPair", client, processId: null, roundTrips, echoes, streamMiB);
        client.Shutdown(SocketShutdown.Send);
        echo.Join();
        return 0;
    }

    private static void Measure(string peer, Socket socket, int? processId, int roundTrips, int echoes, int streamMiB)
    {
        var one = new byte[1];
        var times = new double[roundTrips];
        for (var i = -100; i < roundTrips; i++)
        {
            var t0 = Stopwatch.GetTimestamp();
            socket.Send(one);
            ReceiveExactly(socket, one);
            if (i >= 0)
            {
                times[i] = Stopwatch.GetElapsedTime(t0).TotalMicroseconds;
            }
        }

        var exits = processId is { } pid ? new ExitCounter(pid) : null;
        for (var i = 0; i < roundTrips; i++)
        {
            socket.Send(one);
            ReceiveExactly(socket, one);
        }

        var exitsPerRoundTrip = exits?.Stop() / (double)roundTrips;
        exits?.Dispose();

        // Stop and wait: 4,000 bytes out, the same back, again.
        var block = new byte[4000];
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < echoes; i++)
        {
            socket.Send(block);
            ReceiveExactly(socket, block);
        }

        var echoSeconds = clock.Elapsed.TotalSeconds;

        // A stream: a writer thread sends, this thread reads the echo.
        var total = (long)streamMiB << 20;
        var writer = new Thread(() =>
        {
            var chunk = new byte[65536];
            for (var left = total; left > 0; left -= chunk.Length)
            {
                socket.Send(chunk.AsSpan(0, (int)Math.Min(chunk.Length, left)));
            }
        }) { IsBackground = true };
        clock.Restart();
        writer.Start();
        var back = new byte[65536];
        for (var got = 0L; got < total;)
        {
            var read = socket.Receive(back);
            if (read == 0)
            {
                throw new IOException("the echo ended the stream early");
            }

            got += read;
        }

        writer.Join();
        var streamSeconds = clock.Elapsed.TotalSeconds;
        Array.Sort(times);
        Json.Line(new
        {
            peer, roundTrips, roundTripMedianMicroseconds = times[roundTrips / 2], roundTripP90Microseconds = times[roundTrips * 9 / 10],
            exitsPerRoundTrip, echoes, echo4000MegabytesPerSecond = echoes * 4000.0 / echoSeconds / 1e6,
            echo4000Microseconds = echoSeconds / echoes * 1e6, streamMiB, streamMegabytesPerSecond = total / streamSeconds / 1e6,
        });
    }

    private static void ReceiveExactly(Socket socket, byte[] buffer)
    {
        for (var got = 0; got < buffer.Length;)
        {
            var read = socket.Receive(buffer.AsSpan(got));
            if (read == 0)
            {
                throw new IOException("the echo ended the stream early");
            }

            got += read;
        }
    }

    [GeneratedRegex("^vsock listening on port 5000")]
    private static partial Regex Listening();

    [GeneratedRegex(@"^vsock echoed \d+ bytes")]
    private static partial Regex Echoed();
}
