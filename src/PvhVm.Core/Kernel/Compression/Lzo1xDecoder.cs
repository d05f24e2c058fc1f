namespace PvhVm.Core.Kernel;

/// <summary>
/// LZO1X decompression, written by hand because no maintained NuGet package provides it. Follows the stream
/// grammar of the kernel's Documentation/staging/lzo.rst (lib/lzo/lzo1x_decompress_safe.c): every read and
/// write is bounds-checked, so damaged input ends in an error, never an overrun.
/// </summary>
internal static class Lzo1xDecoder
{
    /// <summary>Decodes one LZO1X stream into <paramref name="output"/>; returns the number of bytes written.</summary>
    public static int Decode(ReadOnlySpan<byte> input, Span<byte> output)
    {
        var state = new DecodeState(input, output);
        state.Run();
        return state.Written;
    }

    private ref struct DecodeState(ReadOnlySpan<byte> input, Span<byte> output)
    {
        private readonly ReadOnlySpan<byte> _in = input;
        private readonly Span<byte> _out = output;
        private int _ip;
        private int _op;

        public readonly int Written => _op;

        public void Run()
        {
            // Literals copied by the previous instruction: 0, 1-3, or 4 meaning "4 or more".
            int literals = 0;
            int first = Byte();
            if (first > 17)
            {
                int count = first - 17;
                CopyLiterals(count);
                literals = Math.Min(count, 4);
            }
            else
            {
                _ip--;
            }

            while (true)
            {
                int t = Byte();
                int length, distance, trailing;
                if (t < 16)
                {
                    if (literals == 0)
                    {
                        CopyLiterals(3 + (t != 0 ? t : 15 + Extension()));
                        literals = 4;
                        continue;
                    }

                    distance = (Byte() << 2) + ((t >> 2) & 3) + (literals == 4 ? 2049 : 1);
                    length = literals == 4 ? 3 : 2;
                    trailing = t & 3;
                }
                else if (t < 32)
                {
                    length = 2 + ((t & 7) != 0 ? t & 7 : 7 + Extension());
                    int word = Word();
                    distance = 16384 + ((t & 8) << 11) + (word >> 2);
                    trailing = word & 3;
                    if (distance == 16384)
                    {
                        if (_ip != _in.Length)
                        {
                            throw Damaged("data follows the end-of-stream marker");
                        }

                        return;
                    }
                }
                else if (t < 64)
                {
                    length = 2 + ((t & 31) != 0 ? t & 31 : 31 + Extension());
                    int word = Word();
                    distance = (word >> 2) + 1;
                    trailing = word & 3;
                }
                else
                {
                    length = t < 128 ? 3 + ((t >> 5) & 1) : 5 + ((t >> 5) & 3);
                    distance = (Byte() << 3) + ((t >> 2) & 7) + 1;
                    trailing = t & 3;
                }

                CopyMatch(distance, length);
                CopyLiterals(trailing);
                literals = trailing;
            }
        }

        private int Byte()
        {
            if (_ip >= _in.Length)
            {
                throw Damaged("stream ends without an end-of-stream marker");
            }

            return _in[_ip++];
        }

        private int Word() => Byte() | (Byte() << 8);

        // A zero operand is extended by 255 per zero byte, then the first non-zero byte.
        private int Extension()
        {
            long value = 0;
            int b;
            while ((b = Byte()) == 0)
            {
                value += 255;
                if (value > _out.Length)
                {
                    throw Damaged("a length runs past the output");
                }
            }

            return (int)(value + b);
        }

        private void CopyLiterals(int count)
        {
            if (count > _in.Length - _ip || count > _out.Length - _op)
            {
                throw Damaged("a literal run overruns the input or the output");
            }

            _in.Slice(_ip, count).CopyTo(_out[_op..]);
            _ip += count;
            _op += count;
        }

        private void CopyMatch(int distance, int length)
        {
            if (distance > _op || length > _out.Length - _op)
            {
                throw Damaged($"a match (distance {distance}, length {length}) reaches outside the output");
            }

            // Overlapping matches repeat recent bytes, so copy forwards one byte at a time.
            int from = _op - distance;
            for (int i = 0; i < length; i++)
            {
                _out[_op + i] = _out[from + i];
            }

            _op += length;
        }

        private static ImageDataException Damaged(string message) => new(KernelImageErrorKind.DecompressionFailed, $"LZO1X stream: {message}");
    }
}
