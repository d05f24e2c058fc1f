using System.Text;
using PvhVm.Core.Tests.Reliability.Fuzzing;
using PvhVm.Host.Http;

namespace PvhVm.Core.Tests.HostProcess;

/// <summary>The host's HTTP/1.1 request parser: what it takes, what it refuses, and that no input makes it throw.</summary>
public sealed class HttpRequestParserTests
{
    private static readonly string[] Seeds =
    [
        "GET /vm HTTP/1.1\r\nHost: localhost\r\n\r\n",
        "PUT /vm/actions HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 18\r\n\r\n{\"action\":\"start\"}",
        "GET /vm/console?after=12&wait=1000&tail=%35 HTTP/1.1\r\nHost: localhost\r\nAccept: */*\r\n\r\n",
        "PUT /vm/console/input HTTP/1.0\r\nContent-Type: application/json\r\nContent-Length: 13\r\n\r\n{\"text\":\"a\\n\"}",
        "DELETE /vm HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
        "PUT /vm/checkpoint HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 26\r\n\r\n{\"path\":\"/tmp/checkpoint\"}",
    ];

    [Fact]
    public void AWellFormedRequestParsesIntoMethodPathQueryHeadersAndBody()
    {
        var result = HttpRequestParser.Parse(Encoding.ASCII.GetBytes(Seeds[1]));
        Assert.Equal(ParseStatus.Complete, result.Status);
        var request = result.Request!;
        Assert.Equal(("PUT", "/vm/actions"), (request.Method, request.Path));
        Assert.Equal("application/json", request.Headers["content-type"]);
        Assert.Equal("{\"action\":\"start\"}", Encoding.ASCII.GetString(request.Body));

        var query = HttpRequestParser.Parse(Encoding.ASCII.GetBytes(Seeds[2])).Request!.Query;
        Assert.Equal(("12", "1000", "5"), (query["after"], query["wait"], query["tail"]));
    }

    [Fact]
    public void EveryPrefixOfARequestIsIncompleteUntilItsLastByte()
    {
        var bytes = Encoding.ASCII.GetBytes(Seeds[1]);
        for (var length = 0; length < bytes.Length; length++)
        {
            Assert.Equal(ParseStatus.Incomplete, HttpRequestParser.Parse(bytes.AsSpan(0, length)).Status);
        }

        Assert.Equal(ParseStatus.Complete, HttpRequestParser.Parse(bytes).Status);
    }

    [Theory]
    [InlineData("GET /vm HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400)]
    [InlineData("GET /vm HTTP/1.1\r\nContent-Length: 1, 2\r\n\r\n", 400)]
    [InlineData("GET /vm HTTP/1.1\r\nContent-Length: 9999999999\r\n\r\n", 400)]
    [InlineData("GET /vm HTTP/1.1\r\nContent-Length: 65537\r\n\r\n", 413)]
    [InlineData("GET /vm HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n", 501)]
    [InlineData("GET /vm HTTP/1.1\r\n: empty name\r\n\r\n", 400)]
    [InlineData("GET /vm HTTP/1.1\r\nName : space before colon\r\n\r\n", 400)]
    [InlineData("GET  /vm HTTP/1.1\r\n\r\n", 400)]
    [InlineData("GET /vm\r\n\r\n", 400)]
    [InlineData("GET /vm HTTP/1.1 extra\r\n\r\n", 400)]
    [InlineData("GET /vm HTTP/3\r\n\r\n", 505)]
    [InlineData("GET /vm HTTP/1.1\r\nX: a\rb\r\n\r\n", 400)]
    [InlineData("G3T /vm HTTP/1.1\r\n\r\n", 400)]
    [InlineData("\r\n\r\n", 400)]
    public void MalformedHeadsAreRefusedWithTheirStatus(string request, int status)
    {
        var result = HttpRequestParser.Parse(Encoding.Latin1.GetBytes(request));
        Assert.Equal((ParseStatus.Invalid, status), (result.Status, result.StatusCode));
    }

    [Fact]
    public void AHeadLongerThanTheLimitIsRefusedBeforeItEnds()
    {
        var result = HttpRequestParser.Parse(Encoding.ASCII.GetBytes("GET /vm HTTP/1.1\r\nX: " + new string('a', HttpRequestParser.MaxHeadBytes)));
        Assert.Equal((ParseStatus.Invalid, 431), (result.Status, result.StatusCode));
    }

    [Fact]
    public void FiveThousandMutantsEachParseRefuseOrWaitAndNeverThrow() => Fuzz(inputs: 5000, randomSeed: 71);

    [Fact]
    [Trait("Category", "Slow")]
    public void TwoHundredThousandMutantsEachParseRefuseOrWaitAndNeverThrow() => Fuzz(inputs: 200_000, randomSeed: 72);

    private static byte[] InsertByte(byte[] bytes, int at, byte value) => [.. bytes.AsSpan(0, at), value, .. bytes.AsSpan(at)];

    /// <summary>
    /// Byte-level mutants (the kernel-image fuzzer's mutator) and HTTP-aware ones (a separator, CR, LF or NUL dropped in
    /// anywhere): every result is a request, "incomplete" or a 4xx/5xx, never an exception.
    /// </summary>
    private static void Fuzz(int inputs, int randomSeed)
    {
        var seeds = Seeds.Select((text, i) => new FuzzSeed($"http-{i}", Encoding.ASCII.GetBytes(text), [])).ToArray();
        var mutator = new Mutator(randomSeed);
        var random = new Random(randomSeed);
        byte[] separators = [(byte)' ', (byte)'\r', (byte)'\n', (byte)':', (byte)'?', (byte)'&', (byte)'=', (byte)'%', 0, 0x7F, 0xFF, (byte)','];
        var outcomes = new Dictionary<string, int>();
        for (var i = 0; i < inputs; i++)
        {
            var seed = seeds[random.Next(seeds.Length)];
            var bytes = random.Next(2) == 0
                ? mutator.Mutate(seed, seeds[random.Next(seeds.Length)])
                : InsertByte(seed.Bytes, random.Next(seed.Bytes.Length + 1), separators[random.Next(separators.Length)]);
            var result = HttpRequestParser.Parse(bytes);
            var outcome = result.Status switch
            {
                ParseStatus.Invalid => $"refused {result.StatusCode}",
                ParseStatus.Complete => "parsed",
                _ => "incomplete",
            };
            outcomes[outcome] = outcomes.GetValueOrDefault(outcome) + 1;
            if (result.Status == ParseStatus.Invalid)
            {
                Assert.InRange(result.StatusCode, 400, 599);
                Assert.False(string.IsNullOrEmpty(result.Error));
            }
        }

        // The mutants reach every outcome: the campaign exercises refusals of several kinds, not one shallow path.
        Assert.True(outcomes.ContainsKey("parsed") && outcomes.ContainsKey("incomplete") && outcomes.Keys.Count(k => k.StartsWith("refused", StringComparison.Ordinal)) >= 2,
            string.Join(", ", outcomes.Select(pair => $"{pair.Key}: {pair.Value}")));
    }
}
