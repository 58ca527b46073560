"""What machine a benchmark ran on: CPU, cores, load, and the versions that matter."""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
from importlib import metadata


def cpu_model() -> str:
    """The CPU's model name, as /proc/cpuinfo says (a VM may hide the real one)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def node_version() -> str | None:
    """``node --version``, or None when Node is not installed."""
    node = shutil.which("node")
    if node is None:
        return None
    return subprocess.run([node, "--version"], capture_output=True, text=True).stdout.strip()


def package_version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def machine(*packages: str) -> dict[str, object]:
    """The machine and the versions of ``packages``, as a JSON-ready dict."""
    info: dict[str, object] = {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "node": node_version(),
    }
    if "cryptography" in packages:
        from cryptography.hazmat.backends.openssl import backend

        info["cryptography_openssl"] = backend.openssl_version_text()
    info["packages"] = {name: package_version(name) for name in packages}
    return info


def describe(info: dict[str, object]) -> str:
    """One line for a table's caption."""
    packages = info.get("packages") or {}
    assert isinstance(packages, dict)
    versions = ", ".join(f"{k} {v}" for k, v in packages.items() if v)
    return (
        f"{info['cpu']}, {info['cores']} cores, load {info['load_average']}; "
        f"Python {info['python']}, Node {info['node']}; {versions}"
    )
