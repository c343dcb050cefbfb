"""A kernel: one or more C files, include dirs, defines and flags, with a content hash.

The sandbox never sees the host's file system.  `Kernel.load` reads the sources and
exactly the headers they reach through `#include` (resolved like the preprocessor does,
but only inside the source directories and the declared `-I` directories), and lays
them out under one relative tree that is copied into the sandbox.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from .types import KernelError, Status

MAX_SOURCE_BYTES = 8 << 20  # one file
MAX_TREE_BYTES = 64 << 20  # everything copied into the sandbox
MAX_FILES = 4000

_INCLUDE = re.compile(rb'^\s*#\s*(?:include|import|include_next)\s*([<"])([^>"\n]+)[>"]', re.M)
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Flags that would fight the build recipe or load code into the compiler.
_REJECTED_FLAGS = ("-o", "-c", "-S", "-E", "-M", "-emit-", "-O", "-Xclang", "-fplugin", "-load", "@", "-B",
                   "--config", "-x", "-save-temps", "-fsave-optimization-record", "-flto")


def _kernel_error(message: str) -> KernelError:
    return KernelError(Status.COMPILE_ERROR, message)


@dataclass(frozen=True)
class Kernel:
    """What the sandbox needs to build a kernel, independent of where it came from."""

    name: str
    files: dict[str, bytes]  # relative posix path -> contents (sources and headers)
    sources: tuple[str, ...]  # relative paths of the translation units, in order
    include_dirs: tuple[str, ...] = ()  # relative paths inside `files`' tree
    defines: tuple[str, ...] = ()  # NAME or NAME=VALUE
    flags: tuple[str, ...] = ()  # extra clang flags
    origin: tuple[str, ...] = field(default=(), compare=False)  # host paths, for humans

    @property
    def content_hash(self) -> str:
        h = hashlib.sha256()
        for rel in sorted(self.files):
            h.update(rel.encode() + b"\0" + hashlib.sha256(self.files[rel]).digest())
        for part in (self.sources, self.include_dirs, self.defines, self.flags):
            h.update(b"\1" + "\0".join(part).encode())
        return h.hexdigest()

    def clang_args(self) -> list[str]:
        """Flags for clang, relative to the root of the copied tree."""
        args = [f"-I{d}" for d in self.include_dirs]
        args += [f"-D{d}" for d in self.defines]
        args += list(self.flags)
        return args

    def describe(self) -> str:
        return " ".join(self.origin) if self.origin else self.name

    @classmethod
    def load(
        cls,
        paths: list[str | os.PathLike[str]],
        include_dirs: list[str | os.PathLike[str]] = (),  # type: ignore[assignment]
        defines: list[str] = (),  # type: ignore[assignment]
        flags: list[str] = (),  # type: ignore[assignment]
        name: str | None = None,
    ) -> Kernel:
        if not paths:
            raise _kernel_error("no C file given")
        srcs = []
        for p in paths:
            path = Path(p)
            if not path.exists():
                raise _kernel_error(f"{p}: no such file")
            if not path.is_file():
                raise _kernel_error(f"{p}: not a regular file")
            if path.suffix not in (".c", ".h", ".i"):
                raise _kernel_error(f"{p}: not a C file (expected a .c file)")
            srcs.append(path.resolve())
        incs = []
        for d in include_dirs:
            dp = Path(d)
            if not dp.is_dir():
                raise _kernel_error(f"-I {d}: no such directory")
            incs.append(dp.resolve())
        for d in defines:
            if not _NAME.match(d.split("=", 1)[0]):
                raise _kernel_error(f"-D {d}: not a macro name")
        for f in flags:
            if not f.startswith("-") or any(f.startswith(r) for r in _REJECTED_FLAGS):
                raise _kernel_error(f"flag {f!r} is not allowed (optloop owns -O, -o, -c, -S and the output)")

        roots = sorted({s.parent for s in srcs} | set(incs))
        base = Path(os.path.commonpath([str(r) for r in roots]))
        found = _collect(srcs, incs, roots)
        files: dict[str, bytes] = {}
        total = 0
        for path in sorted(found):
            data = found[path]
            total += len(data)
            if total > MAX_TREE_BYTES or len(files) >= MAX_FILES:
                raise _kernel_error(f"kernel too large: more than {MAX_TREE_BYTES >> 20} MiB of sources and headers")
            files[str(PurePosixPath(path.relative_to(base)))] = data
        rel = lambda p: str(PurePosixPath(p.relative_to(base))) or "."  # noqa: E731
        return cls(
            name=name or srcs[0].stem,
            files=files,
            sources=tuple(rel(s) for s in srcs),
            include_dirs=tuple(rel(d) for d in incs),
            defines=tuple(defines),
            flags=tuple(flags),
            origin=tuple(str(p) for p in paths),
        )


def _read(path: Path) -> bytes:
    size = path.stat().st_size
    if size > MAX_SOURCE_BYTES:
        raise _kernel_error(f"{path}: {size} bytes is too large for a kernel source (limit {MAX_SOURCE_BYTES})")
    data = path.read_bytes()
    if not data.strip():
        raise _kernel_error(f"{path}: empty file")
    if b"\0" in data[:65536]:
        raise _kernel_error(f"{path}: binary file, not C source")
    return data


def _inside(path: Path, roots: list[Path]) -> bool:
    return any(path == r or r in path.parents for r in roots)


def _collect(srcs: list[Path], incs: list[Path], roots: list[Path]) -> dict[Path, bytes]:
    """The sources and every header they reach, resolved only inside `roots`."""
    found: dict[Path, bytes] = {}
    todo = list(srcs)
    while todo:
        path = todo.pop()
        if path in found:
            continue
        found[path] = _read(path)
        if len(found) > MAX_FILES:
            raise _kernel_error(f"kernel too large: more than {MAX_FILES} files")
        for quote, name in _INCLUDE.findall(found[path]):
            target = name.decode(errors="replace").strip()
            search = ([path.parent] if quote == b'"' else []) + incs
            for d in search:
                cand = (d / target).resolve()
                if cand.is_file() and _inside(cand, roots):
                    todo.append(cand)
                    break
            # Not found here: a system header (the sandbox has libc's) or missing,
            # in which case clang says so in the sandbox, as a compile_error.
    return found
