BeforeDiscovery { Import-Module (Join-Path $PSScriptRoot 'PvhVm.TestHelpers.psm1') -Force }

# The module's error ids are its interface: scripts match on them. This pins every id and category the engine's
# exceptions map to (src/PvhVm.Module/EngineErrors.cs), one row per exception type and kind, against the built module;
# then shows that cmdlets reading the same bad input report the same id.
BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'PvhVm.TestHelpers.psm1') -Force
    Import-BuiltPvhVm
    Clear-PvhVm

    # The map is internal: reach its one entry point through the module's assembly.
    $assembly = [PvhVm.Module.Commands.NewPvhVmCommand].Assembly
    $script:Record = $assembly.GetType('PvhVm.Module.EngineErrors', $true).GetMethod('Record')

    function script:Get-ErrorRecord([Exception] $Exception) { $Record.Invoke($null, @($Exception, 'target')) }
}

AfterAll { Clear-PvhVm }

Describe 'Every engine exception has one pinned error id and category' {
    It 'maps KernelImageException <Kind> to <Id> (<Category>)' -ForEach @(
        @{ Kind = 'NotFound'; Id = 'KernelImageNotFound'; Category = 'ObjectNotFound' }
        @{ Kind = 'NotAFile'; Id = 'KernelImageNotAFile'; Category = 'InvalidArgument' }
        @{ Kind = 'NotAKernelImage'; Id = 'NotAKernelImage'; Category = 'InvalidData' }
        @{ Kind = 'Truncated'; Id = 'KernelImageTruncated'; Category = 'InvalidData' }
        @{ Kind = 'CorruptHeader'; Id = 'KernelImageCorruptHeader'; Category = 'InvalidData' }
        @{ Kind = 'NoteOverrun'; Id = 'KernelNoteOverrun'; Category = 'InvalidData' }
        @{ Kind = 'DecompressionFailed'; Id = 'KernelDecompressionFailed'; Category = 'InvalidData' }
        @{ Kind = 'UnsupportedCompression'; Id = 'KernelUnsupportedCompression'; Category = 'NotImplemented' }
        @{ Kind = 'TooLarge'; Id = 'KernelImageTooLarge'; Category = 'LimitsExceeded' }
        @{ Kind = 'Unreadable'; Id = 'KernelImageUnreadable'; Category = 'ReadError' }
    ) {
        $record = Get-ErrorRecord ([PvhVm.Core.Kernel.KernelImageException]::new($Kind, '/k', 'bad'))
        $record.FullyQualifiedErrorId | Should -BeExactly $Id
        "$($record.CategoryInfo.Category)" | Should -BeExactly $Category
        $record.TargetObject | Should -Be 'target'
    }

    It 'maps BootException <Kind> to <Id> (<Category>)' -ForEach @(
        @{ Kind = 'NotPvhBootable'; Id = 'NotPvhBootable'; Category = 'InvalidData' }
        @{ Kind = 'SegmentInMmioHole'; Id = 'BootFailedSegmentInMmioHole'; Category = 'InvalidData' }
        @{ Kind = 'SegmentOverlapsBootData'; Id = 'BootFailedSegmentOverlapsBootData'; Category = 'InvalidData' }
        @{ Kind = 'SegmentsOverlap'; Id = 'BootFailedSegmentsOverlap'; Category = 'InvalidData' }
        @{ Kind = 'EntryOutsideSegments'; Id = 'BootFailedEntryOutsideSegments'; Category = 'InvalidData' }
        @{ Kind = 'InvalidSegment'; Id = 'BootFailedInvalidSegment'; Category = 'InvalidData' }
        @{ Kind = 'SegmentOutsideRam'; Id = 'BootFailedSegmentOutsideRam'; Category = 'InvalidArgument' }
        @{ Kind = 'MemoryTooSmall'; Id = 'BootFailedMemoryTooSmall'; Category = 'InvalidArgument' }
        @{ Kind = 'InvalidProcessorCount'; Id = 'BootFailedInvalidProcessorCount'; Category = 'InvalidArgument' }
        @{ Kind = 'InvalidCommandLine'; Id = 'BootFailedInvalidCommandLine'; Category = 'InvalidArgument' }
        @{ Kind = 'MemoryTooLarge'; Id = 'BootFailedMemoryTooLarge'; Category = 'LimitsExceeded' }
        @{ Kind = 'CommandLineTooLong'; Id = 'BootFailedCommandLineTooLong'; Category = 'LimitsExceeded' }
        @{ Kind = 'InitrdTooLarge'; Id = 'BootFailedInitrdTooLarge'; Category = 'LimitsExceeded' }
        @{ Kind = 'InitrdNotFound'; Id = 'BootFailedInitrdNotFound'; Category = 'ObjectNotFound' }
        @{ Kind = 'InitrdUnreadable'; Id = 'BootFailedInitrdUnreadable'; Category = 'ReadError' }
        @{ Kind = 'TooManyDevices'; Id = 'TooManyDevices'; Category = 'LimitsExceeded' }
    ) {
        $record = Get-ErrorRecord ([PvhVm.Core.Boot.BootException]::new($Kind, 'bad', $null))
        $record.FullyQualifiedErrorId | Should -BeExactly $Id
        "$($record.CategoryInfo.Category)" | Should -BeExactly $Category
    }

    It 'maps DiskImageException <Problem> to <Id> (<Category>)' -ForEach @(
        @{ Problem = 'NotFound'; Id = 'DiskImageNotFound'; Category = 'ObjectNotFound' }
        @{ Problem = 'NotAccessible'; Id = 'DiskImageNotAccessible'; Category = 'PermissionDenied' }
        @{ Problem = 'NotARegularFile'; Id = 'DiskImageNotAFile'; Category = 'InvalidArgument' }
        @{ Problem = 'TooSmall'; Id = 'DiskImageTooSmall'; Category = 'InvalidData' }
        @{ Problem = 'Locked'; Id = 'DiskImageInUse'; Category = 'ResourceBusy' }
        @{ Problem = 'AlreadyAttached'; Id = 'DiskAlreadyAttached'; Category = 'ResourceExists' }
    ) {
        $record = Get-ErrorRecord ([PvhVm.Core.Devices.Virtio.Block.DiskImageException]::new($Problem, '/d.img', 'bad'))
        $record.FullyQualifiedErrorId | Should -BeExactly $Id
        "$($record.CategoryInfo.Category)" | Should -BeExactly $Category
    }

    It 'maps HostResourceException <Resource> to <Id> (ResourceUnavailable) with what to do about it' -ForEach @(
        @{ Resource = 'Threads'; Id = 'HostThreadsExhausted'; Errno = 11; Action = 'fewer vCPUs' }
        @{ Resource = 'FileDescriptors'; Id = 'HostDescriptorsExhausted'; Errno = 24; Action = 'ulimit -n' }
        @{ Resource = 'Memory'; Id = 'HostMemoryExhausted'; Errno = 12; Action = 'MemoryMB' }
    ) {
        $record = Get-ErrorRecord ([PvhVm.Core.Host.HostResourceException]::new($Resource, 'op', $Errno, $null))
        $record.FullyQualifiedErrorId | Should -BeExactly $Id
        "$($record.CategoryInfo.Category)" | Should -BeExactly 'ResourceUnavailable'
        $record.ErrorDetails.RecommendedAction | Should -BeLike "*$Action*"
    }

    It 'maps TapException <Problem> to <Id> (<Category>)' -ForEach @(
        @{ Problem = 'InvalidName'; Id = 'TapNameInvalid'; Category = 'InvalidArgument' }
        @{ Problem = 'AlreadyAttached'; Id = 'NetworkAdapterAlreadyAttached'; Category = 'ResourceExists' }
        @{ Problem = 'Unavailable'; Id = 'TapUnavailable'; Category = 'ResourceUnavailable' }
    ) {
        $record = Get-ErrorRecord ([PvhVm.Core.Devices.Virtio.Net.TapException]::new($Problem, 'tap0', 'bad'))
        $record.FullyQualifiedErrorId | Should -BeExactly $Id
        "$($record.CategoryInfo.Category)" | Should -BeExactly $Category
    }

    It 'maps VsockException to VsockSocketUnavailable (ResourceUnavailable) with what to do about it' {
        $record = Get-ErrorRecord ([PvhVm.Core.Devices.Virtio.Vsock.VsockException]::new('/run/x/vsock', 'exists'))
        $record.FullyQualifiedErrorId | Should -BeExactly 'VsockSocketUnavailable'
        "$($record.CategoryInfo.Category)" | Should -BeExactly 'ResourceUnavailable'
        $record.ErrorDetails.RecommendedAction | Should -BeLike '*-VsockPath*'
    }

    It 'maps CheckpointException <Kind> to <Id> (<Category>)' -ForEach @(
        @{ Kind = 'UnsupportedDevice'; Id = 'CheckpointUnsupportedDevice'; Category = 'NotImplemented' }
        @{ Kind = 'PauseTimeout'; Id = 'PauseTimeout'; Category = 'OperationTimeout' }
        @{ Kind = 'FolderNotEmpty'; Id = 'CheckpointFolderNotEmpty'; Category = 'ResourceExists' }
        @{ Kind = 'ManifestMissing'; Id = 'CheckpointNotFound'; Category = 'ObjectNotFound' }
        @{ Kind = 'ManifestInvalid'; Id = 'CheckpointManifestInvalid'; Category = 'InvalidData' }
        @{ Kind = 'UnsupportedVersion'; Id = 'CheckpointVersionUnsupported'; Category = 'InvalidData' }
        @{ Kind = 'StateCorrupt'; Id = 'CheckpointStateCorrupt'; Category = 'InvalidData' }
        @{ Kind = 'MemoryTruncated'; Id = 'CheckpointMemoryTruncated'; Category = 'InvalidData' }
        @{ Kind = 'StateRejected'; Id = 'CheckpointStateRejected'; Category = 'InvalidData' }
        @{ Kind = 'WritableDiskNeedsImage'; Id = 'CheckpointWritableDiskNeedsImage'; Category = 'InvalidArgument' }
        @{ Kind = 'DiskMismatch'; Id = 'CheckpointDiskMismatch'; Category = 'InvalidData' }
    ) {
        $record = Get-ErrorRecord ([PvhVm.Core.Checkpoints.CheckpointException]::new($Kind, '/c', 'bad', $null))
        $record.FullyQualifiedErrorId | Should -BeExactly $Id
        "$($record.CategoryInfo.Category)" | Should -BeExactly $Category
    }

    It 'maps <Name> to <Id> (<Category>)' -ForEach @(
        @{ Name = 'KvmException opening /dev/kvm, EACCES'; Exception = { [PvhVm.Core.Kvm.KvmException]::new('open /dev/kvm', 13, $null) }; Id = 'KvmUnavailable'; Category = 'PermissionDenied' }
        @{ Name = 'KvmException opening /dev/kvm, ENOENT'; Exception = { [PvhVm.Core.Kvm.KvmException]::new('open /dev/kvm', 2, $null) }; Id = 'KvmUnavailable'; Category = 'ResourceUnavailable' }
        @{ Name = 'KvmException of an ioctl'; Exception = { [PvhVm.Core.Kvm.KvmException]::new('KVM_RUN', 14, $null) }; Id = 'KvmFailed'; Category = 'DeviceError' }
        @{ Name = 'FileNotFoundException'; Exception = { [IO.FileNotFoundException]::new('gone') }; Id = 'PathNotFound'; Category = 'ObjectNotFound' }
        @{ Name = 'UnauthorizedAccessException'; Exception = { [UnauthorizedAccessException]::new('no') }; Id = 'PathAccessDenied'; Category = 'PermissionDenied' }
        @{ Name = 'InvalidOperationException'; Exception = { [InvalidOperationException]::new('state') }; Id = 'InvalidVmState'; Category = 'InvalidOperation' }
        @{ Name = 'ArgumentException'; Exception = { [ArgumentException]::new('config') }; Id = 'InvalidVmConfig'; Category = 'InvalidArgument' }
        @{ Name = 'any other exception'; Exception = { [NotSupportedException]::new('other') }; Id = 'VmOperationFailed'; Category = 'NotSpecified' }
    ) {
        $record = Get-ErrorRecord (& $Exception)
        $record.FullyQualifiedErrorId | Should -BeExactly $Id
        "$($record.CategoryInfo.Category)" | Should -BeExactly $Category
    }

    It 'has a row above for every kind Core defines, so a new kind cannot slip through unpinned' {
        # Each kind must map without throwing (the map has no fallback) and to an id of its own.
        foreach ($pair in @(
                @{ Type = [PvhVm.Core.Kernel.KernelImageErrorKind]; New = { param($k) [PvhVm.Core.Kernel.KernelImageException]::new($k, '/k', 'bad') }; Count = 10 }
                @{ Type = [PvhVm.Core.Boot.BootErrorKind]; New = { param($k) [PvhVm.Core.Boot.BootException]::new($k, 'bad', $null) }; Count = 16 }
                @{ Type = [PvhVm.Core.Devices.Virtio.Block.DiskImageProblem]; New = { param($k) [PvhVm.Core.Devices.Virtio.Block.DiskImageException]::new($k, '/d.img', 'bad') }; Count = 6 }
                @{ Type = [PvhVm.Core.Host.HostResource]; New = { param($k) [PvhVm.Core.Host.HostResourceException]::new($k, 'op', 12, $null) }; Count = 3 }
                @{ Type = [PvhVm.Core.Devices.Virtio.Net.TapProblem]; New = { param($k) [PvhVm.Core.Devices.Virtio.Net.TapException]::new($k, 'tap0', 'bad') }; Count = 3 }
                @{ Type = [PvhVm.Core.Checkpoints.CheckpointErrorKind]; New = { param($k) [PvhVm.Core.Checkpoints.CheckpointException]::new($k, '/c', 'bad', $null) }; Count = 11 }
            )) {
            $kinds = [enum]::GetValues($pair.Type)
            $kinds | Should -HaveCount $pair.Count -Because "each $($pair.Type.Name) needs a pinned row in this file"
            $ids = foreach ($kind in $kinds) { (Get-ErrorRecord (& $pair.New $kind)).FullyQualifiedErrorId }
            $ids | Select-Object -Unique | Should -HaveCount $kinds.Count
        }
    }
}

Describe 'The same problem has the same id in every cmdlet (<Hosting>)' -ForEach (Get-PvhVmHostingCase) {
    BeforeAll { Use-PvhVmHosting $Hosting }
    It 'a file that is no kernel: NotAKernelImage from New-PvhVm and Get-PvhBootInfo' {
        $junk = Join-Path $TestDrive 'junk.bin'
        [IO.File]::WriteAllBytes($junk, [byte[]](0..255))
        New-PvhVm -Name 'same-id' -KernelPath $junk -ErrorVariable fromNew -ErrorAction SilentlyContinue
        Get-PvhBootInfo -LiteralPath $junk -ErrorVariable fromInfo -ErrorAction SilentlyContinue
        $fromNew[0].FullyQualifiedErrorId | Should -BeExactly 'NotAKernelImage,PvhVm.Module.Commands.NewPvhVmCommand'
        $fromInfo[0].FullyQualifiedErrorId | Should -BeExactly 'NotAKernelImage,PvhVm.Module.Commands.GetPvhBootInfoCommand'
        $fromNew[0].CategoryInfo.Category | Should -Be $fromInfo[0].CategoryInfo.Category
    }

    It 'a bad regular expression: InvalidConsolePattern from Get-PvhConsole and Wait-PvhVm' {
        $null = New-PvhVm -Name 'bad-pattern'
        { Get-PvhConsole -Name 'bad-pattern' -Pattern '(' -ErrorAction Stop } |
            Should -Throw -ErrorId 'InvalidConsolePattern,PvhVm.Module.Commands.GetPvhConsoleCommand'
        { Wait-PvhVm -Name 'bad-pattern' -ConsolePattern '(' -ErrorAction Stop } |
            Should -Throw -ErrorId 'InvalidConsolePattern,PvhVm.Module.Commands.WaitPvhVmCommand'
    }
}
