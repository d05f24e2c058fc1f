#Requires -Version 7.4
<#
.SYNOPSIS
    The disk section of RESULTS.md from results.disk (Bench-Disk.ps1), as Markdown lines.
#>
[CmdletBinding()]
param([Parameter(Mandatory)] $Disk)

Set-StrictMode -Version 3.0
. (Join-Path $PSScriptRoot 'BenchHelpers.ps1')

$seq = $Disk.sequentialMiBPerSecond
$iops = $Disk.randomIops
'## 7. Disk: the C virtio guest reading a virtio-blk disk'
''
"One request in flight (queue depth 1), the guest polling the used ring and acknowledging each interrupt as a driver does; $($Disk.sequentialReads) sequential reads of 128 KiB (wrapping over a $($Disk.imageMiB) MiB image of random bytes) and $($Disk.randomReads) reads of 4 KiB at pseudo-random 4 KiB-aligned offsets (the same under every runner), timed between the guest's begin and end lines; medians of $($Disk.rounds) interleaved rounds. All readers go through the host's warm page cache. QEMU: ``$($Disk.qemu) -append virtio.seq=N|virtio.rand=N`` (its virtio-mmio uses ioeventfd by default)."
''
(Row 'Runner' 'sequential MiB/s' 'vs QEMU' '4 KiB random IOPS' 'vs QEMU' 'exits per request')
'| --- | ---: | ---: | ---: | ---: | ---: |'
(Row 'PvhVm, ioeventfd + device I/O thread, irqfd (default)' $seq.eventFds (Ratio $seq.eventFds $seq.qemu) $iops.eventFds (Ratio $iops.eventFds $iops.qemu) $Disk.exitsPerRequest.eventFds)
(Row 'PvhVm, served on the vCPU thread, KVM_IRQ_LINE (`UseVirtioEventFds = $false`)' $seq.vcpuThread (Ratio $seq.vcpuThread $seq.qemu) $iops.vcpuThread (Ratio $iops.vcpuThread $iops.qemu) $Disk.exitsPerRequest.vcpuThread)
(Row 'QEMU microvm, virtio-blk-device' $seq.qemu '1.00x' $iops.qemu '1.00x' 'n/a')
(Row 'Host: pread of the same image in the same pattern (the ceiling)' $seq.host (Ratio $seq.host $seq.qemu) $iops.host (Ratio $iops.host $iops.qemu) '')
''
$best = [math]::Min($seq.eventFds / $seq.qemu, $iops.eventFds / $iops.qemu)
"Goal: at least QEMU's throughput and IOPS (default path): $('{0:N2}x' -f $best) of QEMU at worst — $(Goal ($best -ge 1))."
$memory = $Disk.memoryPerDisk
"Host memory per disk of a running VM (a VM with 8 disks against one with 1, per extra disk): $('{0:N1}' -f ($memory.managedBytes / 1KB)) KiB managed, $($memory.residentKiB) KiB resident, $($memory.descriptors) descriptor(s); a disk has no buffers of its own (requests go between the image and guest RAM). Goal < 64 KiB: $(Goal ($memory.managedBytes -lt 64KB -and $memory.residentKiB -lt 64))."
''
