using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using PvhVm.Core.Checkpoints;
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

    [Fact]
    public void AnotherManifestVersionIsUnsupportedVersion()
    {
        var copy = fixture.Copy();
        EditManifest(copy, manifest => manifest["version"] = 2);
        var error = Assert.Throws<CheckpointException>(() => Checkpoint.Read(copy));
        Assert.Equal(CheckpointErrorKind.UnsupportedVersion, error.Kind);
        Assert.Contains("version 2", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AChangedStateByteFailsTheHashBeforeAnyVcpuExists()
    {
        var copy = fixture.Copy();
        var state = File.ReadAllBytes(Path.Combine(copy, Checkpoint.StateFile));
        state[^3] ^= 1;
        File.WriteAllBytes(Path.Combine(copy, Checkpoint.StateFile), state);
        using var vm = VirtualMachine.Restore(copy);
        Assert.Equal(CheckpointErrorKind.StateCorrupt, Assert.Throws<CheckpointException>(vm.Start).Kind);
        Assert.Equal(VmState.Failed, vm.State);
        Assert.Equal(VmExitReason.BootFailed, vm.ExitReason);
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
    {
        var seed = StateSeed();
        var mutator = new Mutator(20261130);
        var copy = fixture.Copy();
        int rejected = 0, started = 0;
        for (var i = 0; i < 60; i++)
        {
            var mutant = mutator.Mutate(seed, seed);
            File.WriteAllBytes(Path.Combine(copy, Checkpoint.StateFile), mutant);
            EditManifest(copy, manifest =>
            {
                manifest["stateBytes"] = mutant.Length;
                manifest["stateSha256"] = Convert.ToHexString(SHA256.HashData(mutant)).ToLowerInvariant();
            });
            try
            {
                using var vm = VirtualMachine.Restore(copy, $"mutant{i}");
                vm.Start();
                started++;
            }
            catch (CheckpointException)
            {
                rejected++;
            }
        }

        output.WriteLine($"{rejected} rejected, {started} started and stopped");
        Assert.True(rejected > 0);
    }

    internal void FuzzState(int inputs, int randomSeed)
    {
        var seed = StateSeed();
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
        // Every number and string value in the manifest is a field the reader checks.
        var fields = Regex.Matches(Encoding.UTF8.GetString(json), @"(?<=: ?)(""[^""]*""|-?[0-9]+)")
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

    /// <summary>The state file with its counts and headers as fields, located by walking the parsed seed.</summary>
    private FuzzSeed StateSeed()
    {
        var bytes = File.ReadAllBytes(Path.Combine(fixture.Folder, Checkpoint.StateFile));
        var snapshot = SnapshotFormat.Read(bytes, 1, fixture.Folder);
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
            new(bytes.Length - 4 - snapshot.ConsolePartialLine.Length, 4, FieldRole.Length, 5),
        };
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
