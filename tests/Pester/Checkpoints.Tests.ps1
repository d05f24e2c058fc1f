BeforeDiscovery { Import-Module (Join-Path $PSScriptRoot 'PvhVm.TestHelpers.psm1') -Force }

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'PvhVm.TestHelpers.psm1') -Force
    Import-BuiltPvhVm
    $echo = Get-TestGuestPath echo
    $counter = Get-TestGuestPath counter
    $virtio = Get-TestGuestPath virtio

    # The counter guest's lines ("count N ms T") as numbers, in console order.
    function Get-Count([string] $Name) {
        foreach ($line in Get-PvhConsole -Name $Name) {
            if ($line.Text -match '^count (\d+) ms (\d+)$') { [pscustomobject]@{ Count = [long]$Matches[1]; Ms = [long]$Matches[2] } }
        }
    }

    # Every count one more than the one before: no gap, no repeat.
    function Assert-Consecutive([object[]] $Counts, [string] $Because) {
        for ($i = 1; $i -lt $Counts.Count; $i++) {
            $Counts[$i].Count | Should -Be ($Counts[$i - 1].Count + 1) -Because "$Because (line $i)"
        }
    }
}

# Every Describe but 'Restored host-process VMs' runs once per hosting: Restore-PvhVm makes VMs the way New-PvhVm does (Use-PvhVmHosting).

Describe 'Suspend-PvhVm and Resume-PvhVm (<Hosting>)' -ForEach (Get-PvhVmHostingCase) {
    BeforeAll { Use-PvhVmHosting $Hosting }
    AfterEach { Clear-PvhVm }

    It 'pauses a VM from the pipeline (its console stands still, every lookup says Paused) and resumes it by name with the next count' {
        $vm = New-PvhVm -Name 'pause-me' -KernelPath $counter -MemoryMB 16 | Start-PvhVm -PassThru
        $vm.Hosting | Should -Be $Hosting
        $null = $vm | Wait-PvhVm -ConsolePattern '^count 100 ' -Timeout 30
        ($vm | Suspend-PvhVm -PassThru).State | Should -Be 'Paused'
        (Get-PvhVm -Name 'pause-me').State | Should -Be 'Paused'
        $lines = $vm.ConsoleLineCount
        Start-Sleep -Milliseconds 200
        $vm.ConsoleLineCount | Should -Be $lines
        ('pause-me' | Resume-PvhVm -PassThru).State | Should -Be 'Running'
        $null = $vm | Wait-PvhVm -ConsolePattern "^count $($lines + 50) " -Timeout 30
        $vm | Suspend-PvhVm
        Assert-Consecutive (Get-Count 'pause-me') 'the count goes on across the pause'
    }

    It 'holds the guest''s clock: across a 3 s pause it moves by one line''s time, not by the pause' {
        $vm = New-PvhVm -Name 'pause-clock' -KernelPath $counter -MemoryMB 16 | Start-PvhVm -PassThru
        $null = $vm | Wait-PvhVm -ConsolePattern '^count 1000 ' -Timeout 30
        $vm | Suspend-PvhVm
        $before = Get-Count 'pause-clock'
        $last = $before[-1]
        Start-Sleep -Seconds 3
        $vm | Resume-PvhVm
        $null = $vm | Wait-PvhVm -ConsolePattern "^count $($last.Count + 100) " -Timeout 30
        $vm | Suspend-PvhVm
        $next = Get-Count 'pause-clock' | Where-Object Count -EQ ($last.Count + 1)
        $last.Ms | Should -BeGreaterThan $before[0].Ms -Because 'the clock is read: it moved while the guest ran'
        # Half the pause leaves room for a vCPU stall on this loaded host (PauseTests says more).
        ($next.Ms - $last.Ms) | Should -BeLessThan 1500 -Because "count $($last.Count) at $($last.Ms) ms, count $($next.Count) at $($next.Ms) ms"
    }

    It 'refuses to resume a running VM (InvalidVmState) and leaves it running with -WhatIf' {
        $vm = New-PvhVm -Name 'pause-state' -KernelPath $echo -MemoryMB 16 | Start-PvhVm -PassThru
        Resume-PvhVm -Name 'pause-state' -ErrorVariable failed -ErrorAction SilentlyContinue
        $failed[0].FullyQualifiedErrorId | Should -BeExactly 'InvalidVmState,PvhVm.Module.Commands.ResumePvhVmCommand'
        Suspend-PvhVm -Name 'pause-state' -WhatIf
        $vm.State | Should -Be 'Running'
    }
}

Describe 'Checkpoint-PvhVm, Get-PvhCheckpoint and Restore-PvhVm (<Hosting>)' -ForEach (Get-PvhVmHostingCase) {
    BeforeAll { Use-PvhVmHosting $Hosting }
    AfterEach { Clear-PvhVm }

    It 'restores a counter that goes on from where it stopped, with no gap and no repeat, and two clones that go on from the same number independently' {
        $vm = New-PvhVm -Name 'tally' -KernelPath $counter -MemoryMB 16 | Start-PvhVm -PassThru
        $null = $vm | Wait-PvhVm -ConsolePattern '^count 500 ' -Timeout 30
        $vm | Suspend-PvhVm
        $last = (Get-Count 'tally')[-1].Count
        $folder = Join-Path $TestDrive 'tally'
        $null = $vm | Checkpoint-PvhVm -Path $folder
        $vm.State | Should -Be 'Paused' -Because 'a paused VM stays paused after its checkpoint'
        $vm | Remove-PvhVm -Force

        # Suspended after a hundred counts: their whole console since the restore is still in the console's ring.
        $restored = Restore-PvhVm -Path $folder
        $null = $restored | Wait-PvhVm -ConsolePattern "^count $($last + 100) " -Timeout 30
        $restored | Suspend-PvhVm
        $restored.Name | Should -Be 'tally'
        $restored.Hosting | Should -Be $Hosting
        $counts = Get-Count 'tally'
        $counts[0].Count | Should -Be ($last + 1) -Because 'the restored VM goes on with the count after the last one saved'
        Assert-Consecutive $counts 'the restored count'

        $clones = Restore-PvhVm -Path $folder -Clone -Count 2
        $null = $clones | Wait-PvhVm -ConsolePattern "^count $($last + 100) " -Timeout 30
        $clones | Suspend-PvhVm
        $clones.Name | Should -Be 'tally-1', 'tally-2'
        foreach ($clone in $clones) {
            $counts = Get-Count $clone.Name
            $counts[0].Count | Should -Be ($last + 1) -Because "$($clone.Name) starts where the checkpoint stood"
            Assert-Consecutive $counts $clone.Name
        }

        # Independent: the first clone runs on while the second stays paused.
        $held = (Get-Count 'tally-2')[-1].Count
        $clones[0] | Resume-PvhVm
        $null = $clones[0] | Wait-PvhVm -ConsolePattern "^count $($held + 200) " -Timeout 30
        (Get-Count 'tally-2')[-1].Count | Should -Be $held
        $clones[1].State | Should -Be 'Paused'
    }

    It 'clones of an echo VM each answer on their own console' {
        $vm = New-PvhVm -Name 'web' -KernelPath $echo -MemoryMB 16 | Start-PvhVm -PassThru
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
        $clones.Hosting | Should -Be $Hosting, $Hosting, $Hosting
        (Get-PvhVm -Name 'web-*').Name | Should -Be 'web-1', 'web-2', 'web-3'
        foreach ($clone in $clones) {
            Send-PvhConsole -Name $clone.Name -Text "hello from $($clone.Name)" -Line
            $null = $clone | Wait-PvhVm -ConsolePattern "^hello from $($clone.Name)$" -Timeout 30
            (Get-PvhConsole -Name $clone.Name).Text | Should -Not -Contain 'echo ready' -Because 'a clone goes on from the checkpoint; it does not boot'
        }
    }

    It 'restores under the checkpoint''s VM name by default, and says when that name is taken' {
        $vm = New-PvhVm -Name 'orig' -KernelPath $echo -MemoryMB 16 | Start-PvhVm -PassThru
        $null = $vm | Wait-PvhVm -ConsolePattern '^echo ready$' -Timeout 30
        $folder = Join-Path $TestDrive 'orig'
        $null = $vm | Checkpoint-PvhVm -Path $folder
        Restore-PvhVm -Path $folder -ErrorVariable failed -ErrorAction SilentlyContinue
        $failed[0].FullyQualifiedErrorId | Should -BeExactly 'VmNameTaken,PvhVm.Module.Commands.RestorePvhVmCommand'
        $vm | Remove-PvhVm -Force
        (Restore-PvhVm -Path $folder).Name | Should -Be 'orig'
    }

    It 'reports a damaged checkpoint with an id of its own, whichever process finds the damage' {
        $vm = New-PvhVm -Name 'damaged' -KernelPath $echo -MemoryMB 16 | Start-PvhVm -PassThru
        $null = $vm | Wait-PvhVm -ConsolePattern '^echo ready$' -Timeout 30
        $folder = Join-Path $TestDrive 'damaged'
        $null = $vm | Checkpoint-PvhVm -Path $folder
        $vm | Checkpoint-PvhVm -Path $folder -ErrorVariable notEmpty -ErrorAction SilentlyContinue
        $notEmpty[0].FullyQualifiedErrorId | Should -BeExactly 'CheckpointFolderNotEmpty,PvhVm.Module.Commands.CheckpointPvhVmCommand'
        $vm.State | Should -Be 'Running' -Because 'a refused checkpoint leaves the VM running'

        # The whole state is read and checked (hash first) when the restored VM is made, in the host process for a
        # host-process VM: no VM is left behind.
        $state = [IO.File]::ReadAllBytes((Join-Path $folder 'state.bin'))
        $state[100] = $state[100] -bxor 0xFF
        [IO.File]::WriteAllBytes((Join-Path $folder 'state.bin'), $state)
        Restore-PvhVm -Path $folder -Name 'from-corrupt' -ErrorVariable corrupt -ErrorAction SilentlyContinue
        $corrupt[0].FullyQualifiedErrorId | Should -BeExactly 'CheckpointStateCorrupt,PvhVm.Module.Commands.RestorePvhVmCommand'
        Get-PvhVm -Name 'from-corrupt' -ErrorAction SilentlyContinue | Should -BeNullOrEmpty

        $memory = [IO.File]::Open((Join-Path $folder 'memory.bin'), 'Open')
        try { $memory.SetLength(8MB) } finally { $memory.Dispose() }
        Restore-PvhVm -Path $folder -Name 'from-damaged' -ErrorVariable truncated -ErrorAction SilentlyContinue
        $truncated[0].FullyQualifiedErrorId | Should -BeExactly 'CheckpointMemoryTruncated,PvhVm.Module.Commands.RestorePvhVmCommand'
        Get-PvhVm -Name 'from-damaged' -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
    }
}

Describe 'Restored host-process VMs' {
    BeforeAll {
        Import-BuiltPvhVm
        $modulePath = Join-Path $env:PVHVM_MODULE_PATH 'PvhVm.psd1'
    }
    AfterEach { Clear-PvhVm }

    It 'are what Restore-PvhVm makes by default; another pwsh sees them and talks to them; kill -9 of the host shows Failed' {
        $vm = New-PvhVm -Name 'hp-source' -KernelPath $echo -MemoryMB 16 -InProcess | Start-PvhVm -PassThru
        $null = $vm | Wait-PvhVm -ConsolePattern '^echo ready$' -Timeout 30
        $folder = Join-Path $TestDrive 'hp-source'
        $null = $vm | Checkpoint-PvhVm -Path $folder
        $restored = Restore-PvhVm -Path $folder -Name 'hp-restored'
        $restored.Hosting | Should -Be 'HostProcess' -Because 'Restore-PvhVm makes VMs as New-PvhVm does, whatever the checkpointed VM''s hosting'
        (Get-Content "/proc/$($restored.HostProcessId)/comm") | Should -Be 'pvhvm-host'

        $out = Join-Path $TestDrive 'other.txt'
        $script = "Import-Module '$modulePath'; Send-PvhConsole hp-restored 'from another pwsh' -Line; " +
            "`$null = Wait-PvhVm hp-restored -ConsolePattern '^from another pwsh$' -Timeout 30; (Get-PvhVm hp-restored).State"
        $other = Start-Process -FilePath (Join-Path $PSHOME 'pwsh') -ArgumentList '-NoProfile', '-NonInteractive', '-Command', $script `
            -PassThru -RedirectStandardOutput $out -RedirectStandardError "$out.err"
        $other.WaitForExit(120000) | Should -BeTrue
        Get-Content $out | Should -Be 'Running' -Because (Get-Content -Raw "$out.err" -ErrorAction SilentlyContinue)

        Stop-Process -Id $restored.HostProcessId -Force
        $restored | Wait-PvhVm -Timeout 10
        $restored.State | Should -Be 'Failed'
        $restored.Fault.Message | Should -Match 'killed by signal 9 \(SIGKILL\)'
        (Get-PvhConsole hp-restored -Pattern 'another').Text | Should -Be 'from another pwsh' -Because 'the console was kept on disk'
    }
}

Describe 'Restore-PvhVm with virtio devices (<Hosting>)' -ForEach (Get-PvhVmHostingCase) {
    BeforeAll { Use-PvhVmHosting $Hosting }
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
        ($clones.VsockCid | Sort-Object -Unique).Count | Should -Be 2 -Because "no two clones share a CID: $($clones.VsockCid -join ', ')"
        # A VM made after the clones, in either hosting, sees their CIDs as taken.
        $fresh = New-PvhVm -Name 'after-clones' -KernelPath $echo -MemoryMB 16 -EnableVsock
        $clones.VsockCid | Should -Not -Contain $fresh.VsockCid
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
