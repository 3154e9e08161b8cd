# Runs the real WinFsp driver on a Windows machine with WinFsp 2.x installed (winfsp.dev) and the .NET 10 SDK.
# NOT run in CI (CI is Linux); run by hand:  powershell -ExecutionPolicy Bypass -File scripts\windows\test.ps1
# Mounts S: over the embedded local server, runs Explorer-like and Office-like sequences, unmounts.
param(
    [string]$Drive = "S:",
    [int]$MountTimeoutSeconds = 60
)
$ErrorActionPreference = "Stop"
$repo = Resolve-Path (Join-Path $PSScriptRoot "..\..")
$work = Join-Path $env:TEMP ("scaidrivefs-wintest-" + [guid]::NewGuid().ToString("N"))
New-Item -ItemType Directory -Path $work | Out-Null

if (-not (Get-ItemProperty -Path "HKLM:\SOFTWARE\WOW6432Node\WinFsp" -Name InstallDir -ErrorAction SilentlyContinue)) {
    throw "WinFsp is not installed (HKLM\SOFTWARE\WOW6432Node\WinFsp InstallDir missing)."
}

dotnet build (Join-Path $repo "src\ScaiDriveFS.Cli") -c Release -o (Join-Path $work "bin") | Out-Host
$cli = Join-Path $work "bin\scaidrivefs.exe"
if (-not (Test-Path $cli)) { $cli = Join-Path $work "bin\ScaiDriveFS.Cli.exe" }

$failures = 0
function Check([string]$name, [scriptblock]$body) {
    try { & $body; Write-Host "ok    $name" }
    catch { $script:failures++; Write-Host "FAIL  $name : $_" }
}

$mount = Start-Process -FilePath $cli -ArgumentList @("mount", $Drive, "--foreground", "--cache-dir", (Join-Path $work "cache")) -PassThru -NoNewWindow
try {
    $deadline = (Get-Date).AddSeconds($MountTimeoutSeconds)
    while (-not (Test-Path "$Drive\") -and (Get-Date) -lt $deadline) { Start-Sleep -Milliseconds 250 }
    if (-not (Test-Path "$Drive\")) { throw "$Drive did not appear within $MountTimeoutSeconds s." }
    $root = "$Drive\wintest-" + [guid]::NewGuid().ToString("N").Substring(0, 8)

    Check "mkdir and list (Explorer new folder)" {
        New-Item -ItemType Directory -Path $root | Out-Null
        New-Item -ItemType Directory -Path "$root\New folder" | Out-Null
        if (-not (Get-ChildItem $root | Where-Object Name -eq "New folder")) { throw "folder not listed" }
    }
    Check "write, read back, size" {
        Set-Content -Path "$root\hello.txt" -Value "hello windows" -NoNewline
        if ((Get-Content "$root\hello.txt" -Raw) -ne "hello windows") { throw "content differs" }
        if ((Get-Item "$root\hello.txt").Length -ne 13) { throw "size differs" }
    }
    Check "case-insensitive, case-preserving" {
        if ((Get-Content "$root\HELLO.TXT" -Raw) -ne "hello windows") { throw "case-insensitive open failed" }
        if (-not (Get-ChildItem $root -Name | Where-Object { $_ -ceq "hello.txt" })) { throw "stored case lost" }
    }
    Check "Office-style save (tmp, backup rename, replace, delete backup)" {
        Set-Content -Path "$root\Report.docx" -Value "v1" -NoNewline
        Set-Content -Path "$root\~WRL0001.tmp" -Value "v2" -NoNewline
        Rename-Item "$root\Report.docx" "~WRL0002.tmp"
        [System.IO.File]::Move("$root\~WRL0001.tmp", "$root\Report.docx", $true)
        Remove-Item "$root\~WRL0002.tmp"
        if ((Get-Content "$root\Report.docx" -Raw) -ne "v2") { throw "saved content differs" }
        if (Get-ChildItem $root -Filter "~WRL*") { throw "temporary files left" }
    }
    Check "ReplaceIfExists onto an existing file (File.Replace)" {
        Set-Content -Path "$root\book.xlsx" -Value "old" -NoNewline
        Set-Content -Path "$root\book.tmp" -Value "new" -NoNewline
        [System.IO.File]::Replace("$root\book.tmp", "$root\book.xlsx", "$root\book.bak")
        if ((Get-Content "$root\book.xlsx" -Raw) -ne "new") { throw "replace failed" }
        Remove-Item "$root\book.bak"
    }
    Check "delete-on-close" {
        $fs = [System.IO.FileStream]::new("$root\scratch.tmp", [System.IO.FileMode]::Create, [System.IO.FileAccess]::ReadWrite,
            [System.IO.FileShare]::None, 4096, [System.IO.FileOptions]::DeleteOnClose)
        $fs.WriteByte(1); $fs.Dispose()
        if (Test-Path "$root\scratch.tmp") { throw "file survived its handle" }
    }
    Check "non-empty folder cannot be removed without -Recurse" {
        Set-Content -Path "$root\New folder\x.txt" -Value "x"
        $refused = $false
        try { [System.IO.Directory]::Delete("$root\New folder", $false) } catch { $refused = $true }
        if (-not $refused) { throw "non-empty folder was removed" }
    }
    Check "truncate and extend" {
        $f = [System.IO.File]::Open("$root\hello.txt", "Open", "ReadWrite")
        $f.SetLength(5); $f.SetLength(8); $f.Dispose()
        if ((Get-Item "$root\hello.txt").Length -ne 8) { throw "length differs" }
    }
    Check "volume label and free space" {
        $volume = Get-PSDrive -Name $Drive.TrimEnd(':')
        if ($null -eq $volume.Free) { throw "no free space reported" }
    }
    Check "large file round trip (8 MiB)" {
        $bytes = New-Object byte[] (8MB); (New-Object System.Random 7).NextBytes($bytes)
        [System.IO.File]::WriteAllBytes("$root\big.bin", $bytes)
        $back = [System.IO.File]::ReadAllBytes("$root\big.bin")
        if (-not [System.Linq.Enumerable]::SequenceEqual($bytes, $back)) { throw "content differs" }
    }
    Check "cleanup" { Remove-Item -Recurse -Force $root }
}
finally {
    & $cli unmount $Drive | Out-Host
    if (-not $mount.WaitForExit(60000)) { Stop-Process -Id $mount.Id -Force }
    Remove-Item -Recurse -Force $work -ErrorAction SilentlyContinue
}

$passed = 11 - $failures
Write-Host "$passed passed, $failures failed"
if ($failures -gt 0) { exit 1 }
