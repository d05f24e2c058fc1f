using Microsoft.Win32.SafeHandles;
using PvhVm.Core.Interop;

namespace PvhVm.Core.Kernel;

/// <summary>Opens a kernel image (a regular, readable file of sane size) and maps it read-only.</summary>
internal static class ImageFile
{
    /// <summary>Kernel images are tens of MiB; anything near this is not one.</summary>
    public const long MaximumSize = 1L << 30;

    public static ImageBytes Map(string path)
    {
        SafeFileHandle handle;
        ulong size;
        try
        {
            handle = RegularFile.Open(path, out size);
        }
        catch (RegularFileException e)
        {
            var kind = e.Problem switch
            {
                RegularFileProblem.NotFound => KernelImageErrorKind.NotFound,
                RegularFileProblem.NotARegularFile => KernelImageErrorKind.NotAFile,
                _ => KernelImageErrorKind.Unreadable,
            };
            throw new KernelImageException(kind, path, e.Message, e);
        }

        try
        {
            if (size == 0)
            {
                throw new KernelImageException(KernelImageErrorKind.NotAKernelImage, path, "the file is empty");
            }

            if (size > MaximumSize)
            {
                throw new KernelImageException(KernelImageErrorKind.TooLarge, path, $"{size} bytes is above the {MaximumSize}-byte limit for kernel images");
            }

            return ImageBytes.Map(new FileStream(handle, FileAccess.Read, bufferSize: 0));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or OverflowException)
        {
            handle.Dispose();
            throw new KernelImageException(KernelImageErrorKind.Unreadable, path, $"cannot map the file: {e.Message}", e);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }
}
