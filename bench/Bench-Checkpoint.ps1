# Checkpoint rows of the benchmark, dot-sourced by Invoke-Bench.ps1 (measure) and Write-BenchReport.ps1 (report).
# Measure: the bench tool's 'checkpoint' command: a cold boot of the echo guest to 'echo ready' against a restore of
# the same VM from a checkpoint taken there (to running, and to its first echoed line), interleaved; 100 clones of
# one checkpoint of the sleep guest (wall time, host memory per clone from /proc/self/smaps_rollup); and the time to
# checkpoint ~960 MiB of guest data against writing the same bytes to a file (the host's ceiling).

# Firecracker's published figure (docs/snapshotting/snapshot-support.md, section Performance): snapshot resume latency
# under 8 ms, 5 ms p90, for 2 vCPU / 512 MB / 1 block / 1 net device on an AWS m5d.metal host.
$FirecrackerRestoreTargetMs = 8

function Measure-Checkpoint([string] $EchoGuest, [string] $Work, [int] $Rounds) {
    $lines = @(Invoke-Tool checkpoint $EchoGuest $Rounds 100 (Join-Path $Work 'checkpoints'))
    $timed = @($lines | Where-Object kind -EQ 'round')
    [ordered]@{
        coldBootToReady = Get-Stats $timed.coldBootToReadyMs
        restoreToRunning = Get-Stats $timed.restoreToRunningMs
        restoreToAnswer = Get-Stats $timed.restoreToAnswerMs
        fleet = $lines | Where-Object kind -EQ 'fleet' | Select-Object -First 1
        write = $lines | Where-Object kind -EQ 'write' | Select-Object -First 1
    }
}

function Write-CheckpointReport($c) {
    '## 8. Checkpoints and clones'
    ''
    (Row 'Start of the echo guest (64 MiB)' 'n' 'median' 'min' 'ratio to cold boot' 'Goal')
    '| --- | ---: | ---: | ---: | ---: | --- |'
    (Row 'Cold boot to `echo ready`' $c.coldBootToReady.n (Ms $c.coldBootToReady) ('{0:N1} ms' -f $c.coldBootToReady.min) '1.00x' '')
    (Row 'Restore to running' $c.restoreToRunning.n (Ms $c.restoreToRunning) ('{0:N1} ms' -f $c.restoreToRunning.min) (Ratio $c.restoreToRunning.median $c.coldBootToReady.median) "$(Goal ($c.restoreToRunning.median -lt 10)) (< 10 ms; Firecracker states < $FirecrackerRestoreTargetMs ms on m5d.metal)")
    (Row 'Restore to its first echoed line' $c.restoreToAnswer.n (Ms $c.restoreToAnswer) ('{0:N1} ms' -f $c.restoreToAnswer.min) (Ratio $c.restoreToAnswer.median $c.coldBootToReady.median) '')
    ''
    $f = $c.fleet
    (Row "$($f.clones) clones of one checkpoint (sleep guest, 64 MiB)" 'value' 'Goal')
    '| --- | ---: | --- |'
    (Row 'Wall time, restore and start of all' ('{0:N0} ms' -f $f.wallMs) '')
    (Row 'Per clone' ('{0:N1} ms' -f $f.perCloneMs) (Goal ($f.perCloneMs -lt 10)))
    (Row 'Host RSS per clone' ('{0:N0} KiB' -f $f.rssKiBPerClone) (Goal ($f.rssKiBPerClone -lt 1024)))
    (Row 'Host PSS per clone (shared pages split)' ('{0:N0} KiB' -f $f.pssKiBPerClone) '')
    (Row 'Host anonymous memory per clone' ('{0:N0} KiB' -f $f.anonymousKiBPerClone) '')
    ''
    $w = $c.write
    (Row 'Writing guest data' 'bytes' 'time' 'per GiB' 'ratio')
    '| --- | ---: | ---: | ---: | ---: |'
    (Row 'Checkpoint-PvhVm (scan + sparse write)' ('{0:N0}' -f $w.dataBytes) ('{0:N0} ms' -f $w.checkpointMs) ('{0:N0} ms' -f $w.checkpointMsPerGiB) (Ratio $w.checkpointMsPerGiB $w.plainWriteMsPerGiB))
    (Row 'The same bytes to a new file (ceiling)' ('{0:N0}' -f $w.dataBytes) ('{0:N0} ms' -f $w.plainWriteMs) ('{0:N0} ms' -f $w.plainWriteMsPerGiB) '1.00x')
    ''
}
