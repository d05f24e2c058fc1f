using PvhVm.Core.Devices;

namespace PvhVm.Core.Tests.Devices;

/// <summary>
/// Drives the controller the way Linux's i8042 driver does (drivers/input/serio/i8042.c: write the command to
/// 0x64, a parameter to 0x60, then poll the status register's output-full bit before reading 0x60).
/// </summary>
public sealed class I8042ControllerTests
{
    private const byte OutputFull = 0x01;
    private const byte SystemFlag = 0x04;
    private const byte CommandParameter = 0x08;
    private const byte KeyboardUnlocked = 0x10;

    private int _resets;
    private readonly I8042Controller _controller;

    public I8042ControllerTests()
    {
        _controller = new I8042Controller(() => _resets++);
    }

    private byte Status()
    {
        var data = new byte[1];
        _controller.Read(Layout.I8042CommandPort, data);
        return data[0];
    }

    private byte ReadData()
    {
        var data = new byte[1];
        _controller.Read(Layout.I8042DataPort, data);
        return data[0];
    }

    private void WriteCommand(byte command) => _controller.Write(Layout.I8042CommandPort, [command]);

    private void WriteData(byte value) => _controller.Write(Layout.I8042DataPort, [value]);

    /// <summary>i8042_command with one reply byte: fails the test where Linux would time out.</summary>
    private byte CommandWithReply(byte command)
    {
        WriteCommand(command);
        Assert.True((Status() & OutputFull) != 0, $"no reply to command 0x{command:x2}: Linux would time out");
        return ReadData();
    }

    [Fact]
    public void AtPowerOnTheStatusShowsAnIdleUnlockedControllerThatPassedPost()
    {
        Assert.Equal(KeyboardUnlocked | SystemFlag, Status());
        Assert.Equal(0, ReadData());
    }

    [Fact]
    public void SelfTestAnswers55AndTheInterfaceTestsAnswerAsAControllerWithOnlyAKeyboardPort()
    {
        Assert.Equal(0x55, CommandWithReply(0xAA));
        Assert.Equal(0x00, CommandWithReply(0xAB));
        Assert.Equal(0x01, CommandWithReply(0xA9));
        Assert.Equal(0, Status() & OutputFull);
    }

    [Fact]
    public void TheCommandByteReadsBackWhatWasWritten()
    {
        // Linux reads the CTR until two reads agree, then writes it back changed; "Can't read CTR" was this.
        Assert.Equal(0x05, CommandWithReply(0x20));
        Assert.Equal(0x05, CommandWithReply(0x20));

        WriteCommand(0x60);
        Assert.Equal(CommandParameter, Status() & CommandParameter);
        WriteData(0x47);
        Assert.Equal(0, Status() & CommandParameter);
        Assert.Equal(0, Status() & OutputFull);

        Assert.Equal(0x47, CommandWithReply(0x20));
    }

    [Fact]
    public void TheSystemFlagInTheStatusFollowsTheCommandByte()
    {
        WriteCommand(0x60);
        WriteData(0x00);
        Assert.Equal(KeyboardUnlocked, Status());
    }

    [Fact]
    public void TheOutputPortReadsBackWhatWasWritten()
    {
        WriteCommand(0xD1);
        WriteData(0xDF);
        Assert.Equal(0xDF, CommandWithReply(0xD0));
    }

    [Fact]
    public void KeyboardBytesAreAcknowledgedAndNotTakenAsParameters()
    {
        WriteData(0xF2);
        Assert.Equal(OutputFull, Status() & OutputFull);
        Assert.Equal(0xFA, ReadData());
        Assert.Equal(0x05, CommandWithReply(0x20));
    }

    [Fact]
    public void ANewCommandDiscardsTheUnreadAnswerOfTheLastOne()
    {
        WriteCommand(0xAA);
        Assert.Equal(0x05, CommandWithReply(0x20));
        Assert.Equal(0, Status() & OutputFull);
    }

    [Fact]
    public void PulseResetLineResetsAtOnceEvenMidCommandAndNothingElseDoes()
    {
        foreach (var command in new byte[] { 0x20, 0x60, 0xAA, 0xAB, 0xA9, 0xD0, 0xD1, 0xFD, 0xFF })
        {
            WriteCommand(command);
            WriteData(0xFE);
        }

        Assert.Equal(0, _resets);
        WriteCommand(0x60);
        WriteCommand(0xFE);
        Assert.Equal(1, _resets);
        _controller.Write(Layout.I8042CommandPort, [0xFE, 0x00]);
        Assert.Equal(2, _resets);
    }

    [Fact]
    public void WiderAccessesChangeNothing()
    {
        _controller.Write(Layout.I8042CommandPort, [0x60, 0x00]);
        _controller.Write(Layout.I8042DataPort, [0x00, 0x00]);
        var wide = new byte[] { 0xEE, 0xEE };
        _controller.Read(Layout.I8042CommandPort, wide);
        Assert.Equal([0, 0], wide);
        Assert.Equal(KeyboardUnlocked | SystemFlag, Status());
        Assert.Equal(0x05, CommandWithReply(0x20));
    }
}
