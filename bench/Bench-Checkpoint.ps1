# Checkpoint rows of the benchmark, dot-sourced by Invoke-Bench.ps1 (measure) and Write-BenchReport.ps1 (report).
# Measure: the bench tool's 'checkpoint' command: a cold boot of the echo guest to 'echo ready' against a restore of
# the same VM from a checkpoint taken there (to running, and to its first echoed line), interleaved; 100 clones of
# one checkpoint of the sleep guest (wall time, host memory per clone from /proc/self/smaps_rollup); and the time to
# checkpoint ~960 MiB of guest data against writing the same bytes to a file (the host's ceiling). Host-process rows
# (Measure-HostCheckpoint, through the cmdlets): restore of the echo guest into a host process of its own, to running and
# to its first echoed line, interleaved with the same restore in-process and a cold boot in a host process; 10 and 100
# host-process clones of the sleep guest (wall time; per host: RSS, the guest pages it maps from memory.bin, shared, and
# those it wrote, its own). Uses Bench-HostProcess.ps1's Get-ProcessMemoryKiB.

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
        hostProcess = Measure-HostCheckpoint $EchoGuest $Work $Rounds
    }
}

# A process's mappings of one file (a restored VM's RAM: memory.bin, MAP_PRIVATE): resident KiB, their proportional
# share, and the anonymous part (pages the guest wrote: copied on write, this process's own).
function Get-FileMappingKiB([int] $ProcessId, [string] $File) {
    $rss = 0L; $pss = 0L; $anonymous = 0L; $inFile = $false
    foreach ($line in [IO.File]::ReadLines("/proc/$ProcessId/smaps")) {
        if ($line -match '^[0-9a-f]+-[0-9a-f]+ ') { $inFile = $line.EndsWith(" $File") }
        elseif ($inFile -and $line -match '^Rss:\s+(\d+) kB') { $rss += [long]$Matches[1] }
        elseif ($inFile -and $line -match '^Pss:\s+(\d+) kB') { $pss += [long]$Matches[1] }
        elseif ($inFile -and $line -match '^Anonymous:\s+(\d+) kB') { $anonymous += [long]$Matches[1] }
    }
    [pscustomobject]@{ Rss = $rss; Pss = $pss; Anonymous = $anonymous }
}

# A checkpoint of a guest (64 MiB, in a host process) taken once it printed $Ready; returns the folder.
function New-BenchCheckpoint([string] $Guest, [string] $Ready, [string] $Folder) {
    Remove-Item -Recurse -Force $Folder -ErrorAction SilentlyContinue
    $vm = New-PvhVm -Name ck-source -KernelPath $Guest -MemoryMB 64 -InProcess:$false | Start-PvhVm -PassThru
    $null = $vm | Wait-PvhVm -ConsolePattern $Ready -Timeout 30
    $null = $vm | Checkpoint-PvhVm -Path $Folder
    $vm | Remove-PvhVm -Force
    $Folder
}

function Measure-HostCheckpoint([string] $EchoGuest, [string] $Work, [int] $Rounds) {
    Write-Host "$(Get-Date -Format T) checkpoints: host-process restores ($Rounds interleaved rounds), 10 and 100 host-process clones"
    $echoFolder = New-BenchCheckpoint $EchoGuest '^echo ready$' (Join-Path $Work 'checkpoints/host-echo')
    # Restore-PvhVm to a running VM, then a line typed to the guest until it echoes it; Remove-PvhVm after.
    $restore = {
        param([bool] $InProcess)
        $sw = [Diagnostics.Stopwatch]::StartNew()
        $vm = Restore-PvhVm -Path $echoFolder -Name ck-restored -InProcess:$InProcess
        $running = $sw.Elapsed.TotalMilliseconds
        Send-PvhConsole -VM $vm -Text 'hi' -Line
        $null = $vm | Wait-PvhVm -ConsolePattern '^hi$' -Timeout 30
        $answer = $sw.Elapsed.TotalMilliseconds
        $vm | Remove-PvhVm -Force
        [pscustomobject]@{ runningMs = $running; answerMs = $answer }
    }
    $null = & $restore $false; $null = & $restore $true
    $hosted = [Collections.Generic.List[object]]::new()
    $inProcess = [Collections.Generic.List[object]]::new()
    $coldBoot = [Collections.Generic.List[double]]::new()
    for ($round = 0; $round -lt $Rounds; $round++) {
        $hosted.Add((& $restore $false))
        $inProcess.Add((& $restore $true))
        $sw = [Diagnostics.Stopwatch]::StartNew()
        $vm = New-PvhVm -Name ck-cold -KernelPath $EchoGuest -MemoryMB 64 -InProcess:$false | Start-PvhVm -PassThru
        $null = $vm | Wait-PvhVm -ConsolePattern '^echo ready$' -Timeout 30
        $coldBoot.Add($sw.Elapsed.TotalMilliseconds)
        $vm | Remove-PvhVm -Force
    }

    # Idle clones: the sleep guest halts with nothing to wake it, so what each host holds is its own cost and the guest
    # pages it maps. The memory.bin pages are the page cache's, shared by every clone; the guest's writes are its own.
    $sleepFolder = New-BenchCheckpoint (Join-Path (Split-Path $EchoGuest) 'sleep.elf') '^sleeping$' (Join-Path $Work 'checkpoints/host-sleep')
    $memoryFile = Join-Path $sleepFolder 'memory.bin'
    $fleets = foreach ($count in 10, 100) {
        $sw = [Diagnostics.Stopwatch]::StartNew()
        $clones = @(Restore-PvhVm -Path $sleepFolder -Clone -Count $count -InProcess:$false)
        $wallMs = $sw.Elapsed.TotalMilliseconds
        Start-Sleep -Seconds 2
        $perHost = foreach ($clone in $clones) {
            $memory = Get-ProcessMemoryKiB $clone.HostProcessId
            $guest = Get-FileMappingKiB $clone.HostProcessId $memoryFile
            [pscustomobject]@{ rssKiB = $memory.Rss; pssKiB = $memory.Pss; guestSharedKiB = $guest.Rss - $guest.Anonymous; guestWrittenKiB = $guest.Anonymous
                ownKiB = $memory.Rss - $guest.Rss; ownAnonymousKiB = $memory.Anonymous - $guest.Anonymous }
        }
        $running = @($clones | Where-Object State -EQ 'Running').Count
        $clones | Remove-PvhVm -Force
        [ordered]@{
            clones = $count; running = $running; wallMs = [math]::Round($wallMs, 1); perCloneMs = [math]::Round($wallMs / $count, 2)
            rssKiB = Get-Stats $perHost.rssKiB; pssKiB = Get-Stats $perHost.pssKiB; guestSharedKiB = Get-Stats $perHost.guestSharedKiB
            guestWrittenKiB = Get-Stats $perHost.guestWrittenKiB; ownKiB = Get-Stats $perHost.ownKiB; ownAnonymousKiB = Get-Stats $perHost.ownAnonymousKiB
        }
    }

    [ordered]@{
        restoreToRunning = Get-Stats $hosted.runningMs; restoreToAnswer = Get-Stats $hosted.answerMs
        inProcessRestoreToRunning = Get-Stats $inProcess.runningMs; inProcessRestoreToAnswer = Get-Stats $inProcess.answerMs
        coldBootToReady = Get-Stats $coldBoot
        fleets = @($fleets)
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
    if ($c.PSObject.Properties['hostProcess']) { Write-HostCheckpointReport $c.hostProcess }
}

function Write-HostCheckpointReport($h) {
    'Host-process VMs, through the cmdlets (`Restore-PvhVm` makes host-process VMs by default; the echo guest, 64 MiB, interleaved):'
    ''
    (Row 'Start of the echo guest' 'n' 'median' 'min' 'p90' 'ratio to host-process cold boot')
    '| --- | ---: | ---: | ---: | ---: | ---: |'
    (Row 'Host process: `New-PvhVm \| Start-PvhVm` to `echo ready` (cold boot)' $h.coldBootToReady.n (Ms $h.coldBootToReady) ('{0:N1}' -f $h.coldBootToReady.min) ('{0:N1}' -f $h.coldBootToReady.p90) '1.00x')
    (Row 'Host process: `Restore-PvhVm` to running' $h.restoreToRunning.n (Ms $h.restoreToRunning) ('{0:N1}' -f $h.restoreToRunning.min) ('{0:N1}' -f $h.restoreToRunning.p90) (Ratio $h.restoreToRunning.median $h.coldBootToReady.median))
    (Row 'Host process: `Restore-PvhVm` to its first echoed line' $h.restoreToAnswer.n (Ms $h.restoreToAnswer) ('{0:N1}' -f $h.restoreToAnswer.min) ('{0:N1}' -f $h.restoreToAnswer.p90) (Ratio $h.restoreToAnswer.median $h.coldBootToReady.median))
    (Row 'In-process: `Restore-PvhVm -InProcess` to running' $h.inProcessRestoreToRunning.n (Ms $h.inProcessRestoreToRunning) ('{0:N1}' -f $h.inProcessRestoreToRunning.min) ('{0:N1}' -f $h.inProcessRestoreToRunning.p90) (Ratio $h.inProcessRestoreToRunning.median $h.coldBootToReady.median))
    (Row 'In-process: `Restore-PvhVm -InProcess` to its first echoed line' $h.inProcessRestoreToAnswer.n (Ms $h.inProcessRestoreToAnswer) ('{0:N1}' -f $h.inProcessRestoreToAnswer.min) ('{0:N1}' -f $h.inProcessRestoreToAnswer.p90) (Ratio $h.inProcessRestoreToAnswer.median $h.coldBootToReady.median))
    ''
    (Row 'Host-process clones of one checkpoint (sleep guest, 64 MiB; per host: median)' 'wall' 'per clone' 'RSS' 'guest pages from memory.bin (shared)' 'guest pages written (own)' 'host''s own RSS' 'of it anonymous' 'PSS' 'Goal (< 1 MiB beyond written pages)')
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |'
    foreach ($f in $h.fleets) {
        (Row "$($f.clones) clones ($($f.running) running)" ('{0:N0} ms' -f $f.wallMs) ('{0:N1} ms' -f $f.perCloneMs) ('{0:N0} KiB' -f $f.rssKiB.median) ('{0:N0} KiB' -f $f.guestSharedKiB.median) ('{0:N0} KiB' -f $f.guestWrittenKiB.median) ('{0:N0} KiB' -f $f.ownKiB.median) ('{0:N0} KiB' -f $f.ownAnonymousKiB.median) ('{0:N0} KiB' -f $f.pssKiB.median) (Goal ($f.ownAnonymousKiB.median -lt 1024)))
    }
    ''
    'A host''s own RSS is its NativeAOT binary and libc (file pages, shared by every host: PSS splits them) and its anonymous memory (runtime heap, thread stacks, the vCPU''s kvm_run): the anonymous part is what a host-process clone costs beyond the guest pages it writes. The guest pages it maps from memory.bin are the page cache''s, shared by every clone; an idle clone of the halted sleep guest touches none (its vCPU is restored halted and stays so).'
    ''
}
