using System.IO.MemoryMappedFiles;

namespace PvhVm.Core.Kernel;

/// <summary>The bytes of an ELF image: a read-only file mapping (pages load only when touched) or a decompressed array.</summary>
internal abstract class ImageBytes : IDisposable
{
    public abstract ReadOnlySpan<byte> Span { get; }

    public abstract void Dispose();

    public static ImageBytes Of(byte[] bytes) => new ArrayBytes(bytes);

    public static ImageBytes Map(FileStream file) => new MappedBytes(file);

    private sealed class ArrayBytes(byte[] bytes) : ImageBytes
    {
        public override ReadOnlySpan<byte> Span => bytes;

        public override void Dispose()
        {
        }
    }

    private sealed unsafe class MappedBytes : ImageBytes
    {
        private readonly MemoryMappedFile _file;
        private readonly MemoryMappedViewAccessor _view;
        private readonly byte* _pointer;
        private readonly int _length;
        private bool _disposed;

        public MappedBytes(FileStream stream)
        {
            _length = checked((int)stream.Length);
            _file = MemoryMappedFile.CreateFromFile(stream, null, 0, MemoryMappedFileAccess.Read, HandleInheritability.None, leaveOpen: false);
            _view = _file.CreateViewAccessor(0, _length, MemoryMappedFileAccess.Read);
            byte* pointer = null;
            _view.SafeMemoryMappedViewHandle.AcquirePointer(ref pointer);
            _pointer = pointer + _view.PointerOffset;
        }

        public override ReadOnlySpan<byte> Span => new(_pointer, _length);

        public override void Dispose()
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            _view.SafeMemoryMappedViewHandle.ReleasePointer();
            _view.Dispose();
            _file.Dispose();
        }
    }
}
