using System.Net.Sockets;

namespace PvhVm.Host.Http;

/// <summary>
/// Serves HTTP/1.x on a Unix socket, one request per connection, each connection on its own task. A client gets
/// <see cref="HeadTimeout"/> to send its request; whatever it sends ends as a response, and no request can stop the server.
/// </summary>
internal sealed class HttpServer(Socket listener) : IDisposable
{
    public static readonly TimeSpan HeadTimeout = TimeSpan.FromSeconds(10);

    private readonly CancellationTokenSource _stopAccepting = new();
    private readonly TaskCompletionSource _acceptingEnded = new(TaskCreationOptions.RunContinuationsAsynchronously);

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

    /// <summary>
    /// Accepts connections and answers each through <paramref name="handle"/>, until <see cref="StopListening"/>; returns
    /// once <paramref name="stop"/> is cancelled, so that answers in flight (the one to the request that stopped the
    /// listening among them) go out first.
    /// </summary>
    public async Task RunAsync(Func<HttpRequest, Task<HttpResponse>> handle, CancellationToken stop)
    {
        using (var accepting = CancellationTokenSource.CreateLinkedTokenSource(stop, _stopAccepting.Token))
        {
            while (!accepting.IsCancellationRequested)
            {
                Socket connection;
                try
                {
                    connection = await listener.AcceptAsync(accepting.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
                catch (SocketException)
                {
                    // A connection that went away between SYN and accept: the next one is served.
                    continue;
                }

                _ = Task.Run(() => ServeAsync(connection, handle), CancellationToken.None);
            }
        }

        _acceptingEnded.TrySetResult();
        try
        {
            await Task.Delay(Timeout.Infinite, stop).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>
    /// Ends accepting, then closes the listener, which removes its socket file: .NET unlinks a bound socket's path when
    /// the socket is disposed. Closing it with no accept pending keeps that to close and unlink (an accept pending makes
    /// .NET set SO_LINGER first, a call the host's seccomp filter refuses).
    /// </summary>
    public void StopListening()
    {
        _stopAccepting.Cancel();
        _acceptingEnded.Task.Wait();
        listener.Dispose();
    }

    public void Dispose()
    {
        listener.Dispose();
        _stopAccepting.Dispose();
    }

    private static async Task ServeAsync(Socket connection, Func<HttpRequest, Task<HttpResponse>> handle)
    {
        using (connection)
        {
            try
            {
                var response = await ReadRequestAsync(connection).ConfigureAwait(false) is { } parsed
                    ? parsed.Request is { } request ? await HandleAsync(request, handle).ConfigureAwait(false) : HttpResponse.Refuse(parsed.StatusCode, parsed.Error!)
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

    private static async Task<HttpResponse> HandleAsync(HttpRequest request, Func<HttpRequest, Task<HttpResponse>> handle)
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
