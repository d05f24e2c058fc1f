using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using PvhVm.Core.Machine;

namespace PvhVm.Control;

/// <summary>The REST API of one host process, over its Unix socket. Thread-safe; one connection per request.</summary>
public sealed class HostClient : IDisposable
{
    private readonly HttpClient _http;

    public HostClient(string socketPath)
    {
        SocketPath = socketPath;
        var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (_, cancellationToken) =>
            {
                var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                try
                {
                    await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), cancellationToken).ConfigureAwait(false);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
        };

        // Waits are long polls bounded by their own parameter: no client-wide timeout cuts them.
        _http = new HttpClient(handler) { BaseAddress = new Uri("http://localhost/"), Timeout = Timeout.InfiniteTimeSpan };
    }

    public string SocketPath { get; }

    /// <summary>GET /vm; with <paramref name="waitForExit"/>, the host answers once the VM has exited or the wait is over.</summary>
    public Task<VmDescription> GetVmAsync(TimeSpan? waitForExit = null, CancellationToken cancellationToken = default)
        => SendAsync(HttpMethod.Get, waitForExit is { } wait ? $"vm?wait={(long)wait.TotalMilliseconds}" : "vm", null, ControlJson.Default.VmDescription, cancellationToken);

    public Task<IReadOnlyList<VmDisk>> GetDisksAsync(CancellationToken cancellationToken = default)
        => SendAsync(HttpMethod.Get, "vm/disks", null, ControlJson.Default.IReadOnlyListVmDisk, cancellationToken);

    /// <summary>PUT /vm/disks: a disk after the others, before the VM starts.</summary>
    public Task<VmDisk> AddDiskAsync(DiskConfig disk, CancellationToken cancellationToken = default)
        => SendAsync(HttpMethod.Put, "vm/disks", Json(disk, ControlJson.Default.DiskConfig), ControlJson.Default.VmDisk, cancellationToken);

    /// <summary>DELETE /vm/disks?guestName=: false when the VM has no such disk.</summary>
    public Task<bool> RemoveDiskAsync(string guestName, CancellationToken cancellationToken = default)
        => DeleteAsync($"vm/disks?guestName={Uri.EscapeDataString(guestName)}", cancellationToken);

    public Task<IReadOnlyList<VmNetworkAdapter>> GetNetworkAdaptersAsync(CancellationToken cancellationToken = default)
        => SendAsync(HttpMethod.Get, "vm/network-adapters", null, ControlJson.Default.IReadOnlyListVmNetworkAdapter, cancellationToken);

    /// <summary>PUT /vm/network-adapters: an adapter after the others, before the VM starts.</summary>
    public Task<VmNetworkAdapter> AddNetworkAdapterAsync(NetworkAdapterConfig adapter, CancellationToken cancellationToken = default)
        => SendAsync(HttpMethod.Put, "vm/network-adapters", Json(adapter, ControlJson.Default.NetworkAdapterConfig), ControlJson.Default.VmNetworkAdapter, cancellationToken);

    /// <summary>DELETE /vm/network-adapters?tapName=: false when the VM has no adapter on that tap.</summary>
    public Task<bool> RemoveNetworkAdapterAsync(string tapName, CancellationToken cancellationToken = default)
        => DeleteAsync($"vm/network-adapters?tapName={Uri.EscapeDataString(tapName)}", cancellationToken);

    /// <summary>PUT /vm/checkpoint: the paused VM saved to the folder <paramref name="path"/> (absolute, new or empty).</summary>
    public Task<CheckpointWritten> CheckpointAsync(string path, CancellationToken cancellationToken = default)
        => SendAsync(HttpMethod.Put, "vm/checkpoint", Json(new CheckpointRequest(path), ControlJson.Default.CheckpointRequest), ControlJson.Default.CheckpointWritten, cancellationToken);

    /// <summary>PUT /vm/actions: start, stop, pause or resume; the VM's description after the action.</summary>
    public Task<VmDescription> ActAsync(string action, CancellationToken cancellationToken = default)
        => SendAsync(HttpMethod.Put, "vm/actions", Json(new VmAction(action), ControlJson.Default.VmAction), ControlJson.Default.VmDescription, cancellationToken);

    /// <summary>
    /// GET /vm/console: lines after <paramref name="after"/> (or the last <paramref name="tail"/>); with a wait, the host
    /// answers once there is a line to give, the VM has ended, or the wait is over.
    /// </summary>
    public Task<ConsolePage> ReadConsoleAsync(long after = -1, int? tail = null, TimeSpan? wait = null, CancellationToken cancellationToken = default)
    {
        var query = $"vm/console?after={after}";
        if (tail is { } count)
        {
            query += $"&tail={count}";
        }

        if (wait is { } duration)
        {
            query += $"&wait={(long)duration.TotalMilliseconds}";
        }

        return SendAsync(HttpMethod.Get, query, null, ControlJson.Default.ConsolePage, cancellationToken);
    }

    public Task<ConsoleInputResult> SendConsoleAsync(string text, CancellationToken cancellationToken = default)
        => SendAsync(HttpMethod.Put, "vm/console/input", Json(new ConsoleInput(text), ControlJson.Default.ConsoleInput), ControlJson.Default.ConsoleInputResult, cancellationToken);

    public Task<MemoryMapDocument> GetMemoryMapAsync(CancellationToken cancellationToken = default)
        => SendAsync(HttpMethod.Get, "vm/memory-map", null, ControlJson.Default.MemoryMapDocument, cancellationToken);

    /// <summary>DELETE /vm: the host stops the VM, removes its folder and exits.</summary>
    public Task DeleteAsync(CancellationToken cancellationToken = default) => DeleteAsync("vm", cancellationToken);

    /// <summary>A DELETE: true when done, false when the resource was not there (404).</summary>
    private async Task<bool> DeleteAsync(string path, CancellationToken cancellationToken)
    {
        using var response = await _http.DeleteAsync(path, cancellationToken).ConfigureAwait(false);
        if (response.StatusCode == System.Net.HttpStatusCode.NotFound && path != "vm")
        {
            return false;
        }

        await ThrowIfFailedAsync(response, cancellationToken).ConfigureAwait(false);
        return true;
    }

    public void Dispose() => _http.Dispose();

    // A body of known length: the host's HTTP/1.1 server takes Content-Length, not chunked transfer.
    private static ByteArrayContent Json<T>(T value, JsonTypeInfo<T> type)
    {
        var content = new ByteArrayContent(JsonSerializer.SerializeToUtf8Bytes(value, type));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        return content;
    }

    private async Task<T> SendAsync<T>(HttpMethod method, string path, HttpContent? content, JsonTypeInfo<T> type, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, path) { Content = content };
        using var response = await _http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        await ThrowIfFailedAsync(response, cancellationToken).ConfigureAwait(false);
        var body = await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
        return JsonSerializer.Deserialize(body, type) ?? throw new InvalidDataException($"The host at {SocketPath} answered {path} with null.");
    }

    private static async Task ThrowIfFailedAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        if (response.IsSuccessStatusCode)
        {
            return;
        }

        var body = await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
        ApiError? error;
        try
        {
            error = JsonSerializer.Deserialize(body, ControlJson.Default.ApiError);
        }
        catch (JsonException)
        {
            error = null;
        }

        throw new HostApiException((int)response.StatusCode, error ?? new ApiError("HttpError", null, $"HTTP {(int)response.StatusCode} {response.ReasonPhrase}"));
    }
}
