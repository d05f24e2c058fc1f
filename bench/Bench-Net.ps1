#Requires -Version 7.4
<#
.SYNOPSIS
    virtio-net and virtio-vsock rows (issue 12): PvhVm side by side with QEMU microvm on the same C guest.
.DESCRIPTION
    Network: one network namespace and one persistent tap made here (10.213.0.1/24, IPv6 off, the guest's address
    10.213.0.2 a permanent neighbour), removed at the end; PvhVm (the engine, in the bench tool's process) and QEMU
    microvm (-netdev tap + virtio-net-device) attach to the same tap in turn, running tests/guests/virtio.c in its
    bench modes: guest to host (virtio.net_tx, counted by a UDP socket on the host) and host to guest (virtio.net_rx,
    counted by the guest), with 18-byte and 1472-byte UDP payloads, interleaved per round. Exits are perf's
    kvm:kvm_userspace_exit for the VMM's process over the same window.
    Vsock: PvhVm's hybrid Unix socket to the guest's echo on port 5000, against a Unix socket pair in one process (the
    ceiling). QEMU has no user-space vsock and this host no vhost-vsock: no QEMU row.
    Called by Invoke-Bench.ps1 with -Tool and -Guest; alone (no arguments) it builds the bench tool itself and prints
    the results as JSON.
#>
[CmdletBinding()]
param(
    [string] $Tool,
    [string] $Guest,
    [int] $Rounds = 3,
    [int] $TransmitFrames = 5000,
    [double] $ReceiveSeconds = 2,
    [int] $VsockRoundTrips = 1000,
    [int] $VsockEchoes = 500,
    [int] $VsockStreamMiB = 8
)

Set-StrictMode -Version 3.0
$ErrorActionPreference = 'Stop'

. (Join-Path $PSScriptRoot 'BenchHelpers.ps1')

$standalone = -not $Tool
if ($standalone) {
    $root = Split-Path $PSScriptRoot
    $out = Join-Path $root 'out/bench/tool'
    Invoke-Checked dotnet build (Join-Path $PSScriptRoot 'PvhVm.Bench/PvhVm.Bench.csproj') -c Release -o $out --nologo -v quiet | Out-Null
    $Tool = Join-Path $out 'PvhVm.Bench.dll'
    $Guest = Join-Path $out 'guests/virtio.elf'
}
foreach ($command in 'ip', 'perf', 'qemu-system-x86_64') {
    if (-not (Get-Command $command -ErrorAction SilentlyContinue)) { throw "$command is not installed: run scripts/install-prerequisites.sh." }
}

$suffix = '{0:x6}' -f (Get-Random -Maximum 0xffffff)
$namespace = "pvhvm-bench-$suffix"
$tap = "pvb$suffix"
$net = [ordered]@{ rounds = $Rounds; transmitFrames = $TransmitFrames; receiveSeconds = $ReceiveSeconds; runs = @() }
Invoke-Checked ip netns add $namespace
try {
    Invoke-Checked ip netns exec $namespace sysctl -q -w net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
    Invoke-Checked ip -n $namespace tuntap add dev $tap mode tap
    Invoke-Checked ip -n $namespace addr add 10.213.0.1/24 dev $tap
    Invoke-Checked ip -n $namespace link set $tap up
    # The C guest answers no ARP: the host knows its address for good.
    Invoke-Checked ip -n $namespace neigh replace 10.213.0.2 lladdr 02:00:00:00:00:02 dev $tap nud permanent
    $runs = [Collections.Generic.List[object]]::new()
    for ($round = 0; $round -lt $Rounds; $round++) {
        foreach ($size in 18, 1472) {
            foreach ($vmm in 'pvh', 'qemu') {
                $runs.Add((Invoke-Checked ip netns exec $namespace dotnet $Tool net-tx $vmm $Guest $tap $TransmitFrames $size | ConvertFrom-Json))
                $runs.Add((Invoke-Checked ip netns exec $namespace dotnet $Tool net-rx $vmm $Guest $tap $ReceiveSeconds $size | ConvertFrom-Json))
            }
        }
    }
    $net.runs = $runs
}
finally {
    ip netns del $namespace
}

$net.summary = foreach ($group in $net.runs | Group-Object direction, size, vmm) {
    $first = $group.Group[0]
    [ordered]@{
        direction = $first.direction; size = $first.size; vmm = $first.vmm; n = $group.Count
        packetsPerSecond = Get-Median $group.Group.packetsPerSecond; megabytesPerSecond = Get-Median $group.Group.megabytesPerSecond
        exitsPerPacket = Get-Median $group.Group.exitsPerPacket
        lockContentionsPerPacket = if ($first.vmm -eq 'pvh') { Get-Median ($group.Group | ForEach-Object { $_.lockContentions / [math]::Max(1, $_.received) }) } else { $null }
    }
}

$vsockRuns = [Collections.Generic.List[object]]::new()
for ($round = 0; $round -lt $Rounds; $round++) {
    $vsockRuns.Add((Invoke-Checked dotnet $Tool vsock $Guest $VsockRoundTrips $VsockEchoes $VsockStreamMiB | ConvertFrom-Json))
    $vsockRuns.Add((Invoke-Checked dotnet $Tool vsock-pair $VsockRoundTrips $VsockEchoes $VsockStreamMiB | ConvertFrom-Json))
}
$vsock = [ordered]@{ runs = $vsockRuns }
foreach ($peer in 'pvh', 'socketPair') {
    $group = @($vsockRuns | Where-Object peer -eq $peer)
    $vsock[$peer] = [ordered]@{
        n = $group.Count; roundTripMicroseconds = Get-Median $group.roundTripMedianMicroseconds
        roundTripP90Microseconds = Get-Median $group.roundTripP90Microseconds
        exitsPerRoundTrip = if ($peer -eq 'pvh') { Get-Median $group.exitsPerRoundTrip } else { $null }
        echo4000MegabytesPerSecond = Get-Median $group.echo4000MegabytesPerSecond
        streamMegabytesPerSecond = Get-Median $group.streamMegabytesPerSecond
    }
}
$net.vsock = $vsock

if ($standalone) { $net | ConvertTo-Json -Depth 6 } else { $net }
