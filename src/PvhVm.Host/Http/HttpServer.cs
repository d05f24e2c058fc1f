using System.Net.Sockets;

namespace PvhVm.Host.Http;

/// <summary>
/// Serves HTTP/1.x on a Unix socket, one request per connection, each connection on its own task. A client gets
/// <see cref="HeadTimeout"/> to send its request; whatever it sends ends as a response, and no request can stop the server.
/// </summary>
internal sealed class HttpServer(Socket listener, Func<HttpRequest, Task<HttpResponse>> handle) : IDisposable
{
    public static readonly TimeSpan HeadTimeout = TimeSpan.FromSeconds(10);

    public static Socket Listen(string socketPath)
    {
        // A socket file left by a host that died would make bind fail: the caller made sure no live host holds it.
        File.Delete(socketPath);
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        socket.Bind(new UnixDomainSocketEndPoint(socketPath));
        File.SetUnixFileMode(socketPath, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        socket.Listen(64);
        return socket;
    }

    /// <summary>Accepts connections until <paramref name="stop"/> is cancelled.</summary>
    public async Task RunAsync(CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            Socket connection;
            try
            {
                connection = await listener.AcceptAsync(stop).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (SocketException)
            {
                // A connection that went away between SYN and accept: the next one is served.
                continue;
            }

            _ = Task.Run(() => ServeAsync(connection), CancellationToken.None);
        }
    }

    public void Dispose() => listener.Dispose();

    private async Task ServeAsync(Socket connection)
    {
        using (connection)
        {
            try
            {
                var response = await ReadRequestAsync(connection).ConfigureAwait(false) is { } parsed
                    ? parsed.Request is { } request ? await HandleAsync(request).ConfigureAwait(false) : HttpResponse.Refuse(parsed.StatusCode, parsed.Error!)
                    : null;
                if (response is not null)
                {
                    try
                    {
                        await connection.SendAsync(response.Encode(), SocketFlags.None).ConfigureAwait(false);
                        connection.Shutdown(SocketShutdown.Send);
                    }
                    finally
                    {
                        response.AfterSent?.Invoke();
                    }
                }
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException or OperationCanceledException)
            {
                // The client went away or never finished its request: nothing to answer.
            }
        }
    }

    private async Task<HttpResponse> HandleAsync(HttpRequest request)
    {
        try
        {
            return await handle(request).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            // A bug in a handler answers 500 and leaves the server, and the VM, running.
            return HttpResponse.Refuse(500, $"The host failed to handle {request.Method} {request.Path}: {e.Message}");
        }
    }

    /// <summary>Reads until the parser has a request or a refusal; null when the client closed or stalled first.</summary>
    private static async Task<ParseResult?> ReadRequestAsync(Socket connection)
    {
        using var timeout = new CancellationTokenSource(HeadTimeout);
        var buffer = new byte[HttpRequestParser.MaxHeadBytes + 4 + HttpRequestParser.MaxBodyBytes];
        var length = 0;
        while (true)
        {
            var read = await connection.ReceiveAsync(buffer.AsMemory(length), SocketFlags.None, timeout.Token).ConfigureAwait(false);
            if (read == 0)
            {
                // Closed with a partial request: answer what it would have been told, had it waited.
                return length == 0 ? null : ParseResult.Refuse(400, "The connection closed inside the request.");
            }

            length += read;
            var result = HttpRequestParser.Parse(buffer.AsSpan(0, length));
            if (result.Status != ParseStatus.Incomplete)
            {
                return result;
            }

            if (length == buffer.Length)
            {
                return ParseResult.Refuse(413, "The request is larger than the server takes.");
            }
        }
    }
}
