using System.Buffers.Binary;

namespace PvhVm.Core.Tests.Kernel;

/// <summary>Wraps a payload in a bzImage: a real kernel's setup code and header, with payload_offset/length rewritten.</summary>
internal static class BzImageBuilder
{
    public static byte[] Wrap(byte[] realBzImage, byte[] payload)
    {
        int setupSectors = realBzImage[0x1f1] == 0 ? 4 : realBzImage[0x1f1];
        int protectedMode = (setupSectors + 1) * 512;
        const int payloadOffset = 0x100;   // some decompressor code sits before the payload in real images
        var image = new byte[protectedMode + payloadOffset + payload.Length + 0x40];
        realBzImage.AsSpan(0, protectedMode + payloadOffset).CopyTo(image);
        payload.CopyTo(image, protectedMode + payloadOffset);
        BinaryPrimitives.WriteUInt32LittleEndian(image.AsSpan(0x248), payloadOffset);
        BinaryPrimitives.WriteUInt32LittleEndian(image.AsSpan(0x24c), (uint)payload.Length);
        return image;
    }
}
