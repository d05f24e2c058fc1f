BeforeDiscovery { Import-Module (Join-Path $PSScriptRoot 'PvhVm.TestHelpers.psm1') -Force }

# Disks and entropy through the cmdlets, against the built module: the C virtio guest (tests/guests/virtio.c) drives
# a disk and the entropy source a VM got from New-PvhVm / Add-PvhVmDisk, Get-PvhVmDisk counts what it did, and the
# image locks keep two VMs from writing one image.
BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'PvhVm.TestHelpers.psm1') -Force
    Import-BuiltPvhVm
    Clear-PvhVm
    $script:virtio = Get-TestGuestPath virtio
    $script:halt = Get-TestGuestPath halt

    # A 1 MiB image whose sector 0 starts with the line the guest prints.
    function script:New-MarkedImage([string] $Path) {
        $bytes = [byte[]]::new(1MB)
        [Text.Encoding]::ASCII.GetBytes('PVHVM TEST DISK SECTOR ZERO....!').CopyTo($bytes, 0)
        [IO.File]::WriteAllBytes($Path, $bytes)
        $Path
    }
}

AfterAll { Clear-PvhVm }

Describe 'New-PvhDisk' {
    It 'creates a sparse, zero-filled raw image of the size asked, relative to the current location' {
        Push-Location $TestDrive
        try {
            $file = New-PvhDisk -Path ./sparse.img -SizeMB 64
        }
        finally { Pop-Location }
        $file.FullName | Should -Be (Join-Path $TestDrive 'sparse.img')
        $file.Length | Should -Be 64MB
        # Sparse: the file system holds (almost) no blocks for it.
        [long](& stat -c '%b' $file.FullName) * 512 | Should -BeLessThan 1MB
        $stream = [IO.File]::OpenRead($file.FullName)
        try {
            $buffer = [byte[]]::new(4096); $null = $stream.Seek(32MB, 'Begin'); $null = $stream.Read($buffer, 0, 4096)
            $buffer | Where-Object { $_ -ne 0 } | Should -BeNullOrEmpty
        }
        finally { $stream.Dispose() }
    }

    It 'refuses an existing file (DiskImageExists) unless -Force, and -WhatIf creates nothing' {
        $path = Join-Path $TestDrive 'exists.img'
        Set-Content $path 'keep me'
        { New-PvhDisk -Path $path -SizeMB 1 -ErrorAction Stop } | Should -Throw -ErrorId 'DiskImageExists,PvhVm.Module.Commands.NewPvhDiskCommand'
        Get-Content $path | Should -Be 'keep me'
        (New-PvhDisk -Path $path -SizeMB 1 -Force).Length | Should -Be 1MB
        New-PvhDisk -Path (Join-Path $TestDrive 'whatif.img') -SizeMB 1 -WhatIf
        Join-Path $TestDrive 'whatif.img' | Should -Not -Exist
    }
}

Describe 'A VM with a disk and an entropy source, through the cmdlets (<Hosting>)' -ForEach (Get-PvhVmHostingCase) {
    BeforeAll {
        Use-PvhVmHosting $Hosting
        Clear-PvhVm
    }

    It 'runs the C virtio guest: QEMU''s transcript, the marker in the image, the counts on Get-PvhVmDisk' {
        $image = New-MarkedImage (Join-Path $TestDrive 'guest.img')
        $vm = New-PvhVm -Name 'disk-guest' -KernelPath $virtio -MemoryMB 64 -EnableEntropy
        $added = Add-PvhVmDisk -VMName 'disk-guest' -Path $image -Serial 'pvh-test-disk' -PassThru
        $added.GuestName | Should -Be 'vda'
        $added.PSObject.TypeNames[0] | Should -Be 'PvhVm.Disk'

        $vm | Start-PvhVm -Wait -Timeout 60
        $vm.ExitReason | Should -Be 'GuestReset'
        (Get-PvhConsole -Name 'disk-guest').Text | Should -Be @(
            'virtio: 2 device(s) in the DSDT'
            'dev 0 at 0xc0000000 irq 5: id 2'
            'blk capacity=2048 sectors'
            'blk sector 0: PVHVM TEST DISK SECTOR ZERO....!'
            'blk wrote sector 8'
            'blk flush ok'
            'blk sector 8 reads back ok'
            'blk serial=pvh-test-disk'
            'dev 1 at 0xc0001000 irq 6: id 4'
            'rng 64 bytes, not all zero'
            'virtio done'
        )
        $sector8 = [IO.File]::ReadAllBytes($image)[4096..4607]
        [Text.Encoding]::ASCII.GetString($sector8, 0, 38) | Should -Be 'PVHVM VIRTIO GUEST WAS HERE (sector 8)'

        $disk = Get-PvhVmDisk -VMName 'disk-guest'
        $disk | Should -HaveCount 1
        $disk.Path | Should -Be $image
        $disk.SizeBytes | Should -Be 1MB
        $disk.Serial | Should -Be 'pvh-test-disk'
        $disk.ReadOnly | Should -BeFalse
        $disk.Requests | Should -Be 5
        $disk.BytesRead | Should -Be 1024
        $disk.BytesWritten | Should -Be 512
        $disk.Errors | Should -Be 0
    }

    It 'serves the guest''s discard and write-zeroes: a hole in the image, zeroes where data was' {
        $image = New-MarkedImage (Join-Path $TestDrive 'discard.img')
        $vm = New-PvhVm -Name 'disk-discard' -KernelPath $virtio -MemoryMB 64 -DiskPath $image -CommandLine 'virtio.discard'
        $vm | Start-PvhVm -Wait -Timeout 60
        $vm.ExitReason | Should -Be 'GuestReset'
        $text = (Get-PvhConsole -Name 'disk-discard').Text
        $text | Should -Contain 'blk write zeroes ok, with and without unmap'
        $text | Should -Contain 'blk discard ok'
        $text | Should -Contain 'virtio done'
        $bytes = [IO.File]::ReadAllBytes($image)
        # Sectors 512-639 were written, then discarded: zeroes to the guest, a punched range (fewer blocks) on the host.
        [Linq.Enumerable]::Any([byte[]] $bytes[(512 * 512)..(640 * 512 - 1)], [Func[byte, bool]] { param($b) $b -ne 0 }) | Should -BeFalse
        [long] (& stat -c '%b' $image) * 512 | Should -BeLessThan 1MB
    }

    It 'counts a write the guest tried on a read-only disk as an error, and shows both disks in the table view' {
        $data = New-MarkedImage (Join-Path $TestDrive 'rw.img')
        $seed = New-MarkedImage (Join-Path $TestDrive 'ro.img')
        $before = (Get-FileHash $seed).Hash
        $vm = New-PvhVm -Name 'ro-guest' -KernelPath $virtio -MemoryMB 64 -DiskPath $data -ReadOnlyDiskPath $seed
        $vm | Start-PvhVm -Wait -Timeout 60
        (Get-PvhConsole -Name 'ro-guest').Text | Should -Contain 'dev 1: request failed'
        (Get-FileHash $seed).Hash | Should -Be $before

        $disks = Get-PvhVm 'ro-guest' | Get-PvhVmDisk
        $disks.GuestName | Should -Be 'vda', 'vdb'
        $disks[1].ReadOnly | Should -BeTrue
        $disks[1].Errors | Should -Be 1
        $disks[1].BytesWritten | Should -Be 0
        $table = $disks | Out-String -Width 200
        $table | Should -Match 'VM: ro-guest'
        $table | Should -Match 'vdb\s+\S+ro\.img\s+1 MB RO\s+2\s+0\.5 KB\s+0 KB\s+1'
        ($disks[0] | Format-List | Out-String) | Should -Match 'Size\s+: 1,048,576 bytes \(1 MB\)'
        "$($disks[1])" | Should -Match '^ro-guest/vdb: .*ro\.img \(read-only\)$'
        $vm.Config.ToString() | Should -Match ', 2 disk\(s\)$'
        ($vm | Format-List | Out-String) | Should -Match 'Disks\s+: \S+rw\.img, \S+ro\.img \(read-only\)'
    }
}

Describe 'Disks change only before start (<Hosting>)' -ForEach (Get-PvhVmHostingCase) {
    BeforeAll { Use-PvhVmHosting $Hosting }
    BeforeEach { Clear-PvhVm }

    It 'adds after the others, removes by guest name or piped disk, and refuses both once started (InvalidVmState)' {
        $a = New-PvhDisk (Join-Path $TestDrive 'a.img') 1 -Force
        $b = New-PvhDisk (Join-Path $TestDrive 'b.img') 1 -Force
        $vm = New-PvhVm -Name 'staged' -KernelPath $halt -MemoryMB 16 -DiskPath $a.FullName
        Add-PvhVmDisk -VMName 'staged' -Path $b.FullName -ReadOnly
        (Get-PvhVmDisk staged).Path | Should -Be $a.FullName, $b.FullName
        { Add-PvhVmDisk -VMName 'staged' -Path $a.FullName -ErrorAction Stop } | Should -Throw -ErrorId 'DiskAlreadyAttached,PvhVm.Module.Commands.AddPvhVmDiskCommand'
        { Add-PvhVmDisk -VMName 'staged' -Path (Join-Path $TestDrive 'none.img') -ErrorAction Stop } | Should -Throw -ErrorId 'DiskImageNotFound,PvhVm.Module.Commands.AddPvhVmDiskCommand'
        { Remove-PvhVmDisk -VMName 'staged' -GuestName vdq -ErrorAction Stop } | Should -Throw -ErrorId 'DiskNotFound,PvhVm.Module.Commands.RemovePvhVmDiskCommand'

        Remove-PvhVmDisk -VMName 'staged' -GuestName vda -Confirm:$false
        (Get-PvhVmDisk staged).Path | Should -Be $b.FullName
        Get-PvhVmDisk staged | Remove-PvhVmDisk -Confirm:$false
        Get-PvhVmDisk staged | Should -BeNullOrEmpty

        Add-PvhVmDisk -VMName 'staged' -Path $a.FullName
        $vm | Start-PvhVm
        { Add-PvhVmDisk -VM $vm -Path $b.FullName -ErrorAction Stop } | Should -Throw -ErrorId 'InvalidVmState,PvhVm.Module.Commands.AddPvhVmDiskCommand'
        { Remove-PvhVmDisk -VM $vm -GuestName vda -Confirm:$false -ErrorAction Stop } | Should -Throw -ErrorId 'InvalidVmState,PvhVm.Module.Commands.RemovePvhVmDiskCommand'
        (Get-PvhVmDisk staged).GuestName | Should -Be 'vda'
    }

    It 'completes -GuestName from the named VM''s disks' {
        $a = New-PvhDisk (Join-Path $TestDrive 'c.img') 1 -Force
        $null = New-PvhVm -Name 'complete-me' -KernelPath $halt -MemoryMB 16 -DiskPath $a.FullName -ReadOnlyDiskPath $a.FullName -ErrorAction SilentlyContinue
        $null = New-PvhVm -Name 'complete-me' -KernelPath $halt -MemoryMB 16 -DiskPath $a.FullName
        $line = 'Remove-PvhVmDisk -VMName complete-me -GuestName '
        $completions = TabExpansion2 -inputScript $line -cursorColumn $line.Length
        $completions.CompletionMatches.CompletionText | Should -Be 'vda'
        $completions.CompletionMatches[0].ToolTip | Should -Match 'complete-me: .*c\.img'
    }

    It 'allows at most 8 virtio devices, the entropy source included (TooManyDevices)' {
        $paths = 1..8 | ForEach-Object { (New-PvhDisk (Join-Path $TestDrive "many$_.img") 1 -Force).FullName }
        { New-PvhVm -Name 'too-many' -KernelPath $halt -MemoryMB 16 -ReadOnlyDiskPath $paths -EnableEntropy -ErrorAction Stop } |
            Should -Throw -ErrorId 'TooManyDevices,PvhVm.Module.Commands.NewPvhVmCommand'
        (New-PvhVm -Name 'eight' -KernelPath $halt -MemoryMB 16 -ReadOnlyDiskPath $paths | Get-PvhVmDisk).GuestName[-1] | Should -Be 'vdh'
    }
}

Describe 'One image, two VMs (<Hosting>)' -ForEach (Get-PvhVmHostingCase) {
    BeforeAll { Use-PvhVmHosting $Hosting }
    BeforeEach { Clear-PvhVm }

    It 'refuses a second writer while the first runs (DiskImageInUse), and lets it start once the first has stopped' {
        $image = (New-PvhDisk (Join-Path $TestDrive 'shared.img') 1 -Force).FullName
        $first = New-PvhVm -Name 'writer-1' -KernelPath $halt -MemoryMB 16 -DiskPath $image | Start-PvhVm -PassThru
        $second = New-PvhVm -Name 'writer-2' -KernelPath $halt -MemoryMB 16 -DiskPath $image
        $second | Start-PvhVm -ErrorVariable refused -ErrorAction SilentlyContinue
        $refused | Should -HaveCount 1
        $refused[0].FullyQualifiedErrorId | Should -Be 'DiskImageInUse,PvhVm.Module.Commands.StartPvhVmCommand'
        $refused[0].ErrorDetails.RecommendedAction | Should -Match 'read-only'
        $second.State | Should -Be 'Failed'
        # A reader cannot have it while a writer does, either.
        New-PvhVm -Name 'reader' -KernelPath $halt -MemoryMB 16 -ReadOnlyDiskPath $image | Start-PvhVm -ErrorVariable reader -ErrorAction SilentlyContinue
        $reader[0].FullyQualifiedErrorId | Should -Be 'DiskImageInUse,PvhVm.Module.Commands.StartPvhVmCommand'

        $first | Stop-PvhVm
        (New-PvhVm -Name 'writer-3' -KernelPath $halt -MemoryMB 16 -DiskPath $image | Start-PvhVm -PassThru).State | Should -Be 'Running'
    }

    It 'shares a read-only image among running VMs' {
        $image = (New-PvhDisk (Join-Path $TestDrive 'ro-shared.img') 1 -Force).FullName
        $vms = 1..3 | ForEach-Object { New-PvhVm -Name "ro-$_" -KernelPath $halt -MemoryMB 16 -ReadOnlyDiskPath $image }
        $vms | Start-PvhVm -ErrorVariable failed
        $failed | Should -BeNullOrEmpty
        $vms.State | Should -Be 'Running', 'Running', 'Running'
    }
}
