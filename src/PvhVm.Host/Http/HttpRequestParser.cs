using System.Text;

namespace PvhVm.Host.Http;

/// <summary>
/// A strict HTTP/1.x request parser for the control API, in the spirit of Firecracker's micro_http: a request line,
/// CRLF-terminated headers, a Content-Length body; nothing else. Everything is bounded and every byte is checked, so
/// whatever a client sends ends as a request, "need more" or a 4xx/5xx status, never an exception.
/// </summary>
internal static class HttpRequestParser
{
    public const int MaxHeadBytes = 8 * 1024;
    public const int MaxBodyBytes = 64 * 1024;
    public const int MaxHeaders = 64;
    public const int MaxTargetLength = 2048;

    private static ReadOnlySpan<byte> HeadEnd => "\r\n\r\n"u8;

    /// <summary>Parses one request from the start of <paramref name="buffer"/> (everything the client sent so far).</summary>
    public static ParseResult Parse(ReadOnlySpan<byte> buffer)
    {
        var headEnd = buffer.IndexOf(HeadEnd);
        if (headEnd < 0)
        {
            return buffer.Length > MaxHeadBytes ? ParseResult.Refuse(431, "The request head is too large.") : ParseResult.Incomplete;
        }

        if (headEnd > MaxHeadBytes)
        {
            return ParseResult.Refuse(431, "The request head is too large.");
        }

        var head = buffer[..headEnd];
        foreach (var b in head)
        {
            // Printable ASCII, tab, and the CR LF that end lines; a lone CR or LF is caught when the lines are split.
            if (b is (< 0x20 or > 0x7E) and not ((byte)'\t' or (byte)'\r' or (byte)'\n'))
            {
                return ParseResult.Refuse(400, "The request head holds a byte that is not printable ASCII.");
            }
        }

        var lines = Encoding.ASCII.GetString(head).Split("\r\n");
        if (lines.Any(line => line.Contains('\r') || line.Contains('\n')))
        {
            return ParseResult.Refuse(400, "A line of the request head does not end with CRLF.");
        }

        var requestLine = ParseRequestLine(lines[0]);
        if (requestLine.Error is { } lineError)
        {
            return lineError;
        }

        var headers = ParseHeaders(lines.AsSpan(1), out var headerError);
        if (headerError is { } error)
        {
            return error;
        }

        var bodyLength = BodyLength(headers, out var lengthError);
        if (lengthError is { } badLength)
        {
            return badLength;
        }

        var bodyStart = headEnd + HeadEnd.Length;
        if (buffer.Length - bodyStart < bodyLength)
        {
            return ParseResult.Incomplete;
        }

        var (path, query) = SplitTarget(requestLine.Target!);
        return ParseResult.Done(new HttpRequest(requestLine.Method!, path, query, headers, buffer.Slice(bodyStart, bodyLength).ToArray()));
    }

    private readonly record struct RequestLine(string? Method, string? Target, ParseResult? Error);

    private static RequestLine ParseRequestLine(string line)
    {
        var parts = line.Split(' ');
        if (parts.Length != 3)
        {
            return new(null, null, ParseResult.Refuse(400, "The request line is not 'METHOD target HTTP/1.1'."));
        }

        var (method, target, version) = (parts[0], parts[1], parts[2]);
        if (method.Length is 0 or > 16 || !method.All(char.IsAsciiLetterUpper))
        {
            return new(null, null, ParseResult.Refuse(400, "The method is not an upper-case token."));
        }

        if (target.Length is 0 or > MaxTargetLength || target[0] != '/')
        {
            return new(null, null, ParseResult.Refuse(target.Length > MaxTargetLength ? 414 : 400, "The target is not an absolute path of at most 2048 characters."));
        }

        if (version is not ("HTTP/1.1" or "HTTP/1.0"))
        {
            return new(null, null, version.StartsWith("HTTP/", StringComparison.Ordinal)
                ? ParseResult.Refuse(505, "Only HTTP/1.0 and HTTP/1.1 are served.")
                : ParseResult.Refuse(400, "The request line does not end with an HTTP version."));
        }

        return new(method, target, null);
    }

    private static Dictionary<string, string> ParseHeaders(ReadOnlySpan<string> lines, out ParseResult? error)
    {
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        error = null;
        if (lines.Length > MaxHeaders)
        {
            error = ParseResult.Refuse(431, $"More than {MaxHeaders} header fields.");
            return headers;
        }

        foreach (var line in lines)
        {
            var colon = line.IndexOf(':');
            // No name, or a name with whitespace before the colon or a folded line (RFC 9112 says reject both).
            if (colon <= 0 || line.AsSpan(0, colon).ContainsAnyExcept(TokenCharacters))
            {
                error = ParseResult.Refuse(400, "A header field is not 'Name: value'.");
                return headers;
            }

            var name = line[..colon];
            var value = line[(colon + 1)..].Trim(' ', '\t');
            if (headers.TryGetValue(name, out var earlier))
            {
                // Repeated fields combine with a comma (RFC 9110 5.3); Content-Length is checked for disagreement below.
                value = earlier + "," + value;
            }

            headers[name] = value;
        }

        return headers;
    }

    private static readonly System.Buffers.SearchValues<char> TokenCharacters =
        System.Buffers.SearchValues.Create("!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz");

    private static int BodyLength(Dictionary<string, string> headers, out ParseResult? error)
    {
        error = null;
        if (headers.ContainsKey("Transfer-Encoding"))
        {
            error = ParseResult.Refuse(501, "Transfer-Encoding is not served: send a Content-Length.");
            return 0;
        }

        if (!headers.TryGetValue("Content-Length", out var field))
        {
            return 0;
        }

        var values = field.Split(',', StringSplitOptions.TrimEntries).Distinct().ToArray();
        if (values.Length != 1 || values[0].Length is 0 or > 9 || !values[0].All(char.IsAsciiDigit))
        {
            error = ParseResult.Refuse(400, "Content-Length is not one decimal number.");
            return 0;
        }

        var length = int.Parse(values[0], System.Globalization.CultureInfo.InvariantCulture);
        if (length > MaxBodyBytes)
        {
            error = ParseResult.Refuse(413, $"The body is larger than {MaxBodyBytes} bytes.");
            return 0;
        }

        return length;
    }

    private static (string Path, Dictionary<string, string> Query) SplitTarget(string target)
    {
        var query = new Dictionary<string, string>(StringComparer.Ordinal);
        var mark = target.IndexOf('?');
        if (mark < 0)
        {
            return (target, query);
        }

        foreach (var pair in target[(mark + 1)..].Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var equals = pair.IndexOf('=');
            var key = Uri.UnescapeDataString(equals < 0 ? pair : pair[..equals]);
            // The last of repeated parameters wins.
            query[key] = equals < 0 ? "" : Uri.UnescapeDataString(pair[(equals + 1)..]);
        }

        return (target[..mark], query);
    }
}
