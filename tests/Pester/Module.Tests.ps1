BeforeAll {
    $modulePath = $env:PVHVM_MODULE_PATH
    Import-Module (Join-Path $modulePath 'PvhVm.psd1') -Force
}

Describe 'PvhVm module' {
    It 'loads from the built module folder, not the source tree' {
        $module = Get-Module PvhVm
        $module | Should -Not -BeNullOrEmpty
        $module.ModuleBase | Should -Be (Resolve-Path $env:PVHVM_MODULE_PATH).Path
        $module.Version | Should -Be ([version]'0.1.0')
    }
}
