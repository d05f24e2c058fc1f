using System.Text;
using PvhVm.Control;
using PvhVm.Core.Checkpoints;
using PvhVm.Core.Machine;
using PvhVm.Core.Tests.Reliability.Fuzzing;
using PvhVm.Host;
using PvhVm.Host.Http;

namespace PvhVm.Core.Tests.HostProcess;

/// <summary>Pause, checkpoint and restore of a VM in a host process, over its API, under the host's seccomp filter.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class HostCheckpointTests : IDisposable
{
    private readonly HostedVmScope _scope = new();

    public void Dispose() => _scope.Dispose();

    [Fact]
    public async Task APausedVmIsSavedAndAHostRestoredFromItGoesOnWithTheNextCount()
    {
        var (folder, _, client) = _scope.Launch("saved", guest: "counter");
        var path = Path.Combine(_scope.Directory.Path, "saved-checkpoint");
        using (client)
        {
            await client.ActAsync(VmAction.Start);
            await HostProcessTests.WaitForLineAsync(client, line => line.StartsWith("count 100 ", StringComparison.Ordinal), "'count 100'");
            var refused = await Assert.ThrowsAsync<HostApiException>(() => client.CheckpointAsync(path));
            Assert.Equal((409, "InvalidOperation"), (refused.StatusCode, refused.Error.Type));

            Assert.Equal(VmState.Paused, (await client.ActAsync(VmAction.Pause)).Status.State);
            Assert.Equal(VmState.Paused, folder.ReadState()!.Status.State);
            var written = await client.CheckpointAsync(path);
            Assert.Equal((path, 16L << 20), (written.Path, written.MemoryBytes));
            Assert.Equal(written.SizeOnDisk, Checkpoint.Read(path).SizeOnDisk);
            var notEmpty = await Assert.ThrowsAsync<HostApiException>(() => client.CheckpointAsync(path));
            Assert.Equal((409, nameof(CheckpointException), nameof(CheckpointErrorKind.FolderNotEmpty)), (notEmpty.StatusCode, notEmpty.Error.Type, notEmpty.Error.Kind));
            var last = (await client.ReadConsoleAsync(tail: 1)).Lines.Single().Text;

            var (_, restoredVm, restored) = _scope.Restore(path, "restored");
            using (restored)
            {
                Assert.Equal(("restored", VmState.Created), (restoredVm.Name, restoredVm.Status.State));
                await restored.ActAsync(VmAction.Start);
                var first = (await restored.ReadConsoleAsync(-1, wait: TimeSpan.FromSeconds(10))).Lines[0].Text;
                Assert.Equal(Count(last) + 1, Count(first));
            }
        }
    }

    [Fact]
    public void AFolderThatIsNoCheckpointIsTheEnginesErrorAndLeavesNoFolder()
    {
        var error = Assert.Throws<HostApiException>(() => _scope.Restore("/nonexistent/checkpoint", "nothing"));
        Assert.Equal((nameof(CheckpointException), nameof(CheckpointErrorKind.ManifestMissing)), (error.Error.Type, error.Error.Kind));
        Assert.Empty(_scope.Directory.Folders());
    }

    [Theory]
    [InlineData("{\"path\":\"relative\"}", "absolute")]
    [InlineData("{\"path\":\"\"}", "body needs a")]
    [InlineData("{\"path\":null}", "body needs a")]
    [InlineData("{\"path\":\"/tmp/a\\u0000b\"}", "NUL")]
    [InlineData("[\"/tmp/a\"]", "not a CheckpointRequest")]
    public async Task ACheckpointPathThatIsNotAnAbsolutePathIsRefusedBeforeAnythingIsWritten(string body, string message)
    {
        using var hosted = CreatedVm();
        var response = await PutCheckpointAsync(new VmApi(hosted, () => { }, () => { }), Encoding.UTF8.GetBytes(body));
        Assert.Equal(400, response.StatusCode);
        Assert.Contains(message, Encoding.UTF8.GetString(response.Body));
    }

    [Fact]
    public async Task APathLongerThanPathMaxIsRefused()
    {
        using var hosted = CreatedVm();
        var response = await PutCheckpointAsync(new VmApi(hosted, () => { }, () => { }), Encoding.UTF8.GetBytes($"{{\"path\":\"/{new string('a', VmApi.MaxPathBytes)}\"}}"));
        Assert.Equal(400, response.StatusCode);
    }

    /// <summary>
    /// Mutated PUT /vm/checkpoint bodies (the kernel-image fuzzer's mutator, JSON-aware seeds) against the handler of a
    /// VM that has not started: every one is refused with a 4xx and an error body, none throws, and none writes anything
    /// (a well-formed path meets a VM that is not Paused).
    /// </summary>
    [Fact]
    public async Task ThreeThousandMutatedCheckpointBodiesAreEachRefusedWith4xx()
    {
        string[] bodies =
        [
            "{\"path\":\"/tmp/pvhvm-fuzz/never\"}",
            "{\"path\":\"relative/never\"}",
            "{\"path\":\"/tmp/\\u00e9t\\u00e9/\\ud800\"}",
            "{\"path\":null,\"extra\":[1,2,{\"x\":true}]}",
        ];
        var seeds = bodies.Select((body, i) => new FuzzSeed($"checkpoint-{i}", Encoding.UTF8.GetBytes(body), [])).ToArray();
        var mutator = new Mutator(73);
        var random = new Random(73);
        using var hosted = CreatedVm();
        var api = new VmApi(hosted, () => { }, () => { });
        var outcomes = new Dictionary<int, int>();
        for (var i = 0; i < 3000; i++)
        {
            var response = await PutCheckpointAsync(api, mutator.Mutate(seeds[random.Next(seeds.Length)], seeds[random.Next(seeds.Length)]));
            Assert.InRange(response.StatusCode, 400, 499);
            Assert.NotEmpty(response.Body);
            outcomes[response.StatusCode] = outcomes.GetValueOrDefault(response.StatusCode) + 1;
        }

        // Both the path checks (400) and the engine behind them (409: not Paused) are reached.
        Assert.True(outcomes.ContainsKey(400) && outcomes.ContainsKey(409), string.Join(", ", outcomes.Select(pair => $"{pair.Key}: {pair.Value}")));
        Assert.False(Directory.Exists("/tmp/pvhvm-fuzz"));
    }

    private static long Count(string line) => long.Parse(line.Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>A host's VM, in this process, created and never started.</summary>
    private HostedVm CreatedVm()
    {
        _scope.Directory.Ensure();
        var folder = _scope.Directory.FolderFor("handler");
        Directory.CreateDirectory(folder.Path);
        return new HostedVm(folder, new VirtualMachine(new VmConfig("handler", Guests.GuestImages.PathOf("echo"), MemoryMB: 16)));
    }

    private static Task<HttpResponse> PutCheckpointAsync(VmApi api, byte[] body) => api.HandleAsync(new HttpRequest("PUT", "/vm/checkpoint",
        new Dictionary<string, string>(), new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase) { ["Content-Type"] = "application/json" }, body));
}
