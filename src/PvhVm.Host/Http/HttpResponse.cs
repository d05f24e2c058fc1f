using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using PvhVm.Control;

namespace PvhVm.Host.Http;

/// <summary>A response: status, JSON body (or none), for 405 the methods the resource allows, and what to do once it is sent.</summary>
internal sealed record HttpResponse(int StatusCode, byte[] Body, string? Allow = null)
{
    /// <summary>Runs after the response has reached the client's socket (DELETE /vm: the host exits then, not before).</summary>
    public Action? AfterSent { get; init; }

    public static HttpResponse Json<T>(int statusCode, T value, JsonTypeInfo<T> type) => new(statusCode, JsonSerializer.SerializeToUtf8Bytes(value, type));

    public static HttpResponse NoContent { get; } = new(204, []);

    public static HttpResponse Error(int statusCode, ApiError error, string? allow = null)
        => new(statusCode, JsonSerializer.SerializeToUtf8Bytes(error, ControlJson.Default.ApiError), allow);

    /// <summary>A refusal by the HTTP layer itself (bad request, unknown path, wrong method).</summary>
    public static HttpResponse Refuse(int statusCode, string message, string? allow = null)
        => Error(statusCode, new ApiError("HttpError", ReasonPhrase(statusCode), message), allow);

    /// <summary>The bytes on the wire; every response closes the connection (one request per connection).</summary>
    public byte[] Encode()
    {
        var head = new StringBuilder()
            .Append("HTTP/1.1 ").Append(StatusCode).Append(' ').Append(ReasonPhrase(StatusCode)).Append("\r\n")
            .Append("Server: pvhvm-host\r\n")
            .Append("Connection: close\r\n");
        if (Body.Length > 0)
        {
            head.Append("Content-Type: application/json\r\n");
        }

        if (Allow is not null)
        {
            head.Append("Allow: ").Append(Allow).Append("\r\n");
        }

        head.Append("Content-Length: ").Append(Body.Length).Append("\r\n\r\n");
        return [.. Encoding.ASCII.GetBytes(head.ToString()), .. Body];
    }

    public static string ReasonPhrase(int statusCode) => statusCode switch
    {
        200 => "OK",
        204 => "No Content",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        409 => "Conflict",
        413 => "Content Too Large",
        414 => "URI Too Long",
        415 => "Unsupported Media Type",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        503 => "Service Unavailable",
        505 => "HTTP Version Not Supported",
        _ => "Status",
    };
}
