using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using PvhVm.Core.Boot;
using PvhVm.Core.Boot.Acpi;
using static PvhVm.Core.Tests.Boot.BootTestSupport;
using PvhVm.Core.Memory;

namespace PvhVm.Core.Tests.Boot;

/// <summary>
/// Hands every table to ACPICA's disassembler (iasl, Debian package acpica-tools), the same parser family Linux
/// uses. Installs the package when missing, so a fresh CI machine runs this too.
/// </summary>
public sealed class IaslDisassemblyTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(4)]
    public void IaslDisassemblesEveryTableWithoutErrorsOrWarnings(int cpus)
    {
        var iasl = HostTools.Require("iasl");
        using var memory = GuestMemory.Allocate(64 * MiB);
        var plan = PvhBootLoader.Load(memory, TestKernel.Standard(), Parameters(cpus: cpus));
        var tables = AcpiWalker.FromStartInfo(memory, plan.StartInfoAddress);

        var directory = Directory.CreateTempSubdirectory("pvhvm-iasl-");
        try
        {
            // The RSDP has no length-bearing header, so iasl cannot load it from a file; AcpiWalker checks it.
            foreach (var (signature, _, bytes) in tables.All)
            {
                var path = Path.Combine(directory.FullName, $"{signature.ToLowerInvariant()}.dat");
                File.WriteAllBytes(path, bytes);
                var (exitCode, output) = Run(iasl, directory.FullName, "-d", path);
                Assert.True(exitCode == 0, $"iasl -d {signature} failed ({exitCode}):\n{output}");
                Assert.DoesNotMatch(@"(?i)\b(error|warning)s?\b(?!s?\s*[,:]?\s*0\b)", OutputWithoutSummary(output));
                var listing = File.ReadAllText(Path.ChangeExtension(path, ".dsl"));
                Assert.Contains($"\"{signature}\"", listing);

                // iasl annotates the listing rather than failing: "Incorrect checksum", "**** ..." for bad lengths.
                Assert.DoesNotContain("Incorrect", listing);
                Assert.DoesNotContain("****", listing);
                if (signature == "APIC")
                {
                    Assert.Equal(cpus, CountOccurrences(listing, "Processor Local APIC"));
                }

                if (signature == "DSDT")
                {
                    AssertDescribesCom1(listing);
                    AssertDeclaresS5(listing);
                }

                if (signature == "FACP")
                {
                    AssertNamesSleepAndResetRegisters(listing);
                }
            }
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    /// <summary>COM1 as Linux's 8250 PNP driver finds it: PNP0501 with ports 0x3F8-0x3FF and ISA IRQ 4, read back by iasl.</summary>
    private static void AssertDescribesCom1(string listing)
    {
        var body = CodeOnOneLine(listing);
        foreach (var expected in new[]
        {
            @"Scope \(\\_SB\) \{ Device \(COM1\) \{ Name \(_HID, EisaId \(""PNP0501""\) ?\)",
            @"Name \(_UID, Zero\)",
            @"IO \(Decode16, 0x03F8, 0x03F8, 0x01, 0x08, \)",
            @"IRQNoFlags \(\) \{4\}",
        })
        {
            Assert.True(Regex.IsMatch(body, expected), $"'{expected}' not in the DSDT listing: {body}");
        }
    }

    /// <summary>\_S5_ as Linux's acpi_get_sleep_type_data reads it: a package whose first element is SLP_TYP 5.</summary>
    private static void AssertDeclaresS5(string listing)
    {
        var body = CodeOnOneLine(listing);
        const string expected = @"Name \(_S5, Package \(0x04\) \{ 0x05, Zero, Zero, Zero \}\)";
        Assert.True(Regex.IsMatch(body, expected), $"'{expected}' not in the DSDT listing: {body}");
    }

    /// <summary>The hardware-reduced power-off and reset registers, as ACPICA (and so Linux) decodes the FADT.</summary>
    private static void AssertNamesSleepAndResetRegisters(string listing)
    {
        var fields = Regex.Replace(listing, @"^\[[0-9A-F]+h [0-9]+ +[0-9]+\] +", "", RegexOptions.Multiline);
        Assert.Matches(@"Reset Register Supported \(V2\) : 1", fields);
        Assert.Matches(@"Hardware Reduced \(V5\) : 1", fields);
        foreach (var (name, port) in new[] { ("Reset Register", 0x602), ("Sleep Control Register", 0x600), ("Sleep Status Register", 0x601) })
        {
            var block = Regex.Match(fields, Regex.Escape(name) + @" : \[Generic Address Structure\]\s*\n(.*\n){5}");
            Assert.True(block.Success, $"no {name} in the FADT listing:\n{fields}");
            Assert.Matches(@"Space ID : 01 \[SystemIO\]", block.Value);
            Assert.Matches(@"Bit Width : 08", block.Value);
            Assert.Matches(@"Bit Offset : 00", block.Value);
            Assert.Matches(@"Access Width : 01 \[Byte Access:8\]", block.Value);
            Assert.Matches($"Address : {port:X16}", block.Value);
        }

        Assert.Matches(@"Value to cause reset : 01", fields);
    }

    /// <summary>The listing without iasl's comments, on one line with single spaces.</summary>
    private static string CodeOnOneLine(string listing)
    {
        var code = listing.Split('\n').Where(l => !l.TrimStart().StartsWith('*') && !l.TrimStart().StartsWith("/*"))
            .Select(l => Regex.Replace(Regex.Replace(l, @"/\*.*?\*/", ""), "//.*$", ""));
        return Regex.Replace(string.Join(' ', code), @"\s+", " ");
    }

    /// <summary>Drops iasl's banner and its "N Errors, M Warnings" line so only real diagnostics remain.</summary>
    private static string OutputWithoutSummary(string output)
        => string.Join('\n', output.Split('\n').Where(l => !l.Contains("Compiler/Disassembler") && !l.Contains("Copyright")));

    private static int CountOccurrences(string text, string value)
    {
        var count = 0;
        for (var at = text.IndexOf(value, StringComparison.Ordinal); at >= 0; at = text.IndexOf(value, at + value.Length, StringComparison.Ordinal))
        {
            count++;
        }

        return count;
    }

    private static (int ExitCode, string Output) Run(string program, string workingDirectory, params string[] arguments)
    {
        var start = new ProcessStartInfo(program) { WorkingDirectory = workingDirectory, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var output = new StringBuilder(process.StandardOutput.ReadToEnd());
        Assert.True(process.WaitForExit(TimeSpan.FromMinutes(10)), $"{program} did not finish.");
        output.Append(stderr.Result);
        return (process.ExitCode, output.ToString());
    }
}
