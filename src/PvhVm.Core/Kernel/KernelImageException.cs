namespace PvhVm.Core.Kernel;

/// <summary>The one exception type that kernel image reading throws for bad or unreadable input.</summary>
public sealed class KernelImageException : Exception
{
    public KernelImageException(KernelImageErrorKind kind, string path, string message, Exception? innerException = null)
        : base($"{path}: {message}", innerException)
    {
        Kind = kind;
        Path = path;
    }

    public KernelImageErrorKind Kind { get; }

    public string Path { get; }
}
