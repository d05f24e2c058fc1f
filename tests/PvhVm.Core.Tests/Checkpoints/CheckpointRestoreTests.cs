using PvhVm.Core.Checkpoints;
using PvhVm.Core.Machine;
using Xunit.Abstractions;

namespace PvhVm.Core.Tests.Checkpoints;

/// <summary>
/// The counter guest suspended, checkpointed and restored: the count goes on from where it stopped with no gap and no
/// repeat, in the original and in each clone, independently.
/// </summary>
public sealed class CheckpointRestoreTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), $"pvhvm-ckpt-{Guid.NewGuid():N}");

    public void Dispose()
    {
        if (Directory.Exists(_folder))
        {
            Directory.Delete(_folder, recursive: true);
        }
    }

    [Fact]
    public void RestoredCounterGoesOnWithNoGapAndNoRepeat()
    {
        var (checkpoint, atCheckpoint) = CheckpointCounter();
        using var clone = VirtualMachine.Restore(checkpoint.Path, "clone");
        clone.Start();
        CounterGuest.WaitForCount(clone, atCheckpoint + 500);
        clone.Stop();
        var counts = CounterGuest.Counts(clone);
        output.WriteLine($"checkpoint at count {atCheckpoint}; the clone's first full line is count {counts[0].Count}");
        // The clone's console starts with the line the original had half printed: its first line is the next count.
        Assert.Equal(atCheckpoint + 1, counts[0].Count);
        CounterGuest.AssertConsecutive(counts, "the clone");
    }

    [Fact]
    public void TwoClonesOfOneCheckpointContinueFromTheSameNumberIndependently()
    {
        var (checkpoint, atCheckpoint) = CheckpointCounter();
        using var first = VirtualMachine.Restore(checkpoint.Path, "first");
        using var second = VirtualMachine.Restore(checkpoint.Path, "second");
        first.Start();
        second.Start();
        CounterGuest.WaitForCount(first, atCheckpoint + 300);
        // One clone paused: the other counts on by itself.
        first.Suspend();
        var firstAtPause = CounterGuest.Counts(first)[^1].Count;
        CounterGuest.WaitForCount(second, firstAtPause + 300);
        first.Resume();
        CounterGuest.WaitForCount(first, firstAtPause + 100);
        first.Stop();
        second.Stop();
        foreach (var clone in new[] { first, second })
        {
            var counts = CounterGuest.Counts(clone);
            Assert.Equal(atCheckpoint + 1, counts[0].Count);
            CounterGuest.AssertConsecutive(counts, clone.Name);
        }
    }

    [Fact]
    public void CheckpointHoldsTheVmsMemoryAsASparseFile()
    {
        var (checkpoint, _) = CheckpointCounter();
        var read = Checkpoint.Read(checkpoint.Path);
        output.WriteLine($"{read.MemoryBytes} bytes of RAM, {read.MemoryDataBytes} with data, {read.SizeOnDisk} on disk");
        Assert.Equal(16L << 20, read.MemoryBytes);
        Assert.Equal(16L << 20, new FileInfo(Path.Combine(read.Path, "memory.bin")).Length);
        // The counter guest touches a few pages of its 16 MiB: the rest are holes, not zeros written out.
        Assert.InRange(read.MemoryDataBytes, 4096, 1L << 20);
        Assert.True(read.SizeOnDisk < 2L << 20, $"{read.SizeOnDisk} bytes on disk");
        Assert.Equal("counter", read.VmName);
        Assert.Contains("COM1 (16550A UART)", read.Devices);
        Assert.False(read.HasVsock);
    }

    [Fact]
    public void AVsockCidForACheckpointWithoutVsockIsRefused()
    {
        var (checkpoint, _) = CheckpointCounter();
        var refused = Assert.Throws<ArgumentException>(() => VirtualMachine.Restore(checkpoint.Path, new CheckpointRestoreOptions { VsockCid = 77 }));
        Assert.Contains("without a vsock device", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void CheckpointNeedsAPausedVmAndAnEmptyFolder()
    {
        using var vm = CounterGuest.Start();
        CounterGuest.WaitForCount(vm, 10);
        Assert.Throws<InvalidOperationException>(() => vm.CreateCheckpoint(_folder));
        vm.Suspend();
        vm.CreateCheckpoint(_folder);
        var again = Assert.Throws<CheckpointException>(() => vm.CreateCheckpoint(_folder));
        Assert.Equal(CheckpointErrorKind.FolderNotEmpty, again.Kind);
        vm.Stop();
    }

    /// <summary>Runs the counter, pauses it, checkpoints it and stops it; returns the checkpoint and the last complete count.</summary>
    private (Checkpoint Checkpoint, long Count) CheckpointCounter()
    {
        using var vm = CounterGuest.Start();
        CounterGuest.WaitForCount(vm, 200);
        vm.Suspend();
        var count = CounterGuest.Counts(vm)[^1].Count;
        var checkpoint = vm.CreateCheckpoint(_folder);
        vm.Stop();
        return (checkpoint, count);
    }
}
