using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using PvhVm.Core.Checkpoints;
using PvhVm.Core.Devices.Virtio.Block;
using PvhVm.Core.Machine;
using PvhVm.Core.Tests.Reliability.Fuzzing;
using Xunit.Abstractions;

namespace PvhVm.Core.Tests.Checkpoints;

/// <summary>
/// A checkpoint is untrusted input: damaged and mutated manifests and state files are a <see cref="CheckpointException"/>
/// with a specific kind, never another exception, never a guest started from a state that failed its checks.
/// </summary>
public sealed class CheckpointReaderFuzzTests(CheckpointFixture fixture, ITestOutputHelper output) : IClassFixture<CheckpointFixture>
{
    [Fact]
    public void ATruncatedMemoryFileIsMemoryTruncated()
    {
        var copy = fixture.Copy();
        File.Open(Path.Combine(copy, Checkpoint.MemoryFile), FileMode.Open).Using(f => f.SetLength(f.Length - 4096));
        Assert.Equal(CheckpointErrorKind.MemoryTruncated, Assert.Throws<CheckpointException>(() => VirtualMachine.Restore(copy)).Kind);
    }

    [Theory]
    [InlineData(1)] // an earlier PvhVm's (its state checksum was SHA-256)
    [InlineData(3)] // a later one's
    public void AnotherManifestVersionIsUnsupportedVersion(int version)
    {
        var copy = fixture.Copy();
        EditManifest(copy, manifest => manifest["version"] = version);
        var error = Assert.Throws<CheckpointException>(() => Checkpoint.Read(copy));
        Assert.Equal(CheckpointErrorKind.UnsupportedVersion, error.Kind);
        Assert.Contains($"version {version}", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AChangedStateByteFailsTheHashBeforeAnyVcpuExists()
    {
        var copy = fixture.Copy();
        var state = File.ReadAllBytes(Path.Combine(copy, Checkpoint.StateFile));
        state[^3] ^= 1;
        File.WriteAllBytes(Path.Combine(copy, Checkpoint.StateFile), state);
        // The whole state is read and checked when the VM is made, before any KVM object exists.
        Assert.Equal(CheckpointErrorKind.StateCorrupt, Assert.Throws<CheckpointException>(() => VirtualMachine.Restore(copy)).Kind);
    }

    [Fact]
    public void AFolderWithoutManifestIsNoCheckpoint()
    {
        var copy = fixture.Copy();
        File.Delete(Path.Combine(copy, Checkpoint.ManifestFile));
        Assert.Equal(CheckpointErrorKind.ManifestMissing, Assert.Throws<CheckpointException>(() => Checkpoint.Read(copy)).Kind);
    }

    [Fact]
    public void ThreeThousandStateMutantsRaiseOnlyCheckpointException() => FuzzState(3000, 20261130);

    [Fact]
    public void TwoThousandManifestMutantsRaiseOnlyCheckpointException() => FuzzManifest(2000, 20261130);

    /// <summary>
    /// Mutants whose manifest is re-hashed to match, as a hostile author would: the parser and KVM are all that stand
    /// between them and a vCPU. Each either fails with a CheckpointException or starts and is stopped; nothing else.
    /// </summary>
    [Fact]
    public void RehashedStateMutantsFailCleanlyOrRunAsAnyGuestWould()
        => RestoreRehashedMutants(StateSeed(), fixture.Copy(), 60, name => new CheckpointRestoreOptions { Name = name }, output);

    /// <summary>
    /// Mutants written into the checkpoint copy <paramref name="copy"/> with a manifest re-hashed to match, each restored
    /// with <paramref name="options"/> and started: a CheckpointException (from the parser, the devices' checks or KVM) or
    /// a VM that runs and is stopped; nothing else. At least one must be refused.
    /// </summary>
    internal static void RestoreRehashedMutants(FuzzSeed seed, string copy, int count, Func<string, CheckpointRestoreOptions> options, ITestOutputHelper output)
    {
        var mutator = new Mutator(20261130);
        int rejected = 0, started = 0;
        for (var i = 0; i < count; i++)
        {
            var mutant = mutator.Mutate(seed, seed);
            File.WriteAllBytes(Path.Combine(copy, Checkpoint.StateFile), mutant);
            EditManifest(copy, manifest =>
            {
                manifest["stateBytes"] = mutant.Length;
                manifest["stateXxHash128"] = Checkpoint.StateHash(mutant);
            });
            try
            {
                using var vm = VirtualMachine.Restore(copy, options($"mutant{i}"));
                vm.Start();
                started++;
            }
            catch (Exception e) when (e is CheckpointException or DiskImageException)
            {
                // A disk image path the state names is checked as any disk's is.
                rejected++;
            }
        }

        output.WriteLine($"{rejected} rejected, {started} started and stopped");
        Assert.True(rejected > 0);
    }

    internal void FuzzState(int inputs, int randomSeed) => FuzzState(StateSeed(), inputs, randomSeed, output);

    /// <summary>Mutants of <paramref name="seed"/> read as a one-vCPU state file: only ever a CheckpointException, and at least two outcomes.</summary>
    internal static void FuzzState(FuzzSeed seed, int inputs, int randomSeed, ITestOutputHelper output)
    {
        var mutator = new Mutator(randomSeed);
        var kinds = new Dictionary<string, int>();
        for (var i = 0; i < inputs; i++)
        {
            var mutant = mutator.Mutate(seed, seed);
            Count(kinds, Outcome(() => SnapshotFormat.Read(mutant, 1, "fuzz"), mutant));
        }

        output.WriteLine(string.Join(", ", kinds.Select(k => $"{k.Key}: {k.Value}")));
        Assert.True(kinds.Count >= 2, "the mutants reached only one outcome");
    }

    internal void FuzzManifest(int inputs, int randomSeed)
    {
        var copy = fixture.Copy();
        var json = File.ReadAllBytes(Path.Combine(fixture.Folder, Checkpoint.ManifestFile));
        // Every number and string value in the manifest is a field the reader checks; of the memory and e820 maps, the
        // first entry's (the rest are alike, and would outnumber the other fields).
        var text = Encoding.UTF8.GetString(json);
        var fields = Regex.Matches(text, @"(?<=: ?)(""[^""]*""|-?[0-9]+)")
            .Where(m => !InLaterMapEntries(text, m.Index))
            .Select((m, i) => new FuzzField(m.Index, m.Length >= 8 ? 8 : m.Length >= 4 ? 4 : m.Length >= 2 ? 2 : 1, FieldRole.Header, i)).ToList();
        var seed = new FuzzSeed("manifest.json", json, fields);
        var mutator = new Mutator(randomSeed);
        var kinds = new Dictionary<string, int>();
        for (var i = 0; i < inputs; i++)
        {
            var mutant = mutator.Mutate(seed, seed);
            File.WriteAllBytes(Path.Combine(copy, Checkpoint.ManifestFile), mutant);
            Count(kinds, Outcome(() => Checkpoint.Read(copy), mutant));
        }

        output.WriteLine(string.Join(", ", kinds.Select(k => $"{k.Key}: {k.Value}")));
        Assert.True(kinds.Count >= 3, "the mutants reached fewer than three outcomes");
    }

    private static bool InLaterMapEntries(string manifest, int index) => new[] { "\"memoryMap\"", "\"e820Map\"" }.Any(key =>
    {
        var start = manifest.IndexOf(key, StringComparison.Ordinal);
        return start >= 0 && index > manifest.IndexOf('}', start) && index < manifest.IndexOf(']', start);
    });

    private FuzzSeed StateSeed() => StateSeed(fixture.Folder);

    /// <summary>
    /// A checkpoint's state file with its counts and headers as fields, located by walking the parsed seed: the vCPU, UART
    /// and console parts, and each virtio device's type, transport registers, queues and identity.
    /// </summary>
    internal static FuzzSeed StateSeed(string folder)
    {
        var bytes = File.ReadAllBytes(Path.Combine(folder, Checkpoint.StateFile));
        var snapshot = SnapshotFormat.Read(bytes, 1, folder);
        const int VcpuStart = 24 + (3 * 520) + 4;
        var msrCount = VcpuStart + 8 + 6576;
        var cpuidCount = msrCount + 4 + (16 * snapshot.Vcpus[0].Msrs.Length);
        var uart = cpuidCount + 4 + (40 * snapshot.Vcpus[0].Cpuid.Length);
        var fields = new List<FuzzField>
        {
            new(0, 8, FieldRole.Header, 0), new(8, 4, FieldRole.Header, 0), new(12, 8, FieldRole.Header, 0),
            new(20, 4, FieldRole.Length, 1), new(24, 4, FieldRole.Header, 1), new(VcpuStart - 4, 4, FieldRole.Length, 2),
            new(VcpuStart, 4, FieldRole.Header, 2), new(VcpuStart + 4, 4, FieldRole.Header, 2),
            new(msrCount, 4, FieldRole.Length, 3), new(cpuidCount, 4, FieldRole.Length, 3),
            new(uart, 4, FieldRole.Header, 4), new(uart + 4, 2, FieldRole.Header, 4), new(uart + 6, 1, FieldRole.Header, 4),
            new(uart + 7, 1, FieldRole.Header, 4), new(uart + 8, 1, FieldRole.Header, 4), new(uart + 9, 4, FieldRole.Length, 4),
        };
        // The virtio section follows the console line: where it starts is where a state without it ends.
        var virtioCount = SnapshotFormat.Write(new MachineSnapshot
        {
            ClockNanoseconds = snapshot.ClockNanoseconds, Irqchips = snapshot.Irqchips, Vcpus = snapshot.Vcpus, Serial = snapshot.Serial,
            I8042 = snapshot.I8042, ConsolePartialLine = snapshot.ConsolePartialLine, VirtioDevices = [],
        }).Length - 4;
        fields.Add(new(virtioCount - 4 - snapshot.ConsolePartialLine.Length, 4, FieldRole.Length, 5));
        fields.Add(new(virtioCount, 4, FieldRole.Length, 6));
        var at = virtioCount + 4;
        foreach (var (device, record) in snapshot.VirtioDevices.Select((d, i) => (d, 7 + i)))
        {
            // type, status, feature selects, driver features, queue select, interrupt status, generation, queue count
            fields.AddRange([new(at, 4, FieldRole.Header, record), new(at + 4, 4, FieldRole.Header, record), new(at + 8, 4, FieldRole.Header, record),
                new(at + 16, 8, FieldRole.Header, record), new(at + 28, 4, FieldRole.Header, record), new(at + 36, 4, FieldRole.Length, record)]);
            at += 40;
            foreach (var _ in device.Transport.Queues)
            {
                // size, ready, descriptor table, available ring, used ring, next available, next used
                fields.AddRange([new(at, 2, FieldRole.Length, record), new(at + 2, 1, FieldRole.Header, record), new(at + 3, 8, FieldRole.Offset, record),
                    new(at + 11, 8, FieldRole.Offset, record), new(at + 19, 8, FieldRole.Offset, record), new(at + 27, 2, FieldRole.Header, record)]);
                at += 31;
            }

            fields.Add(new(at, 4, FieldRole.Length, record));
            at += 4 + device.Config.Length;
            fields.Add(new(at, 4, FieldRole.Length, record));
            at += 4 + Encoding.UTF8.GetByteCount(device.HostPath);
            fields.AddRange([new(at, 1, FieldRole.Header, record), new(at + 1, 4, FieldRole.Length, record)]);
            at += 5 + device.Serial.Length;
        }

        Assert.Equal(bytes.Length, at);
        return new FuzzSeed("state.bin", bytes, fields);
    }

    private static string Outcome(Action read, byte[] input)
    {
        try
        {
            read();
            return "accepted";
        }
        catch (CheckpointException e)
        {
            return e.Kind.ToString();
        }
        catch (Exception e)
        {
            Assert.Fail($"{e.GetType().Name}: {e.Message} for input {Convert.ToBase64String(input)[..Math.Min(200, input.Length)]}...\n{e.StackTrace}");
            throw;
        }
    }

    private static void Count(Dictionary<string, int> kinds, string kind) => kinds[kind] = kinds.GetValueOrDefault(kind) + 1;

    private static void EditManifest(string folder, Action<JsonObject> edit)
    {
        var path = Path.Combine(folder, Checkpoint.ManifestFile);
        var manifest = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        edit(manifest);
        File.WriteAllText(path, manifest.ToJsonString());
    }
}

internal static class DisposableExtensions
{
    public static void Using<T>(this T disposable, Action<T> action)
        where T : IDisposable
    {
        using (disposable)
        {
            action(disposable);
        }
    }
}
