namespace PvhVm.Core.Kernel;

/// <summary>Raised by the parsers, which see bytes but not paths; KernelImage.Open adds the path.</summary>
internal sealed class ImageDataException(KernelImageErrorKind kind, string message, Exception? innerException = null)
    : Exception(message, innerException)
{
    public KernelImageErrorKind Kind { get; } = kind;
}
