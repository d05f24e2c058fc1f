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

    /// <summary>
    /// <paramref name="commandLine"/> with the VMM's own kernel parameters added: before a <c>--</c>, after which Linux
    /// hands everything to init, else at the end.
    /// </summary>
    public static string WithKernelParameters(string commandLine, IReadOnlyList<string> parameters)
    {
        if (parameters.Count == 0)
        {
            return commandLine;
        }

        var words = commandLine.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var initArguments = Array.IndexOf(words, "--");
        var ours = string.Join(' ', parameters);
        return initArguments < 0
            ? commandLine.Length == 0 ? ours : $"{commandLine} {ours}"
            : string.Join(' ', [.. words[..initArguments], ours, .. words[initArguments..]]);
    }

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
