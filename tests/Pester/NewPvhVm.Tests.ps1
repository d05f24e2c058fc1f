BeforeDiscovery { Import-Module (Join-Path $PSScriptRoot 'PvhVm.TestHelpers.psm1') -Force }

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'PvhVm.TestHelpers.psm1') -Force
    Import-BuiltPvhVm
    $probe = Join-Path $env:PVHVM_MODULE_PATH 'guests/probe.elf'
}

Describe 'New-PvhVm (<Hosting>)' -ForEach (Get-PvhVmHostingCase) {
    BeforeAll { Use-PvhVmHosting $Hosting }
    AfterEach { Clear-PvhVm }

    It 'creates a VM in state Created from the built-in probe, with the documented defaults' {
        $vm = New-PvhVm -Name 'new-default'
        $vm | Should -BeOfType ([PvhVm.Module.Vms.VmHandle])
        $vm.Hosting | Should -Be $Hosting
        $vm.PSTypeNames | Should -Contain 'PvhVm.Vm'
        $vm.State | Should -Be 'Created'
        $vm.KernelPath | Should -Be (Resolve-Path $probe).Path
        $vm.MemoryMB | Should -Be 256
        $vm.ProcessorCount | Should -Be 1
        $vm.CommandLine | Should -Be ''
        $vm.InitrdPath | Should -BeNullOrEmpty
        $vm.Id | Should -Not -Be ([guid]::Empty)
        $vm.BootInfo.IsPvhBootable | Should -BeTrue
        (Get-PvhVm -Name 'new-default').Id | Should -Be $vm.Id
    }

    It 'gives a VM its PvhVm.Vm type name once, however often and from wherever it is written' {
        $null = New-PvhVm -Name 'new-typename'
        1..3 | ForEach-Object { $null = Get-PvhVm -Name 'new-typename' }
        $null = 1..4 | ForEach-Object -ThrottleLimit 4 -Parallel {
            Import-Module (Join-Path $using:env:PVHVM_MODULE_PATH 'PvhVm.psd1')
            Get-PvhVm -Name 'new-typename'
        }
        (Get-PvhVm -Name 'new-typename').PSTypeNames | Where-Object { $_ -eq 'PvhVm.Vm' } | Should -HaveCount 1
    }

    It 'passes every parameter into the VM configuration' {
        $initrd = Join-Path $TestDrive 'initrd.img'
        [IO.File]::WriteAllBytes($initrd, [byte[]](1..64))
        $vm = New-PvhVm -Name 'new-params' -KernelPath $probe -InitrdPath $initrd -CommandLine 'console=ttyS0 quiet' -MemoryMB 64 -ProcessorCount 2
        $vm.MemoryMB | Should -Be 64
        $vm.ProcessorCount | Should -Be 2
        $vm.CommandLine | Should -Be 'console=ttyS0 quiet'
        $vm.InitrdPath | Should -Be $initrd
    }

    It 'takes the kernel path positionally' {
        (New-PvhVm 'new-positional' $probe).KernelPath | Should -Be $probe
    }

    It 'resolves paths relative to the current location, through PSDrives and from ~' {
        Copy-Item $probe (Join-Path $TestDrive 'copy.elf')
        Push-Location $TestDrive
        try {
            (New-PvhVm -Name 'new-relative' -KernelPath './copy.elf').KernelPath | Should -Be (Join-Path $TestDrive 'copy.elf')
        }
        finally { Pop-Location }
        (New-PvhVm -Name 'new-psdrive' -KernelPath 'TestDrive:/copy.elf').KernelPath | Should -Be (Join-Path $TestDrive 'copy.elf')

        $home_copy = Join-Path $HOME "pvhvm-test-$PID.elf"
        Copy-Item $probe $home_copy
        try {
            (New-PvhVm -Name 'new-home' -KernelPath "~/pvhvm-test-$PID.elf").KernelPath | Should -Be $home_copy
        }
        finally { Remove-PvhVm -Name 'new-home' -Force; Remove-Item $home_copy }
    }

    It 'binds parameters by property name, so CSV rows become VMs' {
        $rows = @(
            [pscustomobject]@{ Name = 'csv-1'; MemoryMB = 32; CommandLine = 'one' }
            [pscustomobject]@{ Name = 'csv-2'; MemoryMB = 48; CommandLine = 'two' }
        )
        $vms = $rows | New-PvhVm
        $vms.Name | Should -Be 'csv-1', 'csv-2'
        $vms.MemoryMB | Should -Be 32, 48
        $vms.CommandLine | Should -Be 'one', 'two'
    }

    It 'makes one VM per piped file, named after the file and booting it' {
        $dir = New-Item -ItemType Directory (Join-Path $TestDrive 'guests')
        Copy-Item (Get-TestGuestPath spin) (Join-Path $dir 'spin.elf')
        Copy-Item (Get-TestGuestPath echo) (Join-Path $dir 'echo.elf')
        $vms = Get-ChildItem (Join-Path $dir '*.elf') | New-PvhVm
        $vms.Name | Should -Be 'echo.elf', 'spin.elf'
        $vms.KernelPath | Should -Be (Join-Path $dir 'echo.elf'), (Join-Path $dir 'spin.elf')
        $vms[0] | Start-PvhVm -PassThru | Wait-PvhVm -ConsolePattern '^echo ready$' -Timeout 30 -PassThru | Should -Not -BeNullOrEmpty
        (Get-Item (Join-Path $dir 'spin.elf') | New-PvhVm -Name 'spin-item').KernelPath | Should -Be (Join-Path $dir 'spin.elf')
    }

    It 'refuses a duplicate name, case-insensitively, with VmNameTaken' {
        $null = New-PvhVm -Name 'dup'
        New-PvhVm -Name 'DUP' -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $err[0].FullyQualifiedErrorId | Should -BeLike 'VmNameTaken,*'
        $err[0].CategoryInfo.Category | Should -Be 'ResourceExists'
        $err[0].TargetObject | Should -Be 'DUP'
        @(Get-PvhVm -Name 'dup').Count | Should -Be 1
    }

    It 'refuses names with wildcard characters' {
        New-PvhVm -Name 'bad*' -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -BeLike 'InvalidVmName,*'
        Get-PvhVm | Should -BeNullOrEmpty
    }

    It 'refuses a name of only white space as InvalidVmName, in plain words' {
        New-PvhVm -Name '  ' -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -Be 'InvalidVmName,PvhVm.Module.Commands.NewPvhVmCommand'
        $err[0].CategoryInfo.Category | Should -Be 'InvalidArgument'
        "$($err[0])" | Should -Be 'A VM name cannot be empty or only white space.'
        Get-PvhVm | Should -BeNullOrEmpty
    }

    It 'says which VM failed, as the target and in the message, for each row from the pipeline' {
        $absent = Join-Path $TestDrive 'absent.elf'
        $rows = @(
            [pscustomobject]@{ Name = 'row-ok'; MemoryMB = 32 }
            [pscustomobject]@{ Name = 'm1'; MemoryMB = 1 }
            [pscustomobject]@{ Name = 'row-nokernel'; KernelPath = $absent }
            [pscustomobject]@{ Name = 'row-noinitrd'; InitrdPath = $absent }
        )
        ($rows | New-PvhVm -ErrorVariable err -ErrorAction SilentlyContinue).Name | Should -Be 'row-ok'
        $err.FullyQualifiedErrorId | Should -Be @(
            'BootFailedMemoryTooSmall,PvhVm.Module.Commands.NewPvhVmCommand'
            'KernelImageNotFound,PvhVm.Module.Commands.NewPvhVmCommand'
            'PathNotFound,PvhVm.Module.Commands.NewPvhVmCommand')
        $err.TargetObject | Should -Be 'm1', 'row-nokernel', 'row-noinitrd'
        "$($err[0])" | Should -Be "VM 'm1': MemoryMB 1 is below the minimum of 2 MiB."
        "$($err[1])" | Should -BeLike "VM 'row-nokernel': *$absent*"
        "$($err[2])" | Should -BeLike "VM 'row-noinitrd': *$absent*"
    }

    It 'reports a missing kernel as KernelImageNotFound' {
        New-PvhVm -Name 'nokernel' -KernelPath (Join-Path $TestDrive 'absent.elf') -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -BeLike 'KernelImageNotFound,*'
        $err[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
        Get-PvhVm | Should -BeNullOrEmpty
    }

    It 'reports a file that is no kernel image as NotAKernelImage, as Get-PvhBootInfo does' {
        $junk = Join-Path $TestDrive 'junk.bin'
        [IO.File]::WriteAllBytes($junk, [byte[]](0..255))
        New-PvhVm -Name 'junk' -KernelPath $junk -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -Be 'NotAKernelImage,PvhVm.Module.Commands.NewPvhVmCommand'
        $err[0].CategoryInfo.Category | Should -Be 'InvalidData'
        $err[0].TargetObject | Should -Be 'junk'
        "$($err[0])" | Should -BeLike "VM 'junk': *$junk*"
    }

    It 'reports an ELF without a PVH entry note as NotPvhBootable' {
        # pwsh's own host is an x86-64 ELF with no Xen PHYS32_ENTRY note.
        $elf = (Get-Process -Id $PID).Path
        New-PvhVm -Name 'notpvh' -KernelPath $elf -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -BeLike 'NotPvhBootable,*'
        $err[0].CategoryInfo.Category | Should -Be 'InvalidData'
        Get-PvhVm | Should -BeNullOrEmpty
    }

    It 'reports what the engine refuses before start as BootFailed plus its kind' {
        New-PvhVm -Name 'tiny' -MemoryMB 1 -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -BeLike 'BootFailedMemoryTooSmall,*'
        $err[0].CategoryInfo.Category | Should -Be 'InvalidArgument'
        Get-PvhVm | Should -BeNullOrEmpty
    }

    It 'reports a missing initrd as PathNotFound' {
        New-PvhVm -Name 'noinitrd' -InitrdPath (Join-Path $TestDrive 'absent.img') -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -BeLike 'PathNotFound,*'
        $err[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
    }

    It 'refuses an initrd that is a directory or empty at creation, saying which' {
        New-PvhVm -Name 'dirinitrd' -InitrdPath $TestDrive -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -BeLike 'BootFailedInitrdUnreadable,*'
        $err[0].Exception.Message | Should -BeLike '*is a directory*'
        $empty = New-Item (Join-Path $TestDrive 'empty.img') -ItemType File
        New-PvhVm -Name 'emptyinitrd' -InitrdPath $empty -ErrorVariable err2 -ErrorAction SilentlyContinue
        $err2[0].FullyQualifiedErrorId | Should -BeLike 'BootFailedInitrdUnreadable,*'
        $err2[0].Exception.Message | Should -BeLike '*empty*'
        Get-PvhVm -Name '*initrd' | Should -BeNullOrEmpty
    }

    It 'refuses kernel and initrd paths of providers that hold no files, as PathNotFound' {
        New-PvhVm -Name 'envkernel' -KernelPath 'env:HOME' -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -BeLike 'PathNotFound,*'
        $err[0].Exception.Message | Should -BeLike '*Environment provider*'
        New-PvhVm -Name 'envinitrd' -InitrdPath 'function:prompt' -ErrorVariable err2 -ErrorAction SilentlyContinue
        $err2[0].FullyQualifiedErrorId | Should -BeLike 'PathNotFound,*'
        Get-PvhVm -Name 'env*' | Should -BeNullOrEmpty
    }

    It 'creates nothing with -WhatIf' {
        New-PvhVm -Name 'whatif' -WhatIf | Should -BeNullOrEmpty
        Get-PvhVm -Name 'whatif' -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
    }
}
