#Requires -Version 7.4
<#
.SYNOPSIS
    Why the host program has its own HTTP/1.1 server (issue 13): ASP.NET Core's Kestrel against pvhvm-host, both NativeAOT.
.DESCRIPTION
    Kestrel (bench/KestrelProbe: the slim builder, no logging providers, one route answering GET /vm with a JSON status
    on a Unix socket) is published NativeAOT here. Interleaved per round, each program is started as a process and
    timed until its socket answers GET /vm with 200; then, half a second later, its VmRSS and anonymous memory are read
    and it is killed. pvhvm-host does more in that time than Kestrel: it also creates its VM (the probe, 16 MiB) before
    it listens. Prints a table and the raw numbers as JSON. Runs alone:
    dotnet pwsh bench/Compare-Kestrel.ps1 -ModuleDir out/PvhVm/<version>
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)] [string] $ModuleDir,
    [string] $Root = (Split-Path $PSScriptRoot),
    [int] $Rounds = 15
)

Set-StrictMode -Version 3.0
$ErrorActionPreference = 'Stop'
. (Join-Path $PSScriptRoot 'BenchHelpers.ps1')

$ModuleDir = (Resolve-Path $ModuleDir).Path
$work = Join-Path $Root 'out/bench/kestrel'
Invoke-Checked dotnet publish (Join-Path $PSScriptRoot 'KestrelProbe/KestrelProbe.csproj') -c Release -r linux-x64 -o $work --nologo -v quiet | Out-Null
$kestrel = Join-Path $work 'KestrelProbe'
$hostProgram = Join-Path $ModuleDir 'host/pvhvm-host'
$scratch = Join-Path ([IO.Path]::GetTempPath()) "pvhvm-kestrel-$PID"
New-Item -ItemType Directory $scratch | Out-Null
$config = [ordered]@{
    name = 'kestrel-cmp'; kernelPath = (Join-Path $ModuleDir 'guests/probe.elf'); commandLine = ''; memoryMB = 16; processorCount = 1
    disks = @(); networkAdapters = @(); enableEntropy = $false; enableVsock = $false; useVirtioEventFds = $true
} | ConvertTo-Json -Compress

# GET /vm on the socket: its status line, or null while nothing listens there yet.
function Get-StatusLine([string] $SocketPath) {
    $socket = [Net.Sockets.Socket]::new([Net.Sockets.AddressFamily]::Unix, [Net.Sockets.SocketType]::Stream, [Net.Sockets.ProtocolType]::Unspecified)
    try {
        $socket.Connect([Net.Sockets.UnixDomainSocketEndPoint]::new($SocketPath))
        $null = $socket.Send([Text.Encoding]::ASCII.GetBytes("GET /vm HTTP/1.1`r`nHost: localhost`r`nConnection: close`r`n`r`n"))
        $buffer = [byte[]]::new(4096)
        $answer = [Text.StringBuilder]::new()
        while (($read = $socket.Receive($buffer)) -gt 0) { $null = $answer.Append([Text.Encoding]::ASCII.GetString($buffer, 0, $read)) }
        ($answer.ToString() -split "`r`n")[0]
    } catch [Net.Sockets.SocketException] {
        $null
    } finally {
        $socket.Dispose()
    }
}

function Get-MemoryKiB([int] $ProcessId) {
    $values = @{}
    foreach ($line in [IO.File]::ReadLines("/proc/$ProcessId/smaps_rollup")) {
        if ($line -match '^(Rss|Anonymous):\s+(\d+) kB') { $values[$Matches[1]] = [long]$Matches[2] }
    }
    $values
}

# Starts the program, times it to its first answer, reads its memory once it is idle, kills it.
function Measure-Server([string] $Program, [string[]] $Arguments, [string] $SocketPath) {
    $start = [Diagnostics.ProcessStartInfo]::new($Program)
    foreach ($argument in $Arguments) { $start.ArgumentList.Add($argument) }
    $start.RedirectStandardOutput = $true
    $start.RedirectStandardError = $true
    $watch = [Diagnostics.Stopwatch]::StartNew()
    $process = [Diagnostics.Process]::Start($start)
    try {
        while (-not ($status = Get-StatusLine $SocketPath)) {
            if ($process.HasExited) { throw "$Program ended with exit code $($process.ExitCode): $($process.StandardError.ReadToEnd())" }
            if ($watch.Elapsed.TotalSeconds -gt 30) { throw "$Program did not answer on $SocketPath in 30 s." }
            [Threading.Thread]::Sleep(1)
        }
        $ms = $watch.Elapsed.TotalMilliseconds
        if ($status -notmatch ' 200 ') { throw "$Program answered '$status'." }
        Start-Sleep -Milliseconds 500
        $memory = Get-MemoryKiB $process.Id
        [pscustomobject]@{ FirstAnswerMs = $ms; RssKiB = $memory.Rss; AnonymousKiB = $memory.Anonymous }
    } finally {
        $process.Kill()
        $process.WaitForExit()
        $process.Dispose()
    }
}

$runs = @{ kestrel = @(); host = @() }
try {
    for ($round = 0; $round -lt $Rounds; $round++) {
        $socket = Join-Path $scratch "kestrel-$round.sock"
        $runs.kestrel += Measure-Server $kestrel @($socket) $socket
        $folder = Join-Path $scratch "vm-$round"
        New-Item -ItemType Directory $folder | Out-Null
        Set-Content (Join-Path $folder 'config.json') $config
        $runs.host += Measure-Server $hostProgram @('--folder', $folder) (Join-Path $folder 'api.sock')
    }
} finally {
    Remove-Item -Recurse -Force $scratch
}

$results = [ordered]@{
    measured = (Get-Date).ToUniversalTime().ToString('u')
    load = (Get-Content /proc/loadavg)
    kestrel = [ordered]@{ firstAnswerMs = Get-Stats $runs.kestrel.FirstAnswerMs; rssKiB = Get-Median $runs.kestrel.RssKiB; anonymousKiB = Get-Median $runs.kestrel.AnonymousKiB; binaryBytes = (Get-Item $kestrel).Length }
    pvhvmHost = [ordered]@{ firstAnswerMs = Get-Stats $runs.host.FirstAnswerMs; rssKiB = Get-Median $runs.host.RssKiB; anonymousKiB = Get-Median $runs.host.AnonymousKiB; binaryBytes = (Get-Item $hostProgram).Length }
}
foreach ($name in 'kestrel', 'pvhvmHost') {
    $row = $results[$name]
    '{0,-10} first answer median {1,6:N1} ms (min {2:N1})  RSS {3:N0} KiB, anonymous {4:N0} KiB  binary {5:N1} MB' -f $name,
        $row.firstAnswerMs.median, $row.firstAnswerMs.min, $row.rssKiB, $row.anonymousKiB, ($row.binaryBytes / 1MB)
}
$results | ConvertTo-Json -Depth 4
