using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using PvhVm.Control;
using PvhVm.Core.Machine;
using PvhVm.Host.Http;

namespace PvhVm.Host;

/// <summary>
/// The REST resources of the VM (docs/api/pvhvm-host.openapi.json describes them; a test holds the two together).
/// </summary>
/// <param name="closeListener">Stops accepting connections and removes the socket file.</param>
/// <param name="deleted">Lets the host exit, once DELETE /vm has been answered.</param>
internal sealed class VmApi(HostedVm hosted, Action closeListener, Action deleted)
{
    /// <summary>The longest a console long poll waits.</summary>
    public const int MaxWaitMilliseconds = 60_000;

    /// <summary>Every path and the methods it serves.</summary>
    public static readonly IReadOnlyDictionary<string, string[]> Routes = new Dictionary<string, string[]>
    {
        ["/vm"] = ["GET", "DELETE"],
        ["/vm/actions"] = ["PUT"],
        ["/vm/checkpoint"] = ["PUT"],
        ["/vm/console"] = ["GET"],
        ["/vm/console/input"] = ["PUT"],
        ["/vm/memory-map"] = ["GET"],
        ["/vm/disks"] = ["GET", "PUT", "DELETE"],
        ["/vm/network-adapters"] = ["GET", "PUT", "DELETE"],
    };

    public async Task<HttpResponse> HandleAsync(HttpRequest request)
    {
        if (!Routes.TryGetValue(request.Path, out var methods))
        {
            return HttpResponse.Refuse(404, $"No resource at {request.Path}.");
        }

        if (!methods.Contains(request.Method))
        {
            return HttpResponse.Refuse(405, $"{request.Path} serves {string.Join(", ", methods)}.", string.Join(", ", methods));
        }

        try
        {
            return (request.Method, request.Path) switch
            {
                ("GET", "/vm") => await DescribeAsync(request).ConfigureAwait(false),
                ("DELETE", "/vm") => await DeleteAsync().ConfigureAwait(false),
                ("PUT", "/vm/actions") => await ActAsync(request).ConfigureAwait(false),
                ("PUT", "/vm/checkpoint") => await CheckpointAsync(request).ConfigureAwait(false),
                ("GET", "/vm/console") => await ReadConsoleAsync(request).ConfigureAwait(false),
                ("PUT", "/vm/console/input") => SendConsole(request),
                ("GET", "/vm/memory-map") => MemoryMap(),
                ("GET", "/vm/disks") => Disks(),
                ("PUT", "/vm/disks") => AddDisk(request),
                ("DELETE", "/vm/disks") => RemoveDisk(request),
                ("GET", "/vm/network-adapters") => NetworkAdapters(),
                ("PUT", "/vm/network-adapters") => AddNetworkAdapter(request),
                _ => RemoveNetworkAdapter(request),
            };
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            var (status, error) = ApiErrors.From(e);
            return HttpResponse.Error(status, error);
        }
    }

    private HttpResponse Describe() => HttpResponse.Json(200, hosted.Describe(), ControlJson.Default.VmDescription);

    /// <summary>GET /vm; with 'wait', once the VM has exited or the wait is over (a client's Wait-PvhVm, without polling).</summary>
    private async Task<HttpResponse> DescribeAsync(HttpRequest request)
    {
        if (!TryQueryNumber(request, "wait", 0, MaxWaitMilliseconds, 0, out var wait))
        {
            return HttpResponse.Refuse(400, $"'wait' takes 0-{MaxWaitMilliseconds} ms.");
        }

        if (wait > 0)
        {
            await Task.Factory.StartNew(() => hosted.Vm.WaitForExit(TimeSpan.FromMilliseconds(wait)),
                CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default).ConfigureAwait(false);
        }

        return Describe();
    }

    private HttpResponse Disks() => HttpResponse.Json(200, hosted.Vm.GetDisks(), ControlJson.Default.IReadOnlyListVmDisk);

    private HttpResponse AddDisk(HttpRequest request) => AddDevice(request, ControlJson.Default.DiskConfig, "path", disk => disk.Path,
        (vm, disk) => vm.AddDisk(disk with { Serial = disk.Serial ?? "" }), ControlJson.Default.VmDisk);

    private HttpResponse RemoveDisk(HttpRequest request)
        => RemoveDevice(request, "guestName", "vda", (vm, guestName) => vm.RemoveDisk(guestName), guestName => $"no disk {guestName}");

    private HttpResponse NetworkAdapters() => HttpResponse.Json(200, hosted.Vm.GetNetworkAdapters(), ControlJson.Default.IReadOnlyListVmNetworkAdapter);

    private HttpResponse AddNetworkAdapter(HttpRequest request) => AddDevice(request, ControlJson.Default.NetworkAdapterConfig, "tapName",
        adapter => adapter.TapName, (vm, adapter) => vm.AddNetworkAdapter(adapter), ControlJson.Default.VmNetworkAdapter);

    private HttpResponse RemoveNetworkAdapter(HttpRequest request)
        => RemoveDevice(request, "tapName", "tap0", (vm, tapName) => vm.RemoveNetworkAdapter(tapName), tapName => $"no network adapter on tap '{tapName}'");

    /// <summary>PUT of a disk or an adapter: its config in the body (with the one member it cannot do without), the device as added.</summary>
    private HttpResponse AddDevice<TConfig, TDevice>(HttpRequest request, JsonTypeInfo<TConfig> configType, string requiredMember,
        Func<TConfig, string?> required, Func<VirtualMachine, TConfig, TDevice> add, JsonTypeInfo<TDevice> deviceType)
        where TConfig : class
    {
        if (ReadBody(request, configType, out var refusal) is not { } config)
        {
            return refusal!;
        }

        return required(config) is null
            ? HttpResponse.Refuse(400, $"The body needs a '{requiredMember}'.")
            : HttpResponse.Json(200, hosted.Change(vm => add(vm, config)), deviceType);
    }

    /// <summary>DELETE of a disk or an adapter named by a query parameter: 204, or 404 when the VM has no such device.</summary>
    private HttpResponse RemoveDevice(HttpRequest request, string key, string example, Func<VirtualMachine, string, bool> remove, Func<string, string> missing)
        => request.Query.TryGetValue(key, out var name)
            ? hosted.Change(vm => remove(vm, name)) ? HttpResponse.NoContent : HttpResponse.Refuse(404, $"The VM has {missing(name)}.")
            : HttpResponse.Refuse(400, $"Name the device: ?{key}={example}.");

    /// <summary>
    /// Stops the VM (waiting for its vCPUs), closes the listener, removes the folder, answers, and only then lets the host
    /// exit. The monitor shell then finds no folder to record an exit status in, which is right: there is no VM left to
    /// report on. Nothing of this host touches the folder's path after the answer: a new VM of the same name may own it by then.
    /// </summary>
    private async Task<HttpResponse> DeleteAsync()
    {
        await Task.Factory.StartNew(() =>
        {
            hosted.Dispose();
            // The listener's socket file goes now, while the path is still this VM's, not at exit, when it may be the
            // socket of the next VM of this name (seen: that VM then never answered).
            closeListener();
            hosted.Folder.Delete();
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default).ConfigureAwait(false);
        return HttpResponse.NoContent with { AfterSent = deleted };
    }

    private async Task<HttpResponse> ActAsync(HttpRequest request)
    {
        if (ReadBody(request, ControlJson.Default.VmAction, out var refusal) is not { } action)
        {
            return refusal!;
        }

        // Start boots (memory, kernel copy), Stop and pause wait for the vCPUs: none belongs on an I/O thread.
        Action? act = action.Action switch
        {
            VmAction.Start => hosted.Start,
            VmAction.Stop => hosted.Stop,
            VmAction.Pause => hosted.Suspend,
            VmAction.Resume => hosted.Resume,
            _ => null,
        };
        if (act is null)
        {
            return HttpResponse.Refuse(400, $"Unknown action '{action.Action}': use '{VmAction.Start}', '{VmAction.Stop}', '{VmAction.Pause}' or '{VmAction.Resume}'.");
        }

        await Task.Factory.StartNew(act, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default).ConfigureAwait(false);
        return Describe();
    }

    /// <summary>
    /// PUT /vm/checkpoint: the paused VM saved to the folder the body names. The path is request input: it must be
    /// absolute, without NUL, at most PATH_MAX bytes; what the host may write there is what its user may (it runs as the
    /// user who started it, and the folder is created with that user's rights).
    /// </summary>
    private async Task<HttpResponse> CheckpointAsync(HttpRequest request)
    {
        if (ReadBody(request, ControlJson.Default.CheckpointRequest, out var refusal) is not { } body)
        {
            return refusal!;
        }

        if (CheckpointPathProblem(body.Path) is { } problem)
        {
            return HttpResponse.Refuse(400, problem);
        }

        var checkpoint = await Task.Factory.StartNew(() => hosted.Vm.CreateCheckpoint(Path.GetFullPath(body.Path!)),
            CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default).ConfigureAwait(false);
        return HttpResponse.Json(200, new CheckpointWritten(checkpoint.Path, checkpoint.MemoryBytes, checkpoint.MemoryDataBytes, checkpoint.SizeOnDisk),
            ControlJson.Default.CheckpointWritten);
    }

    /// <summary>PATH_MAX counts the terminating NUL.</summary>
    internal const int MaxPathBytes = 4095;

    /// <summary>What is wrong with a checkpoint path from a request, or null when it may be used.</summary>
    internal static string? CheckpointPathProblem(string? path) => path switch
    {
        null or "" => "The body needs a 'path': the checkpoint folder.",
        _ when path.Contains('\0') => "The path contains a NUL character.",
        _ when !path.StartsWith('/') => $"The path must be absolute; '{path[..Math.Min(path.Length, 200)]}' is not.",
        _ when Encoding.UTF8.GetByteCount(path) > MaxPathBytes => $"The path has more than {MaxPathBytes} bytes.",
        _ => null,
    };

    private async Task<HttpResponse> ReadConsoleAsync(HttpRequest request)
    {
        if (!TryQueryNumber(request, "after", -1, long.MaxValue, -1, out var after)
            || !TryQueryNumber(request, "tail", 0, int.MaxValue, -1, out var tail)
            || !TryQueryNumber(request, "wait", 0, MaxWaitMilliseconds, 0, out var wait))
        {
            return HttpResponse.Refuse(400, $"'after' takes a sequence number (-1 or more), 'tail' a line count, 'wait' 0-{MaxWaitMilliseconds} ms.");
        }

        var console = hosted.Vm.Console;
        if (wait > 0)
        {
            await Task.Factory.StartNew(() => console.WaitForLinesAfter(after, TimeSpan.FromMilliseconds(wait), CancellationToken.None),
                CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default).ConfigureAwait(false);
        }

        // Completion is read first: a log that was complete before the read holds every line there will be.
        var completed = console.IsCompleted;
        var lines = tail >= 0 ? console.Tail((int)tail).Where(line => line.Sequence > after).ToList() : console.ReadAfter(after);
        return HttpResponse.Json(200, new ConsolePage(lines, completed, console.DroppedLines), ControlJson.Default.ConsolePage);
    }

    private HttpResponse SendConsole(HttpRequest request)
    {
        if (ReadBody(request, ControlJson.Default.ConsoleInput, out var refusal) is not { } input)
        {
            return refusal!;
        }

        if (input.Text is null)
        {
            return HttpResponse.Refuse(400, "The body needs a 'text'.");
        }

        var accepted = hosted.Vm.SendConsole(Encoding.UTF8.GetBytes(input.Text));
        return HttpResponse.Json(200, new ConsoleInputResult(accepted), ControlJson.Default.ConsoleInputResult);
    }

    private HttpResponse MemoryMap()
        => HttpResponse.Json(200, new MemoryMapDocument(hosted.Vm.MemoryMap, hosted.Vm.E820Map), ControlJson.Default.MemoryMapDocument);

    private static T? ReadBody<T>(HttpRequest request, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type, out HttpResponse? refusal)
        where T : class
    {
        refusal = null;
        if (!request.Headers.TryGetValue("Content-Type", out var contentType) || !contentType.StartsWith("application/json", StringComparison.OrdinalIgnoreCase))
        {
            refusal = HttpResponse.Refuse(415, "The body must be application/json.");
            return null;
        }

        try
        {
            if (JsonSerializer.Deserialize(request.Body, type) is { } value)
            {
                return value;
            }
        }
        catch (JsonException)
        {
        }

        refusal = HttpResponse.Refuse(400, $"The body is not a {typeof(T).Name} in JSON.");
        return null;
    }

    private static bool TryQueryNumber(HttpRequest request, string name, long min, long max, long absent, out long value)
    {
        value = absent;
        if (!request.Query.TryGetValue(name, out var text))
        {
            return true;
        }

        return long.TryParse(text, System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out value)
            && value >= min && value <= max;
    }
}
