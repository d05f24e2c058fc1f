using System.Text;

namespace PvhVm.Core.Boot;

/// <summary>The kernel command line as the guest reads it: UTF-8 bytes with a terminating NUL, within the kernel's limit.</summary>
internal static class CommandLine
{
    /// <summary>
    /// The longest command line, without NUL, for <paramref name="kernelLimit"/> (bzImage cmdline_size, which excludes
    /// the NUL): the kernel's own limit when it declares one, else <see cref="Layout.DefaultCommandLineLimit"/>,
    /// never more than the space reserved at <see cref="Layout.CommandLineAddress"/>.
    /// </summary>
    public static int MaxLength(int? kernelLimit)
        => Math.Clamp(kernelLimit ?? Layout.DefaultCommandLineLimit, 0, Layout.CommandLineCapacity - 1);

    /// <summary>The NUL-terminated bytes to copy into the guest.</summary>
    public static byte[] Encode(string commandLine, int? kernelLimit)
    {
        if (commandLine.Contains('\0'))
        {
            throw new BootException(BootErrorKind.InvalidCommandLine, "The kernel command line contains a NUL character.");
        }

        var max = MaxLength(kernelLimit);
        var length = Encoding.UTF8.GetByteCount(commandLine);
        if (length > max)
        {
            throw new BootException(BootErrorKind.CommandLineTooLong,
                $"The kernel command line is {length} bytes; the limit is {max} bytes{(kernelLimit is null ? " (default)" : " (declared by the kernel)")}.");
        }

        var bytes = new byte[length + 1];
        Encoding.UTF8.GetBytes(commandLine, bytes);
        return bytes;
    }
}
