namespace PvhVm.Core.Boot;

/// <summary>The kernel, initrd or parameters cannot be booted as asked; nothing has run.</summary>
public sealed class BootException : Exception
{
    public BootException(BootErrorKind kind, string message, Exception? inner = null) : base(message, inner)
    {
        Kind = kind;
    }

    public BootErrorKind Kind { get; }
}
