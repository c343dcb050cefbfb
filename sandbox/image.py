"""The sandbox image: an offline recipe (debootstrap + docker import), tagged by its hash.

No image registry is assumed.  The image holds Debian bookworm's minimal base with
clang-19, llvm-19 and libc6-dev; it is built once per recipe: the tag is a hash of
the recipe, so a changed recipe gets a new image and an unchanged one is never rebuilt.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

from .types import SandboxError

SUITE = "bookworm"
PACKAGES = ("clang-19", "llvm-19", "libc6-dev")
RECIPE_VERSION = 1
REPOSITORY = "optloop-sandbox"
DEFAULT_MIRROR = "http://deb.debian.org/debian"
LABEL = "optloop.sandbox"  # on every container optloop starts


def recipe() -> dict[str, object]:
    return {"version": RECIPE_VERSION, "suite": SUITE, "variant": "minbase", "packages": list(PACKAGES)}


def image_tag() -> str:
    digest = hashlib.sha256(json.dumps(recipe(), sort_keys=True).encode()).hexdigest()[:12]
    return f"{REPOSITORY}:{digest}"


def apt_mirror() -> str:
    """The Debian mirror apt already uses here (deb822 or one-line sources)."""
    candidates: list[Path] = sorted(Path("/etc/apt/sources.list.d").glob("*.sources"))
    for path in candidates:
        text = path.read_text(errors="replace")
        for stanza in text.split("\n\n"):
            uris = re.search(r"^URIs:\s*(\S+)", stanza, re.M)
            suites = re.search(r"^Suites:\s*(.+)$", stanza, re.M)
            if uris and suites and SUITE in suites.group(1).split() and "debian-security" not in uris.group(1):
                return uris.group(1)
    for path in [Path("/etc/apt/sources.list"), *sorted(Path("/etc/apt/sources.list.d").glob("*.list"))]:
        if not path.exists():
            continue
        for line in path.read_text(errors="replace").splitlines():
            m = re.match(r"^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+" + SUITE + r"\s", line)
            if m and "security" not in m.group(1):
                return m.group(1)
    return DEFAULT_MIRROR


def image_exists(client, tag: str | None = None) -> bool:
    import docker.errors

    try:
        client.images.get(tag or image_tag())
        return True
    except docker.errors.ImageNotFound:
        return False


def build_image(client, log: Callable[[str], None] = print, mirror: str | None = None) -> str:
    """Build the image offline (needs root for debootstrap).  Returns its tag."""
    tag = image_tag()
    if image_exists(client, tag):
        log(f"sandbox image {tag} is already built")
        return tag
    if shutil.which("debootstrap") is None:
        raise SandboxError("building the sandbox image needs debootstrap (apt-get install debootstrap)")
    if os.geteuid() != 0:
        raise SandboxError("building the sandbox image needs root (debootstrap); run `sudo optloop setup`")
    mirror = mirror or apt_mirror()
    with tempfile.TemporaryDirectory(prefix="optloop-rootfs-", dir="/var/tmp") as tmp:
        rootfs = Path(tmp) / "rootfs"
        log(f"debootstrap {SUITE} with {', '.join(PACKAGES)} from {mirror} (about a minute)")
        cmd = ["debootstrap", "--variant=minbase", f"--include={','.join(PACKAGES)}", SUITE, str(rootfs), mirror]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            tail = (proc.stdout + proc.stderr).strip().splitlines()[-5:]
            raise SandboxError("debootstrap failed: " + " | ".join(tail))
        for junk in ("var/cache/apt/archives", "var/lib/apt/lists"):
            for p in (rootfs / junk).glob("*"):
                if p.is_file():
                    p.unlink()
        log(f"importing the root file system as {tag}")
        tar = subprocess.Popen(["tar", "-C", str(rootfs), "--numeric-owner", "-c", "."], stdout=subprocess.PIPE)
        repo, version = tag.split(":")
        try:
            client.api.import_image_from_stream(
                tar.stdout, repository=repo, tag=version,
                changes=['ENV PATH=/usr/local/bin:/usr/bin:/bin', "ENV LC_ALL=C", 'CMD ["sleep", "infinity"]'],
            )
        finally:
            tar.wait()
        if tar.returncode != 0 or not image_exists(client, tag):
            raise SandboxError("docker import of the sandbox root file system failed")
    return tag


def stale_containers(client, all_of_them: bool = False) -> list:
    """optloop containers whose owner process is gone (or every one, with all_of_them)."""
    host = os.uname().nodename
    stale = []
    for c in client.containers.list(all=True, filters={"label": LABEL}):
        labels = c.labels or {}
        if all_of_them:
            stale.append(c)
            continue
        if labels.get("optloop.host") != host:
            continue
        try:
            os.kill(int(labels.get("optloop.pid", "0")), 0)
        except (ProcessLookupError, ValueError):
            stale.append(c)
        except PermissionError:
            pass  # alive, someone else's
    return stale


def remove_containers(containers: list) -> int:
    import docker.errors

    n = 0
    for c in containers:
        try:
            c.remove(force=True)
            n += 1
        except docker.errors.APIError:
            pass
    return n
