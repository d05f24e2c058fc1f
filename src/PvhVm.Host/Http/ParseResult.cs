namespace PvhVm.Host.Http;

internal enum ParseStatus
{
    /// <summary>More bytes are needed.</summary>
    Incomplete,
    Complete,
    /// <summary>The bytes can never become a request this server takes: answer <see cref="ParseResult.StatusCode"/> and close.</summary>
    Invalid,
}

/// <summary>What <see cref="HttpRequestParser"/> made of the bytes so far.</summary>
internal readonly record struct ParseResult(ParseStatus Status, HttpRequest? Request, int StatusCode, string? Error)
{
    public static ParseResult Incomplete { get; } = new(ParseStatus.Incomplete, null, 0, null);

    public static ParseResult Done(HttpRequest request) => new(ParseStatus.Complete, request, 0, null);

    public static ParseResult Refuse(int statusCode, string error) => new(ParseStatus.Invalid, null, statusCode, error);
}
