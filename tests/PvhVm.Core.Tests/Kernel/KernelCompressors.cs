using System.Diagnostics;
using PvhVm.Core.Kernel;

namespace PvhVm.Core.Tests.Kernel;

/// <summary>
/// The command-line compressors, run the way the kernel build runs them (arch/x86/boot/compressed/Makefile,
/// scripts/Makefile.lib, scripts/xz_wrap.sh), producing bzImage payloads: the compressed stream followed by
/// the decompressed size as a little-endian u32 (gzip's own trailer already is that size).
/// </summary>
internal static class KernelCompressors
{
    public static readonly KernelCompression[] All =
    [
        KernelCompression.Gzip, KernelCompression.Bzip2, KernelCompression.Lzma, KernelCompression.Xz,
        KernelCompression.Lzo, KernelCompression.Lz4, KernelCompression.Zstd,
    ];

    /// <summary>The kernel's own flags.</summary>
    public static string[] KernelCommand(KernelCompression compression) => compression switch
    {
        KernelCompression.Gzip => ["gzip", "-n", "-9"],
        KernelCompression.Bzip2 => ["bzip2", "-9"],
        KernelCompression.Lzma => ["lzma", "-9"],
        KernelCompression.Xz => ["xz", "--check=crc32", "--x86", "--lzma2=,dict=32MiB"],
        KernelCompression.Lzo => ["lzop", "-9"],
        KernelCompression.Lz4 => ["lz4", "-l", "-12", "--favor-decSpeed"],
        KernelCompression.Zstd => ["zstd", "-22", "--ultra"],
        _ => throw new ArgumentOutOfRangeException(nameof(compression)),
    };

    /// <summary>The same container formats at fast levels, for 50 MB inputs (xz keeps its x86 filter, zstd its large window).</summary>
    public static string[] FastCommand(KernelCompression compression) => compression switch
    {
        KernelCompression.Gzip => ["gzip", "-n", "-1"],
        KernelCompression.Bzip2 => ["bzip2", "-1"],
        KernelCompression.Lzma => ["lzma", "-0"],
        KernelCompression.Xz => ["xz", "--check=crc32", "--x86", "--lzma2=preset=0,dict=32MiB"],
        KernelCompression.Lzo => ["lzop", "-1"],
        KernelCompression.Lz4 => ["lz4", "-l", "-1"],
        KernelCompression.Zstd => ["zstd", "-3", "--long=27"],
        _ => throw new ArgumentOutOfRangeException(nameof(compression)),
    };

    public static byte[] Payload(byte[] data, string[] command)
    {
        var compressed = Pipe(data, command);
        if (command[0] == "gzip")
        {
            return compressed;
        }

        return [.. compressed, .. BitConverter.GetBytes((uint)data.Length)];
    }

    /// <summary>Feeds <paramref name="input"/> to a program's stdin (compressing to stdout with -c) and returns its stdout.</summary>
    public static byte[] Pipe(byte[] input, string[] command)
    {
        var start = new ProcessStartInfo(HostTools.Require(command[0]))
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in command.Skip(1).Append("-c"))
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var output = new MemoryStream();
        var reading = process.StandardOutput.BaseStream.CopyToAsync(output);
        var errors = process.StandardError.ReadToEndAsync();
        process.StandardInput.BaseStream.Write(input);
        process.StandardInput.Close();
        reading.GetAwaiter().GetResult();
        if (!process.WaitForExit(TimeSpan.FromMinutes(5)))
        {
            process.Kill();
            throw new TimeoutException(string.Join(' ', command));
        }

        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{string.Join(' ', command)} exited {process.ExitCode}: {errors.GetAwaiter().GetResult()}");
        }

        return output.ToArray();
    }
}
