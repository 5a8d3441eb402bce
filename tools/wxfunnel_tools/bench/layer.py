"""The built layer: `sam build` for the template's architecture, then its unpacked size, its native
libraries' architecture (ELF e_machine) and that boto3/botocore are not bundled (the runtime provides them)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from wxfunnel_tools.bench.report import Section
from wxfunnel_tools.template import ROOT

_MACHINES = {0xB7: "arm64", 0x3E: "x86_64", 0x03: "x86"}


def _elf_machine(path: Path) -> str:
    with path.open("rb") as handle:
        header = handle.read(20)
    if header[:4] != b"\x7fELF":
        return "not ELF"
    code = int.from_bytes(header[18:20], "little" if header[5] == 1 else "big")
    return _MACHINES.get(code, hex(code))


def _size(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


def _zipped(root: Path) -> int:
    with tempfile.TemporaryFile() as handle:
        with zipfile.ZipFile(handle, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in root.rglob("*"):
                if path.is_file():
                    archive.write(path, path.relative_to(root))
        return handle.tell()


def run() -> Section:
    section = Section("layer (sam build)", ("what", "value"), left_aligned=True)
    venv_bin = str(Path(sys.executable).parent)
    sam = shutil.which("sam", path=venv_bin) or shutil.which("sam")
    if sam is None:
        section.notes.append("sam not found")
        return section
    with tempfile.TemporaryDirectory(prefix="wxfunnel-bench-") as tmp:
        env = {
            **os.environ,
            "PATH": venv_bin + os.pathsep + os.environ.get("PATH", ""),
            "SAM_CLI_TELEMETRY": "0",
        }
        cache = Path(tempfile.gettempdir()) / "wxfunnel-bench-sam-cache"
        command = [
            sam,
            "build",
            "--template",
            str(ROOT / "template.yaml"),
            "--build-dir",
            f"{tmp}/build",
            "--cached",
            "--cache-dir",
            str(cache),
            "--parallel",
        ]
        done = subprocess.run(  # noqa: S603
            command, capture_output=True, text=True, env=env, cwd=ROOT, check=False
        )
        layer = Path(tmp) / "build" / "WxfunnelLayer"
        if done.returncode != 0 or not layer.is_dir():
            section.notes.append(
                f"sam build failed: {(done.stderr or done.stdout).strip().splitlines()[-1:]}"
            )
            return section
        python = layer / "python"
        shared = sorted(python.rglob("*.so"))
        machines = sorted({_elf_machine(p) for p in shared})
        packages = sorted(
            p.name for p in python.iterdir() if p.is_dir() and not p.name.endswith(".dist-info")
        )
        section.add(
            "unpacked size", f"{_size(layer) / 2**20:.1f} MiB (Lambda limit: 250 MiB with the function)"
        )
        section.add("zipped size", f"{_zipped(layer) / 2**20:.1f} MiB")
        section.add("wxfunnel package", f"{_size(python / 'wxfunnel') / 2**10:.0f} KiB")
        section.add("native libraries", f"{len(shared)} .so, architecture: {', '.join(machines) or '-'}")
        bundled = [name for name in ("boto3", "botocore", "s3transfer") if (python / name).exists()]
        section.add(
            "boto3/botocore bundled", "NO (the runtime's are used)" if not bundled else f"YES: {bundled}"
        )
        section.add("top-level packages", ", ".join(packages))
        heavy = sorted(((_size(python / n), n) for n in packages), reverse=True)[:4]
        section.add("largest", ", ".join(f"{n} {s / 2**20:.1f} MiB" for s, n in heavy))
    return section
