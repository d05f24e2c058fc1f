# Get-PvhBootInfo on Debian's cloud kernel (fetched into the shared cache by scripts/get-test-kernel.sh),
# on pipeline input, and on bad input. Runs against the built module in $env:PVHVM_MODULE_PATH.
BeforeAll {
    Import-Module (Join-Path $env:PVHVM_MODULE_PATH 'PvhVm.psd1') -Force

    $repository = Resolve-Path (Join-Path $PSScriptRoot '../..')
    $fetched = bash (Join-Path $repository 'scripts/get-test-kernel.sh')
    if ($LASTEXITCODE -ne 0) { throw 'scripts/get-test-kernel.sh failed' }
    $script:Vmlinuz = $fetched[0]
    $script:PackageVersion = $fetched[1]
    # The xunit fixture extracts the ELF beside the vmlinuz with the module's own decompressor.
    $script:Vmlinux = $Vmlinuz -replace 'vmlinuz-([^/]+)$', 'vmlinux-$1'
    if (-not (Test-Path $Vmlinux)) { throw "no extracted vmlinux at $Vmlinux; run the xunit tests first" }
    $script:KernelDirectory = Split-Path $Vmlinuz
}

Describe 'Get-PvhBootInfo' {
    It 'describes the bzImage: LZ4 payload, PVH entry, the package version' {
        $info = Get-PvhBootInfo -Path $Vmlinuz
        $info | Should -BeOfType ([PvhVm.Core.Kernel.BootInfo])
        $info.PSObject.TypeNames | Should -Contain 'PvhVm.BootInfo'
        $info.Format | Should -Be 'BzImage'
        $info.Compression | Should -Be 'Lz4'
        $info.IsPvhBootable | Should -BeTrue
        $info.PvhEntryPoint | Should -BeGreaterThan 0
        $info.LinuxVersion | Should -BeLike "Linux version 6.*Debian $PackageVersion *"
        $info.CommandLineLimit | Should -Be 2047
    }

    It 'agrees with readelf on the extracted ELF' {
        $info = Get-PvhBootInfo $Vmlinux
        $readelf = readelf -W -h -n $Vmlinux
        $entry = ($readelf | Select-String 'Entry point address:\s+0x([0-9a-f]+)').Matches[0].Groups[1].Value
        $info.EntryPoint | Should -Be ([Convert]::ToUInt64($entry, 16))
        $phys32 = $info.Notes | Where-Object { $_.Owner -eq 'Xen' -and $_.Type -eq 18 }
        $readelfPhys32 = $readelf | Select-String 'Xen\s+0x00000008\s+Unknown note type: \(0x00000012\)\s+description data: ([0-9a-f ]+)'
        ($phys32.Descriptor | ForEach-Object { $_.ToString('x2') }) -join ' ' | Should -Be $readelfPhys32.Matches[0].Groups[1].Value.Trim()
        $info.BuildId | Should -Be ($readelf | Select-String 'Build ID: ([0-9a-f]+)').Matches[0].Groups[1].Value
    }

    It 'takes FileInfo objects from Get-ChildItem on the pipeline' {
        $infos = Get-ChildItem $KernelDirectory -Filter 'vmlinu?-*' | Get-PvhBootInfo
        $infos.Count | Should -Be 2
        ($infos.Format | ForEach-Object ToString | Sort-Object) -join ',' | Should -Be 'BzImage,Elf64'
        $infos[0].PvhEntryPoint | Should -Be $infos[1].PvhEntryPoint
    }

    It 'expands wildcards through the provider and takes -LiteralPath as written' {
        (Get-PvhBootInfo (Join-Path $KernelDirectory 'vmlinu?-*')).Count | Should -Be 2
        (Get-PvhBootInfo -LiteralPath $Vmlinuz).Format | Should -Be 'BzImage'
    }

    It 'writes a KernelImageNotFound error for a missing file and still emits the others' {
        $missing = Join-Path $TestDrive 'no-such-kernel'
        $infos = Get-PvhBootInfo -Path $missing, $Vmlinux -ErrorVariable failures -ErrorAction SilentlyContinue
        $infos.Count | Should -Be 1
        $failures.Count | Should -Be 1
        $failures[0].FullyQualifiedErrorId | Should -Be 'KernelImageNotFound,PvhVm.Module.Commands.GetPvhBootInfoCommand'
        $failures[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
        $failures[0].TargetObject | Should -Be $missing
    }

    It 'writes a NotAKernelImage error for a file that is no kernel' {
        $text = Join-Path $TestDrive 'notes.txt'
        Set-Content -Path $text -Value 'just text'
        Get-PvhBootInfo -LiteralPath $text -ErrorVariable failures -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $failures[0].FullyQualifiedErrorId | Should -Be 'NotAKernelImage,PvhVm.Module.Commands.GetPvhBootInfoCommand'
        $failures[0].CategoryInfo.Category | Should -Be 'InvalidData'
        $failures[0].TargetObject | Should -Be $text
    }

    It 'writes a KernelImageNotAFile error for a directory' {
        Get-PvhBootInfo -LiteralPath $TestDrive -ErrorVariable failures -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $failures[0].FullyQualifiedErrorId | Should -Be 'KernelImageNotAFile,PvhVm.Module.Commands.GetPvhBootInfoCommand'
    }

    It 'renders the default table with name, format, compression, PVH entry and release' {
        $info = Get-PvhBootInfo $Vmlinuz
        $table = $info | Out-String -Width 200
        $table | Should -Match 'Name\s+Format\s+Compression\s+PvhEntry\s+Release'
        $table | Should -Match ('vmlinuz-\S+\s+BzImage\s+Lz4\s+0x{0:x8}\s+6\.1\.' -f $info.PvhEntryPoint)
    }

    It 'renders the list view, and notes and segments as tables' {
        $info = Get-PvhBootInfo $Vmlinux
        $list = $info | Format-List | Out-String -Width 200
        $list | Should -Match ('PvhEntryPoint\s+: 0x{0:x8}' -f $info.PvhEntryPoint)
        $list | Should -Match 'LinuxVersion\s+: Linux version 6\.'
        $notes = $info.Notes | Out-String -Width 200
        $notes | Should -Match 'XEN_ELFNOTE_PHYS32_ENTRY\s+0x[0-9a-f]+'
        $notes | Should -Match 'NT_GNU_BUILD_ID\s+[0-9a-f]{40}'
        $segments = $info.Segments | Out-String -Width 200
        $segments | Should -Match 'LOAD\s+R E\s+0x200000\s+0xffffffff81000000\s+0x1000000'
    }

    It 'reads well under Format-List *: no type names or record dumps, nested addresses in hex' {
        $info = Get-PvhBootInfo $Vmlinuz
        $all = $info | Format-List * | Out-String -Width 400
        $all | Should -Not -Match 'System\.|PvhVm\.Core\.'
        $all | Should -Not -Match '\w+ \{ \w+ = '
        $all | Should -Match 'Segments\s+: \{LOAD R E 0x1000000\+0x[0-9a-f]+, '
        $all | Should -Match 'Notes\s+: \{Xen/XEN_ELFNOTE_GUEST_OS: linux, '
        $all | Should -Match ('SetupHeader\s+: boot protocol 2\.\d\d, .*preferred address 0x{0:x}' -f $info.SetupHeader.PreferredAddress)
    }

    It 'renders a note and a segment as lists with hex values' {
        $info = Get-PvhBootInfo $Vmlinux
        $note = $info.Notes | Where-Object TypeName -EQ 'XEN_ELFNOTE_PHYS32_ENTRY' | Format-List | Out-String -Width 200
        $note | Should -Match ('Value\s+: 0x{0:x}' -f $info.PvhEntryPoint)
        $note | Should -Match 'Descriptor\s+: ([0-9a-f]{2} )+[0-9a-f]{2}\s'
        $note | Should -Match 'FileOffset\s+: 0x[0-9a-f]+'
        $segment = $info.Segments[0] | Format-List | Out-String -Width 200
        $segment | Should -Match 'VirtualAddress\s+: 0xffffffff81000000'
        $segment | Should -Match 'PhysicalAddress\s+: 0x1000000'
        ($info.Notes + $info.Segments) | Format-List * | Out-String -Width 400 | Should -Not -Match 'System\.|PvhVm\.Core\.'
    }
}
