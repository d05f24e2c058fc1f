using PvhVm.Core.Checkpoints;

namespace PvhVm.Core.Tests.Checkpoints;

/// <summary>One checkpoint of the counter guest, made once for a test class that reads or damages copies of it.</summary>
public sealed class CheckpointFixture : IDisposable
{
    public CheckpointFixture()
    {
        Folder = Path.Combine(Path.GetTempPath(), $"pvhvm-ckpt-seed-{Guid.NewGuid():N}");
        using var vm = CounterGuest.Start();
        CounterGuest.WaitForCount(vm, 50);
        vm.Suspend();
        vm.CreateCheckpoint(Folder);
        vm.Stop();
    }

    private readonly System.Collections.Concurrent.ConcurrentBag<string> _copies = [];

    public string Folder { get; }

    /// <summary>A copy of the checkpoint in a folder of its own (memory.bin stays sparse), deleted with the fixture's.</summary>
    public string Copy()
    {
        var copy = Path.Combine(Path.GetTempPath(), $"pvhvm-ckpt-copy-{Guid.NewGuid():N}");
        _copies.Add(copy);
        CopyCheckpoint(Folder, copy);
        return copy;
    }

    /// <summary>Copies checkpoint folder <paramref name="from"/> to the new folder <paramref name="to"/>, memory.bin as sparse as the writer made it.</summary>
    public static void CopyCheckpoint(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var file in new[] { Checkpoint.ManifestFile, Checkpoint.StateFile })
        {
            File.Copy(Path.Combine(from, file), Path.Combine(to, file));
        }

        // A sparse copy: the data pages only, as the writer made it.
        using var source = File.OpenRead(Path.Combine(from, Checkpoint.MemoryFile));
        using var target = File.Create(Path.Combine(to, Checkpoint.MemoryFile));
        target.SetLength(source.Length);
        var page = new byte[4096];
        for (long offset = 0; offset < source.Length; offset += page.Length)
        {
            source.ReadExactly(page);
            if (page.AsSpan().IndexOfAnyExcept((byte)0) >= 0)
            {
                target.Position = offset;
                target.Write(page);
            }
        }
    }

    public void Dispose()
    {
        foreach (var folder in _copies.Append(Folder))
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
