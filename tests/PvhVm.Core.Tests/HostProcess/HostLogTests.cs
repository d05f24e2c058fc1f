using Microsoft.Extensions.Logging;
using PvhVm.Control;
using HostLog = PvhVm.Host.HostLog;

namespace PvhVm.Core.Tests.HostProcess;

/// <summary>
/// The host's log file and a client following it: every entry reaches the client once, in order; a line still being
/// written waits for its end; a log moved aside at its bound is read on from the new file's start.
/// </summary>
public sealed class HostLogTests : IDisposable
{
    private readonly VmFolder _folder = new(Directory.CreateTempSubdirectory("pvhvm-log-").FullName);

    public void Dispose() => _folder.Delete();

    [Fact]
    public void AFollowerGetsEachEntryOnceInOrderAndWaitsForAPartialLine()
    {
        var log = new HostLog(_folder);
        var reader = new HostLogReader(_folder, fromStart: true);
        Assert.Empty(reader.ReadNew());

        log.LogInformation("created {Name}", "vm1");
        log.LogWarning("failed: {Reason}", "a fault");
        Assert.Equal([(LogLevel.Information, "created vm1"), (LogLevel.Warning, "failed: a fault")], reader.ReadNew().Select(e => (e.Level, e.Message)));
        Assert.Empty(reader.ReadNew());

        // Half a line (the host is writing it): nothing yet, then the whole entry once it ends.
        File.AppendAllText(_folder.HostLogPath, "{\"time\":\"2026-11-30T23:00:00+00:00\",\"level\":\"Error\",");
        Assert.Empty(reader.ReadNew());
        File.AppendAllText(_folder.HostLogPath, "\"message\":\"late\"}\nnot json\n");
        Assert.Equal([(LogLevel.Error, "late")], reader.ReadNew().Select(e => (e.Level, e.Message)));
    }

    [Fact]
    public void AFollowerThatStartsNowSkipsTheHistoryAndFollowsAcrossTheBound()
    {
        var log = new HostLog(_folder);
        log.LogInformation("before");
        var reader = new HostLogReader(_folder, fromStart: false);
        log.LogDebug("after");
        Assert.Equal(["after"], reader.ReadNew().Select(e => e.Message));

        // Past the bound the log goes to host.log.1 and a new one begins, longer by now than where the follower was in the
        // old one: it reads the new file from its start (the lines that went to host.log.1 unread are the bound's cost).
        var big = new string('x', 4096);
        while (!File.Exists(_folder.PreviousHostLogPath))
        {
            log.LogTrace("{Filler}", big);
        }

        log.LogWarning("after the bound");
        log.LogTrace("{Filler}", big);
        Assert.Equal(["after the bound", big], reader.ReadNew().Select(e => e.Message));
        Assert.True(new FileInfo(_folder.PreviousHostLogPath).Length >= HostLog.MaxFileBytes);
    }

    [Theory]
    [InlineData("137", 9, null, false)]
    [InlineData("137 oom", 9, null, true)]
    [InlineData("2\n", null, 2, false)]
    public void TheMonitorsExitRecordSaysTheSignalAndWhetherTheOomKillerSentIt(string text, int? signal, int? exitCode, bool outOfMemory)
    {
        var exit = HostExit.Parse(text)!;
        Assert.Equal((signal, exitCode, outOfMemory), (exit.Signal, exit.ExitCode, exit.OutOfMemory));
        Assert.Contains(outOfMemory ? "OOM killer" : signal is null ? "exited with code" : "SIGKILL", exit.ToString());
        Assert.Null(HostExit.Parse("oom"));
    }
}
