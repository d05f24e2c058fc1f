BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'PvhVm.TestHelpers.psm1') -Force
    Import-BuiltPvhVm
    $echo = Get-TestGuestPath echo
    $counter = Get-TestGuestPath counter
    $virtio = Get-TestGuestPath virtio
}

# Pause and checkpoints are the in-process engine's so far: every VM here is made with -InProcess, and restored VMs
# are in-process VMs whatever the checkpointed VM's hosting.

Describe 'Suspend-PvhVm and Resume-PvhVm' {
    AfterEach { Clear-PvhVm }

    It 'pauses a VM from the pipeline (its console stands still) and resumes it by name' {
        $vm = New-PvhVm -Name 'pause-me' -KernelPath $counter -MemoryMB 16 -InProcess | Start-PvhVm -PassThru
        $null = $vm | Wait-PvhVm -ConsolePattern '^count 100 ' -Timeout 30
        ($vm | Suspend-PvhVm -PassThru).State | Should -Be 'Paused'
        $lines = $vm.ConsoleLineCount
        Start-Sleep -Milliseconds 200
        $vm.ConsoleLineCount | Should -Be $lines
        ('pause-me' | Resume-PvhVm -PassThru).State | Should -Be 'Running'
        $null = $vm | Wait-PvhVm -ConsolePattern "^count $($lines + 50) " -Timeout 30
    }

    It 'refuses to resume a running VM (InvalidVmState) and leaves it running with -WhatIf' {
        $vm = New-PvhVm -Name 'pause-state' -KernelPath $echo -MemoryMB 16 -InProcess | Start-PvhVm -PassThru
        Resume-PvhVm -Name 'pause-state' -ErrorVariable failed -ErrorAction SilentlyContinue
        $failed[0].FullyQualifiedErrorId | Should -BeExactly 'InvalidVmState,PvhVm.Module.Commands.ResumePvhVmCommand'
        Suspend-PvhVm -Name 'pause-state' -WhatIf
        $vm.State | Should -Be 'Running'
    }

    It 'refuses a host-process VM with CheckpointNeedsInProcessVm, and the VM runs on' {
        $vm = New-PvhVm -Name 'pause-hosted' -KernelPath $echo -MemoryMB 16 -InProcess:$false | Start-PvhVm -PassThru
        $vm.Hosting | Should -Be 'HostProcess'
        $null = $vm | Wait-PvhVm -ConsolePattern '^echo ready$' -Timeout 30
        $vm | Suspend-PvhVm -ErrorVariable suspendFailed -ErrorAction SilentlyContinue
        $suspendFailed[0].FullyQualifiedErrorId | Should -BeExactly 'CheckpointNeedsInProcessVm,PvhVm.Module.Commands.SuspendPvhVmCommand'
        "$($suspendFailed[0].CategoryInfo.Category)" | Should -BeExactly 'NotImplemented'
        $vm | Checkpoint-PvhVm -Path (Join-Path $TestDrive 'hosted') -ErrorVariable checkpointFailed -ErrorAction SilentlyContinue
        $checkpointFailed[0].FullyQualifiedErrorId | Should -BeExactly 'CheckpointNeedsInProcessVm,PvhVm.Module.Commands.CheckpointPvhVmCommand'
        $vm.State | Should -Be 'Running'
        Send-PvhConsole -Name 'pause-hosted' -Text 'still here' -Line
        $null = $vm | Wait-PvhVm -ConsolePattern '^still here$' -Timeout 30
    }
}

Describe 'Checkpoint-PvhVm, Get-PvhCheckpoint and Restore-PvhVm' {
    AfterEach { Clear-PvhVm }

    It 'clones of an echo VM each answer on their own console' {
        $vm = New-PvhVm -Name 'web' -KernelPath $echo -MemoryMB 16 -InProcess | Start-PvhVm -PassThru
        $null = $vm | Wait-PvhVm -ConsolePattern '^echo ready$' -Timeout 30
        $folder = Join-Path $TestDrive 'web'
        $checkpoint = $vm | Checkpoint-PvhVm -Path $folder
        $vm.State | Should -Be 'Running' -Because 'a running VM runs on after its checkpoint'
        $checkpoint.VmName | Should -Be 'web'
        $read = Get-PvhCheckpoint -Path $folder
        $read.MemoryBytes | Should -Be 16MB
        $read.SizeOnDisk | Should -BeLessThan 1MB -Because 'the pages the guest never touched are holes'
        $read.Devices | Should -Contain 'i8042'

        $clones = $read | Restore-PvhVm -Clone -Count 3
        $clones.Name | Should -Be 'web-1', 'web-2', 'web-3'
        $clones.Hosting | Should -Be 'InProcess', 'InProcess', 'InProcess'
        (Get-PvhVm -Name 'web-*').Name | Should -Be 'web-1', 'web-2', 'web-3'
        foreach ($clone in $clones) {
            Send-PvhConsole -Name $clone.Name -Text "hello from $($clone.Name)" -Line
            $null = $clone | Wait-PvhVm -ConsolePattern "^hello from $($clone.Name)$" -Timeout 30
            (Get-PvhConsole -Name $clone.Name).Text | Should -Not -Contain 'echo ready' -Because 'a clone goes on from the checkpoint; it does not boot'
        }
    }

    It 'restores under the checkpoint''s VM name by default, and says when that name is taken' {
        $vm = New-PvhVm -Name 'orig' -KernelPath $echo -MemoryMB 16 -InProcess | Start-PvhVm -PassThru
        $null = $vm | Wait-PvhVm -ConsolePattern '^echo ready$' -Timeout 30
        $folder = Join-Path $TestDrive 'orig'
        $null = $vm | Checkpoint-PvhVm -Path $folder
        Restore-PvhVm -Path $folder -ErrorVariable failed -ErrorAction SilentlyContinue
        $failed[0].FullyQualifiedErrorId | Should -BeExactly 'VmNameTaken,PvhVm.Module.Commands.RestorePvhVmCommand'
        $vm | Remove-PvhVm -Force
        (Restore-PvhVm -Path $folder).Name | Should -Be 'orig'
    }

    It 'reports a damaged checkpoint with an id of its own' {
        $vm = New-PvhVm -Name 'damaged' -KernelPath $echo -MemoryMB 16 -InProcess | Start-PvhVm -PassThru
        $null = $vm | Wait-PvhVm -ConsolePattern '^echo ready$' -Timeout 30
        $folder = Join-Path $TestDrive 'damaged'
        $null = $vm | Checkpoint-PvhVm -Path $folder
        $vm | Checkpoint-PvhVm -Path $folder -ErrorVariable notEmpty -ErrorAction SilentlyContinue
        $notEmpty[0].FullyQualifiedErrorId | Should -BeExactly 'CheckpointFolderNotEmpty,PvhVm.Module.Commands.CheckpointPvhVmCommand'
        $memory = [IO.File]::Open((Join-Path $folder 'memory.bin'), 'Open')
        try { $memory.SetLength(8MB) } finally { $memory.Dispose() }
        Restore-PvhVm -Path $folder -Name 'from-damaged' -ErrorVariable truncated -ErrorAction SilentlyContinue
        $truncated[0].FullyQualifiedErrorId | Should -BeExactly 'CheckpointMemoryTruncated,PvhVm.Module.Commands.RestorePvhVmCommand'
        Get-PvhVm -Name 'from-damaged' -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
    }
}

Describe 'Restore-PvhVm with virtio devices' {
    AfterEach { Clear-PvhVm }

    # The C virtio guest in its checkpoint mode writes a record per step to its first disk (records 0, 1, ... from
    # sector 16), reading the read-only disk and virtio-rng for each, and prints "ckpt blk <n>".
    It 'refuses a writable disk without an image, gives each clone the image -DiskPath names for it, shares the read-only disk' {
        $base = (New-PvhDisk -Path (Join-Path $TestDrive 'base.img') -SizeMB 8).FullName
        $seed = (New-PvhDisk -Path (Join-Path $TestDrive 'seed.img') -SizeMB 1).FullName
        $vm = New-PvhVm -Name 'db' -KernelPath $virtio -MemoryMB 64 -DiskPath $base -ReadOnlyDiskPath $seed -EnableEntropy -EnableVsock -CommandLine 'virtio.ckpt' -InProcess |
            Start-PvhVm -PassThru
        $null = $vm | Wait-PvhVm -ConsolePattern '^ckpt blk 100$' -Timeout 30
        $vm | Suspend-PvhVm
        $folder = Join-Path $TestDrive 'db'
        $checkpoint = $vm | Checkpoint-PvhVm -Path $folder
        # The images for the clones are copies of the disk as the checkpoint saw it: taken while the VM is paused.
        foreach ($n in 1, 2) { Copy-Item $base (Join-Path $TestDrive "db-$n.img") }
        $originalCid = $vm.VsockCid
        $vm | Stop-PvhVm
        $checkpoint.Devices | Should -Contain "virtio-blk vda $base"
        $checkpoint.Devices | Should -Contain "virtio-blk vdb $seed (read-only)"
        $checkpoint.Devices | Should -Contain 'virtio-rng'

        Restore-PvhVm -Path $folder -Name 'no-image' -ErrorVariable failed -ErrorAction SilentlyContinue
        $failed[0].FullyQualifiedErrorId | Should -BeExactly 'CheckpointWritableDiskNeedsImage,PvhVm.Module.Commands.RestorePvhVmCommand'
        "$($failed[0].CategoryInfo.Category)" | Should -BeExactly 'InvalidArgument'
        Get-PvhVm -Name 'no-image' -ErrorAction SilentlyContinue | Should -BeNullOrEmpty

        $clones = Restore-PvhVm -Path $folder -Clone -Count 2 -DiskPath (Join-Path $TestDrive '{0}.img')
        $clones.Name | Should -Be 'db-1', 'db-2'
        foreach ($clone in $clones) {
            $null = $clone | Wait-PvhVm -ConsolePattern '^ckpt blk 300$' -Timeout 30
            $disks = Get-PvhVmDisk -Name $clone.Name
            $disks[0].Path | Should -Be (Join-Path $TestDrive "$($clone.Name).img")
            $disks[0].BytesWritten | Should -BeGreaterThan 0
            $disks[1].Path | Should -Be $seed -Because 'a read-only disk is shared by every clone'
            $clone.VsockCid | Should -Not -Be $originalCid -Because 'each clone gets a vsock CID of its own'
        }
    }

    It 'takes -VsockCid, and says CheckpointDiskMismatch for an image of another size' {
        $base = (New-PvhDisk -Path (Join-Path $TestDrive 'small-base.img') -SizeMB 8).FullName
        $vm = New-PvhVm -Name 'cid' -KernelPath $virtio -MemoryMB 64 -DiskPath $base -EnableVsock -CommandLine 'virtio.ckpt' -InProcess | Start-PvhVm -PassThru
        $null = $vm | Wait-PvhVm -ConsolePattern '^ckpt ready$' -Timeout 30
        $folder = Join-Path $TestDrive 'cid'
        $null = $vm | Suspend-PvhVm -PassThru | Checkpoint-PvhVm -Path $folder
        Copy-Item $base (Join-Path $TestDrive 'cid-copy.img')
        $vm | Stop-PvhVm
        $other = New-PvhDisk -Path (Join-Path $TestDrive 'other-size.img') -SizeMB 4
        Restore-PvhVm -Path $folder -Name 'wrong-size' -DiskPath $other.FullName -ErrorVariable mismatch -ErrorAction SilentlyContinue
        $mismatch[0].FullyQualifiedErrorId | Should -BeExactly 'CheckpointDiskMismatch,PvhVm.Module.Commands.RestorePvhVmCommand'
        $clone = Restore-PvhVm -Path $folder -Name 'cid-clone' -DiskPath (Join-Path $TestDrive 'cid-copy.img') -VsockCid 4242
        $clone.VsockCid | Should -Be 4242
        $null = $clone | Wait-PvhVm -ConsolePattern '^vsock event 0, cid=4242$' -Timeout 30
    }
}
