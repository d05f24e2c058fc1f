namespace PvhVm.Host.Http;

/// <summary>One parsed HTTP/1.x request. Header names are case-insensitive; query values are percent-decoded.</summary>
internal sealed record HttpRequest(
    string Method,
    string Path,
    IReadOnlyDictionary<string, string> Query,
    IReadOnlyDictionary<string, string> Headers,
    byte[] Body);
