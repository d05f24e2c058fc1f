using PvhVm.Core.Interop;

namespace PvhVm.Core.Kernel;

/// <summary>Checks that a path names a regular, readable file of sane size before mapping it.</summary>
internal static class ImageFile
{
    /// <summary>Kernel images are tens of MiB; anything near this is not one.</summary>
    public const long MaximumSize = 1L << 30;

    public static ImageBytes Map(string path)
    {
        // statx by path, not open: opening a FIFO would block.
        int error = Libc.Statx(Libc.AT_FDCWD, path, 0, Libc.STATX_TYPE | Libc.STATX_SIZE, out var status) == 0
            ? 0 : System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
        int fileType = status.Mode & Libc.S_IFMT;
        ulong size = status.Size;
        if (error is Libc.ENOENT or Libc.ENOTDIR)
        {
            throw new KernelImageException(KernelImageErrorKind.NotFound, path, "no such file");
        }

        if (error != 0)
        {
            throw new KernelImageException(KernelImageErrorKind.Unreadable, path, Libc.ErrorText(error));
        }

        if (fileType != Libc.S_IFREG)
        {
            string what = fileType == Libc.S_IFDIR ? "a directory" : "not a regular file (FIFO, socket or device)";
            throw new KernelImageException(KernelImageErrorKind.NotAFile, path, $"is {what}");
        }

        if (size == 0)
        {
            throw new KernelImageException(KernelImageErrorKind.NotAKernelImage, path, "the file is empty");
        }

        if (size > MaximumSize)
        {
            throw new KernelImageException(KernelImageErrorKind.TooLarge, path, $"{size} bytes is above the {MaximumSize}-byte limit for kernel images");
        }

        FileStream stream;
        try
        {
            stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, bufferSize: 1);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new KernelImageException(KernelImageErrorKind.NotFound, path, "no such file", e);
        }
        catch (Exception e) when (e is UnauthorizedAccessException or IOException)
        {
            throw new KernelImageException(KernelImageErrorKind.Unreadable, path, e.Message, e);
        }

        try
        {
            return ImageBytes.Map(stream);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or OverflowException)
        {
            stream.Dispose();
            throw new KernelImageException(KernelImageErrorKind.Unreadable, path, $"cannot map the file: {e.Message}", e);
        }
    }
}
