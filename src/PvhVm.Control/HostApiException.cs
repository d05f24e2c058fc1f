namespace PvhVm.Control;

/// <summary>A host process refused a request: its HTTP status and the error it answered with.</summary>
public sealed class HostApiException(int statusCode, ApiError error) : Exception(error.Message)
{
    public int StatusCode { get; } = statusCode;

    public ApiError Error { get; } = error;
}
