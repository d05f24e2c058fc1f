using System.Text;
using PvhVm.Core.Machine;

namespace PvhVm.Core.Tests;

public sealed class ConsoleLogTests
{
    [Fact]
    public void AssemblesLinesAndDropsCarriageReturns()
    {
        var log = new ConsoleLog();
        log.Write("hello\r\nwor"u8);
        log.Write("ld\npartial"u8);
        Assert.Equal(["hello", "world"], log.Snapshot().Select(l => l.Text));
        log.Complete();
        Assert.Equal(["hello", "world", "partial"], log.Snapshot().Select(l => l.Text));
        Assert.Equal([0L, 1L, 2L], log.Snapshot().Select(l => l.Sequence));
    }

    [Fact]
    public void RingDropsOldestAndCountsThem()
    {
        var log = new ConsoleLog(capacity: 3);
        for (var i = 0; i < 10; i++)
        {
            log.Write(Encoding.ASCII.GetBytes($"line {i}\n"));
        }

        Assert.Equal(3, log.Count);
        Assert.Equal(7, log.DroppedLines);
        Assert.Equal(10, log.TotalLines);
        Assert.Equal(["line 7", "line 8", "line 9"], log.Snapshot().Select(l => l.Text));
        Assert.Equal(["line 9"], log.Tail(1).Select(l => l.Text));
        Assert.Equal(["line 8", "line 9"], log.ReadAfter(7).Select(l => l.Text));
        Assert.Equal(["line 7", "line 8", "line 9"], log.ReadAfter(2).Select(l => l.Text));
    }

    [Fact]
    public void SplitsOverlongLines()
    {
        var log = new ConsoleLog(maxLineLength: 4);
        log.Write("abcdefghij\n"u8);
        Assert.Equal(["abcd", "efgh", "ij"], log.Snapshot().Select(l => l.Text));
    }

    [Fact]
    public async Task FollowerWakesOnNewLineAndOnCompletion()
    {
        var log = new ConsoleLog();
        var waiter = Task.Run(() => log.WaitForLinesAfter(-1, TimeSpan.FromSeconds(10), CancellationToken.None));
        Thread.Sleep(50);
        log.Write("x\n"u8);
        Assert.True(await waiter.WaitAsync(TimeSpan.FromSeconds(30)));

        var second = Task.Run(() => log.WaitForLinesAfter(0, TimeSpan.FromSeconds(10), CancellationToken.None));
        Thread.Sleep(50);
        log.Complete();
        Assert.False(await second.WaitAsync(TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public void WaitEndsOnCancellationAndTimeout()
    {
        var log = new ConsoleLog();
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(50));
        Assert.False(log.WaitForLinesAfter(-1, Timeout.InfiniteTimeSpan, cts.Token));
        Assert.False(log.WaitForLinesAfter(-1, TimeSpan.FromMilliseconds(20), CancellationToken.None));
    }
}
