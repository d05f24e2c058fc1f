namespace PvhVm.Core.Kernel;

/// <summary>One-call inspection for callers that only want the description, not the loadable image.</summary>
public static class KernelInspector
{
    /// <summary>Opens, describes and closes an image; bad input throws <see cref="KernelImageException"/>.</summary>
    public static BootInfo Inspect(string path)
    {
        using var image = KernelImage.Open(path);
        return image.Info;
    }
}
