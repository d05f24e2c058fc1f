#Requires -Version 7.4
<#
.SYNOPSIS
    Builds the module's help files from docs/help/*.md: en-US/PvhVm.dll-Help.xml (MAML) and en-US/about_*.help.txt.
.DESCRIPTION
    Text comes from the markdown; parameter metadata (type, required, position, pipeline input, wildcards,
    aliases, parameter sets) comes from Get-Command on the freshly built module, so the help cannot drift from
    the code. Run it in a fresh pwsh: it imports the built module. Fails when a cmdlet's markdown is missing,
    misses a section, or documents parameters that differ from the cmdlet's.
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)] [string] $ModuleDirectory,
    [Parameter(Mandatory)] [string] $SourceDirectory
)

Set-StrictMode -Version 3.0
$ErrorActionPreference = 'Stop'

$ModuleDirectory = (Resolve-Path $ModuleDirectory).Path
$module = Import-Module (Join-Path $ModuleDirectory 'PvhVm.psd1') -PassThru -Force
$outDir = New-Item -ItemType Directory -Force (Join-Path $ModuleDirectory 'en-US')
# -WhatIf and -Confirm are documented like any parameter; the common parameters are described by about_CommonParameters.
$commonParameters = [System.Management.Automation.PSCmdlet]::CommonParameters

# --- markdown -------------------------------------------------------------------------------------------

# Splits a help markdown file into { Title; Sections: name -> { Text; Subsections: [ { Title; Text } ] } }.
function Read-HelpMarkdown([string] $path) {
    $doc = [ordered]@{ Title = $null; Sections = [ordered]@{} }
    $section = $null
    $sub = $null
    $inCode = $false
    foreach ($line in Get-Content $path) {
        if ($line -match '^```') { $inCode = -not $inCode }
        if (-not $inCode -and $line -match '^# (.+)$') { $doc.Title = $Matches[1].Trim(); continue }
        if (-not $inCode -and $line -match '^## (.+)$') {
            $section = [pscustomobject]@{ Text = [Collections.Generic.List[string]]::new(); Subsections = [Collections.Generic.List[object]]::new() }
            $doc.Sections[$Matches[1].Trim()] = $section
            $sub = $null
            continue
        }
        if (-not $inCode -and $line -match '^### (.+)$') {
            $sub = [pscustomobject]@{ Title = $Matches[1].Trim(); Text = [Collections.Generic.List[string]]::new() }
            $section.Subsections.Add($sub)
            continue
        }
        if ($sub) { $sub.Text.Add($line) } elseif ($section) { $section.Text.Add($line) }
    }
    $doc
}

# Paragraphs of a markdown block: blank lines separate; lines of a paragraph join with spaces; code blocks stay verbatim.
function Split-Paragraphs([string[]] $lines) {
    $paragraphs = [Collections.Generic.List[string]]::new()
    $current = [Collections.Generic.List[string]]::new()
    $inCode = $false
    foreach ($line in $lines) {
        if ($line -match '^```') {
            if ($inCode) { $paragraphs.Add($current -join "`n"); $current.Clear() }
            elseif ($current.Count) { $paragraphs.Add($current -join ' '); $current.Clear() }
            $inCode = -not $inCode
            continue
        }
        if ($inCode) { $current.Add($line); continue }
        if ($line.Trim() -eq '') {
            if ($current.Count) { $paragraphs.Add($current -join ' '); $current.Clear() }
            continue
        }
        $current.Add(($line.Trim() -replace '`([^`]+)`', '$1' -replace '\*\*([^*]+)\*\*', '$1'))
    }
    if ($current.Count) { $paragraphs.Add($current -join ' ') }
    @($paragraphs)
}

function Get-Section($doc, [string] $name, [string] $file) {
    if (-not $doc.Sections.Contains($name)) { throw "${file}: missing '## $name'." }
    $doc.Sections[$name]
}

# --- MAML -----------------------------------------------------------------------------------------------

$ns = @{
    maml    = 'http://schemas.microsoft.com/maml/2004/10'
    command = 'http://schemas.microsoft.com/maml/dev/command/2004/10'
    dev     = 'http://schemas.microsoft.com/maml/dev/2004/10'
}

function Write-Paras([System.Xml.XmlWriter] $w, [string[]] $paragraphs) {
    foreach ($p in $paragraphs) { $w.WriteElementString('maml', 'para', $ns.maml, $p) }
}

function Write-Description([System.Xml.XmlWriter] $w, [string[]] $paragraphs) {
    $w.WriteStartElement('maml', 'description', $ns.maml)
    Write-Paras $w $paragraphs
    $w.WriteEndElement()
}

function Get-PipelineInput($parameter) {
    $kinds = @()
    if ($parameter.Attributes | Where-Object { $_ -is [System.Management.Automation.ParameterAttribute] -and $_.ValueFromPipeline }) { $kinds += 'ByValue' }
    if ($parameter.Attributes | Where-Object { $_ -is [System.Management.Automation.ParameterAttribute] -and $_.ValueFromPipelineByPropertyName }) { $kinds += 'ByPropertyName' }
    if ($kinds) { "True ($($kinds -join ', '))" } else { 'False' }
}

function Get-TypeName([type] $type) {
    if ($type -eq [System.Management.Automation.SwitchParameter]) { return 'SwitchParameter' }
    $underlying = [Nullable]::GetUnderlyingType($type)
    if ($underlying) { $underlying.Name } else { $type.Name }
}

# One <command:parameter>; $set is a parameter set's metadata (syntax) or $null (the parameters section).
function Write-Parameter([System.Xml.XmlWriter] $w, $parameter, $set, [string[]] $description) {
    $setMeta = if ($set) { $parameter.ParameterSets[$set] ?? $parameter.ParameterSets['__AllParameterSets'] } else { $null }
    $required = if ($setMeta) { $setMeta.IsMandatory } else { [bool]($parameter.ParameterSets.Values | Where-Object IsMandatory) }
    $positions = @(if ($setMeta) { $setMeta.Position } else { $parameter.ParameterSets.Values.Position | Select-Object -Unique })
    $position = if ($positions.Count -eq 1 -and $positions[0] -ge 0) { "$($positions[0])" } else { 'named' }
    $isSwitch = $parameter.ParameterType -eq [System.Management.Automation.SwitchParameter]
    $globbing = [bool]($parameter.Attributes | Where-Object { $_ -is [System.Management.Automation.SupportsWildcardsAttribute] })
    $aliases = if ($parameter.Aliases.Count) { $parameter.Aliases -join ', ' } else { 'none' }

    $w.WriteStartElement('command', 'parameter', $ns.command)
    $w.WriteAttributeString('required', "$required".ToLower())
    $w.WriteAttributeString('variableLength', "$($parameter.ParameterType.IsArray)".ToLower())
    $w.WriteAttributeString('globbing', "$globbing".ToLower())
    $w.WriteAttributeString('pipelineInput', (Get-PipelineInput $parameter))
    $w.WriteAttributeString('position', $position)
    $w.WriteAttributeString('aliases', $aliases)
    $w.WriteElementString('maml', 'name', $ns.maml, $parameter.Name)
    Write-Description $w $description
    if (-not $isSwitch -or -not $set) {
        $w.WriteStartElement('command', 'parameterValue', $ns.command)
        $w.WriteAttributeString('required', "$(-not $isSwitch)".ToLower())
        $w.WriteAttributeString('variableLength', "$($parameter.ParameterType.IsArray)".ToLower())
        $w.WriteString((Get-TypeName $parameter.ParameterType))
        $w.WriteEndElement()
    }
    if ($parameter.ParameterType.IsEnum -or ($parameter.ParameterType.IsArray -and $parameter.ParameterType.GetElementType().IsEnum)) {
        $enum = if ($parameter.ParameterType.IsArray) { $parameter.ParameterType.GetElementType() } else { $parameter.ParameterType }
        $w.WriteStartElement('command', 'parameterValueGroup', $ns.command)
        foreach ($value in [enum]::GetNames($enum)) {
            $w.WriteStartElement('command', 'parameterValue', $ns.command)
            $w.WriteAttributeString('required', 'false')
            $w.WriteAttributeString('variableLength', 'false')
            $w.WriteString($value)
            $w.WriteEndElement()
        }
        $w.WriteEndElement()
    }
    $w.WriteStartElement('dev', 'type', $ns.dev)
    $w.WriteElementString('maml', 'name', $ns.maml, ([Nullable]::GetUnderlyingType($parameter.ParameterType) ?? $parameter.ParameterType).FullName)
    $w.WriteEndElement()
    $w.WriteElementString('dev', 'defaultValue', $ns.dev, 'None')
    $w.WriteEndElement()
}

function Write-TypeList([System.Xml.XmlWriter] $w, [string] $listName, [string] $itemName, $section) {
    $w.WriteStartElement('command', $listName, $ns.command)
    foreach ($entry in $section.Subsections) {
        $w.WriteStartElement('command', $itemName, $ns.command)
        $w.WriteStartElement('dev', 'type', $ns.dev)
        $w.WriteElementString('maml', 'name', $ns.maml, $entry.Title)
        $w.WriteEndElement()
        Write-Description $w (Split-Paragraphs $entry.Text)
        $w.WriteEndElement()
    }
    $w.WriteEndElement()
}

function Write-Command([System.Xml.XmlWriter] $w, [System.Management.Automation.CommandInfo] $command, $doc, [string] $file) {
    # Positional parameters first, in position order, then the named ones alphabetically.
    $parameters = $command.Parameters.Values | Where-Object Name -notin $commonParameters | Sort-Object @(
        @{ Expression = { $p = @($_.ParameterSets.Values.Position | Where-Object { $_ -ge 0 }); if ($p.Count) { ($p | Measure-Object -Minimum).Minimum } else { [int]::MaxValue } } }
        @{ Expression = 'Name' })
    $documented = @{}
    foreach ($entry in (Get-Section $doc 'PARAMETERS' $file).Subsections) {
        $documented[$entry.Title.TrimStart('-')] = @(Split-Paragraphs $entry.Text)
    }
    $missing = $parameters.Name | Where-Object { -not $documented.ContainsKey($_) }
    $extra = $documented.Keys | Where-Object { $_ -notin $parameters.Name }
    if ($missing -or $extra) { throw "${file}: parameters differ from $($command.Name): missing [$($missing -join ', ')], unknown [$($extra -join ', ')]." }

    $w.WriteStartElement('command', 'command', $ns.command)
    $w.WriteStartElement('command', 'details', $ns.command)
    $w.WriteElementString('command', 'name', $ns.command, $command.Name)
    $w.WriteElementString('command', 'verb', $ns.command, $command.Verb)
    $w.WriteElementString('command', 'noun', $ns.command, $command.Noun)
    Write-Description $w (Split-Paragraphs (Get-Section $doc 'SYNOPSIS' $file).Text)
    $w.WriteEndElement()
    Write-Description $w (Split-Paragraphs (Get-Section $doc 'DESCRIPTION' $file).Text)

    $w.WriteStartElement('command', 'syntax', $ns.command)
    foreach ($set in $command.ParameterSets) {
        $w.WriteStartElement('command', 'syntaxItem', $ns.command)
        $w.WriteElementString('maml', 'name', $ns.maml, $command.Name)
        $ordered = $set.Parameters | Where-Object Name -notin $commonParameters |
            Sort-Object @{ Expression = { if ($_.Position -ge 0) { $_.Position } else { [int]::MaxValue } } }, @{ Expression = { -not $_.IsMandatory } }
        foreach ($p in $ordered) { Write-Parameter $w $command.Parameters[$p.Name] $set.Name $documented[$p.Name] }
        $w.WriteEndElement()
    }
    $w.WriteEndElement()

    $w.WriteStartElement('command', 'parameters', $ns.command)
    foreach ($p in $parameters) { Write-Parameter $w $p $null $documented[$p.Name] }
    $w.WriteEndElement()

    Write-TypeList $w 'inputTypes' 'inputType' (Get-Section $doc 'INPUTS' $file)
    Write-TypeList $w 'returnValues' 'returnValue' (Get-Section $doc 'OUTPUTS' $file)

    $w.WriteStartElement('maml', 'alertSet', $ns.maml)
    $w.WriteStartElement('maml', 'alert', $ns.maml)
    Write-Paras $w (Split-Paragraphs (Get-Section $doc 'NOTES' $file).Text)
    $w.WriteEndElement()
    $w.WriteEndElement()

    $examples = (Get-Section $doc 'EXAMPLES' $file).Subsections
    if ($examples.Count -lt 2) { throw "${file}: needs at least two examples." }
    $w.WriteStartElement('command', 'examples', $ns.command)
    foreach ($example in $examples) {
        $text = $example.Text -join "`n"
        if ($text -notmatch '(?s)```powershell\n(.*?)\n```(.*)') { throw "${file}: '$($example.Title)' has no powershell code block." }
        $code, $remarks = $Matches[1], $Matches[2]
        $w.WriteStartElement('command', 'example', $ns.command)
        $w.WriteElementString('maml', 'title', $ns.maml, "-------------------------- $($example.Title) --------------------------")
        $w.WriteElementString('dev', 'code', $ns.dev, $code)
        $w.WriteStartElement('dev', 'remarks', $ns.dev)
        Write-Paras $w (Split-Paragraphs ($remarks -split "`n"))
        $w.WriteEndElement()
        $w.WriteEndElement()
    }
    $w.WriteEndElement()
    $w.WriteEndElement()
}

$cmdlets = Get-Command -Module $module.Name -CommandType Cmdlet | Sort-Object Name
$settings = [System.Xml.XmlWriterSettings]@{ Indent = $true; Encoding = [System.Text.UTF8Encoding]::new($false) }
$mamlPath = Join-Path $outDir 'PvhVm.dll-Help.xml'
$writer = [System.Xml.XmlWriter]::Create($mamlPath, $settings)
try {
    $writer.WriteStartDocument()
    $writer.WriteStartElement('helpItems', 'http://msh')
    $writer.WriteAttributeString('schema', 'maml')
    foreach ($prefix in 'maml', 'command', 'dev') { $writer.WriteAttributeString('xmlns', $prefix, $null, $ns[$prefix]) }
    foreach ($command in $cmdlets) {
        $file = Join-Path $SourceDirectory "$($command.Name).md"
        if (-not (Test-Path $file)) { throw "No help source for $($command.Name): $file" }
        $doc = Read-HelpMarkdown $file
        if ($doc.Title -ne $command.Name) { throw "${file}: title '$($doc.Title)' is not '$($command.Name)'." }
        Write-Command $writer $command $doc $file
    }
    $writer.WriteEndElement()
    $writer.WriteEndDocument()
}
finally { $writer.Dispose() }
Write-Host "Help: $mamlPath ($($cmdlets.Count) cmdlets)"

# --- about topics: markdown headings become upper-case headings, text is indented, code blocks kept ---------

foreach ($source in Get-ChildItem $SourceDirectory -Filter 'about_*.md') {
    $lines = [Collections.Generic.List[string]]::new()
    $inCode = $false
    foreach ($line in Get-Content $source.FullName) {
        if ($line -match '^```') { $inCode = -not $inCode; continue }
        if ($inCode) { $lines.Add("    $line"); continue }
        if ($line -match '^# (.+)$') { $lines.Add('TOPIC'); $lines.Add("    $($Matches[1])"); continue }
        if ($line -match '^#{2,} (.+)$') { $lines.Add($Matches[1].ToUpperInvariant()); continue }
        $lines.Add($(if ($line.Trim()) { "    $($line -replace '`([^`]+)`', '$1')" } else { '' }))
    }
    $target = Join-Path $outDir ($source.BaseName + '.help.txt')
    Set-Content -Path $target -Value $lines -Encoding utf8NoBOM
    Write-Host "Help: $target"
}
