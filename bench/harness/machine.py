"""What the figures were measured on and with."""
import hashlib
import os
import platform
import re
import subprocess


def _out(*args):
    try:
        return subprocess.run(args, capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return ""


def describe(repo):
    cpu = ""
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem_kib = int(f.readline().split()[1])
    os_name = ""
    if os.path.exists("/etc/os-release"):
        with open("/etc/os-release") as f:
            m = re.search(r'^PRETTY_NAME="?([^"\n]*)', f.read(), re.M)
            os_name = m.group(1) if m else ""
    lock = open(os.path.join(repo, "Cargo.lock")).read()
    tauri = re.search(r'name = "tauri"\nversion = "([^"]+)"', lock)
    wry = re.search(r'name = "wry"\nversion = "([^"]+)"', lock)
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(mem_kib / 1024 / 1024, 1),
        "os": os_name,
        "kernel": platform.release(),
        "webkitgtk": _out("dpkg-query", "-W", "-f=${Version}", "libwebkit2gtk-4.1-0"),
        "rustc": _out("rustc", "--version"),
        "tauri": tauri.group(1) if tauri else None,
        "wry": wry.group(1) if wry else None,
        "display": "Xvfb 1280x800x24, D-Bus session, gnome-keyring, dunst, a StatusNotifierWatcher "
                   "(scripts/with-desktop); no compositor, no window manager",
    }


def git(repo):
    rev = _out("git", "-C", repo, "rev-parse", "HEAD")
    dirty = bool(_out("git", "-C", repo, "status", "--porcelain", "--untracked-files=no", "--", ".",
                      ":(exclude)docs/benchmarks.json", ":(exclude)docs/benchmarks.md", ":(exclude)Cargo.lock"))
    return rev, dirty


def fingerprint(path):
    """sha256 (first 16 hex digits), size and mtime of a binary: which build was measured."""
    with open(path, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()[:16]
    st = os.stat(path)
    return {"sha256_16": digest, "bytes": st.st_size, "mtime": int(st.st_mtime)}
