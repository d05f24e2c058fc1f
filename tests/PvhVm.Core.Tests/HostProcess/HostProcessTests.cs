using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using PvhVm.Control;
using PvhVm.Core.Machine;

namespace PvhVm.Core.Tests.HostProcess;

/// <summary>A real host process per test, driven over its Unix socket as the module and curl drive it.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class HostProcessTests : IDisposable
{
    private readonly HostedVmScope _scope = new();

    public void Dispose() => _scope.Dispose();

    [Fact]
    public async Task AHostRunsItsVmAndServesStateConsoleAndMemoryMapOverTheSocket()
    {
        var (folder, created, client) = _scope.Launch("probe-a");
        using (client)
        {
            Assert.Equal(VmState.Created, created.Status.State);
            Assert.NotEqual(Environment.ProcessId, created.ProcessId);

            var started = await client.ActAsync(VmAction.Start);
            Assert.NotNull(started.Status.StartTime);

            // The probe prints its start_info and resets: follow the console until it completes.
            var lines = new List<ConsoleLine>();
            var page = await client.ReadConsoleAsync(-1, wait: TimeSpan.FromSeconds(10));
            while (true)
            {
                lines.AddRange(page.Lines);
                if (page.Completed)
                {
                    break;
                }

                page = await client.ReadConsoleAsync(lines.Count == 0 ? -1 : lines[^1].Sequence, wait: TimeSpan.FromSeconds(10));
            }

            Assert.Contains(lines, line => line.Text == "probe done");
            Assert.Contains(lines, line => line.Text == "cmdline=console=ttyS0");
            var ended = await client.GetVmAsync();
            Assert.Equal((VmState.Stopped, VmExitReason.GuestReset), (ended.Status.State, ended.Status.ExitReason));

            var map = await client.GetMemoryMapAsync();
            Assert.Contains(map.Regions, region => region.Usage == Core.Boot.RegionUsage.StartInfo && region.Start == 0x6000);
            Assert.Equal(Core.Boot.E820Type.Ram, map.E820[^1].Type);

            // What outlives the host: the last state and the console on disk.
            Assert.Equal(VmState.Stopped, folder.ReadState()!.Status.State);
            Assert.Contains("probe done", File.ReadAllText(folder.ConsolePath));
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(_scope.Directory.Path));
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(folder.Path));

            await client.DeleteAsync();
            HostedVmScope.WaitForExit(created);
            Assert.False(Directory.Exists(folder.Path));
        }
    }

    [Fact]
    public async Task ConsoleInputReachesTheGuestAndStopEndsIt()
    {
        var (_, _, client) = _scope.Launch("echo-a", guest: "echo");
        using (client)
        {
            await client.ActAsync(VmAction.Start);
            await WaitForLineAsync(client, "echo ready");
            var sent = await client.SendConsoleAsync("hello host\n");
            Assert.Equal("hello host\n".Length, sent.Accepted);
            await WaitForLineAsync(client, "hello host");

            var stopped = await client.ActAsync(VmAction.Stop);
            Assert.Equal((VmState.Stopped, VmExitReason.Stopped), (stopped.Status.State, stopped.Status.ExitReason));
            var refused = await Assert.ThrowsAsync<HostApiException>(() => client.SendConsoleAsync("late"));
            Assert.Equal((409, "InvalidOperation"), (refused.StatusCode, refused.Error.Type));
        }
    }

    [Fact]
    public void AVmTheEngineRefusesIsReportedWithTheEnginesErrorAndLeavesNoFolder()
    {
        var config = new VmConfig("bad-kernel", "/nonexistent/vmlinux", MemoryMB: 16);
        var error = Assert.Throws<HostApiException>(() => HostLauncher.Launch(_scope.Directory, config, HostedVmScope.HostPath));
        Assert.Equal(("KernelImageException", "NotFound"), (error.Error.Type, error.Error.Kind));
        Assert.Empty(_scope.Directory.Folders());
    }

    [Fact]
    public void ANameIsTakenWhileItsFolderExistsWhateverTheCase()
    {
        using var first = _scope.Launch("Twin").Client;
        Assert.Throws<VmFolderExistsException>(() => _scope.Launch("twin"));
    }

    [Fact]
    public async Task KilledHostIsReportedWithItsSignalAndItsStaleSocketRefusesConnections()
    {
        var (folder, vm, client) = _scope.Launch("victim", guest: "echo");
        using (client)
        {
            await client.ActAsync(VmAction.Start);
            Process.GetProcessById(vm.ProcessId).Kill();
            HostedVmScope.WaitForExit(vm);

            var exit = HostedVmScope.WaitForExitStatus(folder);
            Assert.Equal((9, (int?)null), (exit.Signal, exit.ExitCode));
            Assert.Contains("SIGKILL", exit.ToString());

            // The socket file is still there, but nothing listens: a client can never take it for a live VM.
            Assert.True(File.Exists(folder.SocketPath));
            Assert.False(ProcessStartTime.IsAlive(vm.ProcessId, vm.ProcessStartTicks));
            var refused = await Assert.ThrowsAsync<HttpRequestException>(() => client.GetVmAsync());
            Assert.Equal(SocketError.ConnectionRefused, Assert.IsType<SocketException>(refused.InnerException).SocketErrorCode);
            Assert.Equal(VmState.Running, folder.ReadState()!.Status.State);

            // Seen from outside: the VM is Failed, and the reason is the host's end.
            var probe = HostProbe.Of(folder);
            Assert.False(probe.IsAlive);
            var status = probe.DeadStatus()!;
            Assert.Equal((VmState.Failed, VmExitReason.Fault), (status.State, status.ExitReason));
            Assert.Contains("killed by signal 9 (SIGKILL)", status.Fault!.Message);
        }
    }

    [Fact]
    public async Task ALiveHostIsProbedAliveAndAVmThatEndedOnItsOwnKeepsItsStatusWhenTheHostDies()
    {
        var (folder, vm, client) = _scope.Launch("self-ended");
        using (client)
        {
            var live = HostProbe.Of(folder);
            Assert.True(live.IsAlive, $"{live}");
            Assert.Null(live.DeadStatus());
            await client.ActAsync(VmAction.Start);
            // The host writes the state file when the VM ends (the probe resets at once).
            var watch = Stopwatch.StartNew();
            while (folder.ReadState()!.Status.State != VmState.Stopped)
            {
                Assert.True(watch.Elapsed < TimeSpan.FromSeconds(20), "the state file never said Stopped");
                await Task.Delay(10);
            }

            Process.GetProcessById(vm.ProcessId).Kill();
            HostedVmScope.WaitForExitStatus(folder);
            var dead = HostProbe.Of(folder);
            Assert.False(dead.IsAlive, $"{dead}");
            Assert.True(dead.DeadStatus() is { State: VmState.Stopped, ExitReason: VmExitReason.GuestReset }, $"{dead} -> {dead.DeadStatus()}");
        }
    }

    [Fact]
    public async Task MalformedRequestsGet4xxAndTheServerStaysUp()
    {
        var (folder, _, client) = _scope.Launch("sturdy");
        using (client)
        {
            var cases = new (string Request, int Status)[]
            {
                ("GARBAGE\r\n\r\n", 400),
                ("GET /vm HTTP/2.0\r\n\r\n", 505),
                ("get /vm HTTP/1.1\r\n\r\n", 400),
                ("GET vm HTTP/1.1\r\n\r\n", 400),
                ("GET /vm HTTP/1.1\nHost: x\n\n", 400),
                ("GET /nothing HTTP/1.1\r\n\r\n", 404),
                ("POST /vm HTTP/1.1\r\n\r\n", 405),
                ("PUT /vm/actions HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 5\r\n\r\n{oops", 400),
                ("PUT /vm/actions HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 19\r\n\r\n{\"action\":\"dance\"}", 400),
                ("PUT /vm/actions HTTP/1.1\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\n{}", 415),
                ("PUT /vm/actions HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 501),
                ("PUT /vm/actions HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n{}", 400),
                ("PUT /vm/actions HTTP/1.1\r\nContent-Length: 99999999\r\n\r\n", 413),
                ("GET /vm/console?after=x HTTP/1.1\r\n\r\n", 400),
                ("GET /vm/console?wait=600001 HTTP/1.1\r\n\r\n", 400),
                ("GET /vm HTTP/1.1\r\n" + new string('a', 9000) + "\r\n\r\n", 431),
                ("GET /vm HTTP/1.1\r\nBad Header: x\r\n\r\n", 400),
                ("GET /vm HTTP/1.1\r\n folded\r\n\r\n", 400),
                ("GET /vm HTTP/1.1\r\nX: \u0001\r\n\r\n", 400),
                ("GET /vm HTTP/1.1\r\nContent-Length: 4", 400),
            };
            foreach (var (request, status) in cases)
            {
                Assert.True((await RawExchangeAsync(folder.SocketPath, Encoding.Latin1.GetBytes(request))).Status == status, $"{status} for {request[..Math.Min(60, request.Length)]}");
            }

            Assert.Equal(VmState.Created, (await client.GetVmAsync()).Status.State);
        }
    }

    /// <summary>Sends raw bytes, half-closes, and returns the answer's status and body (the connection closing inside a request is a 400 too).</summary>
    internal static async Task<(int Status, string Body)> RawExchangeAsync(string socketPath, byte[] request)
    {
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath));
        await socket.SendAsync(request, SocketFlags.None);
        socket.Shutdown(SocketShutdown.Send);
        var response = new MemoryStream();
        var buffer = new byte[4096];
        int read;
        while ((read = await socket.ReceiveAsync(buffer, SocketFlags.None)) > 0)
        {
            response.Write(buffer, 0, read);
        }

        var text = Encoding.UTF8.GetString(response.ToArray());
        Assert.StartsWith("HTTP/1.1 ", text);
        return (int.Parse(text.AsSpan(9, 3)), text[(text.IndexOf("\r\n\r\n", StringComparison.Ordinal) + 4)..]);
    }

    private static Task WaitForLineAsync(HostClient client, string text) => WaitForLineAsync(client, line => line == text, $"'{text}'");

    /// <summary>The first console line (from the start) that <paramref name="match"/> takes, within 20 s.</summary>
    internal static async Task<ConsoleLine> WaitForLineAsync(HostClient client, Func<string, bool> match, string what)
    {
        var deadline = Stopwatch.StartNew();
        var after = -1L;
        while (deadline.Elapsed < TimeSpan.FromSeconds(20))
        {
            var page = await client.ReadConsoleAsync(after, wait: TimeSpan.FromSeconds(5));
            if (page.Lines.FirstOrDefault(line => match(line.Text)) is { } found)
            {
                return found;
            }

            after = page.Lines.Count > 0 ? page.Lines[^1].Sequence : after;
            Assert.False(page.Completed, $"the console completed without {what}");
        }

        Assert.Fail($"no console line {what} within 20 s");
        return null!;
    }
}
