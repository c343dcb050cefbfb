"""Finding the translation units of a repository: each `.c` file becomes one kernel.

From a `compile_commands.json` (PATH is the file, or a directory holding one, or holding
`build/compile_commands.json`), the include directories, macros and a few safe language
flags come from the recorded command lines.  Otherwise every `.c` file under PATH is a unit
(hidden and build directories skipped) and the include directories are guessed from the tree:
every directory that holds headers, plus the file's own.
"""

from __future__ import annotations

import json
import os
import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

_MAIN = re.compile(r"\bint\s+main\s*\(")
_SKIP_DIRS = {"build", "node_modules", "__pycache__", "CMakeFiles"}
# Options whose value is the next argument; those not kept are dropped with their value.
_WITH_VALUE = {"-o", "-MF", "-MT", "-MQ", "-include", "-imacros", "-x", "-arch", "-target", "-Xclang",
               "-Xlinker", "-Xpreprocessor", "-Xassembler", "-idirafter", "-iprefix", "-isysroot",
               "--sysroot", "-U", "-aux-info", "-main-file-name", "-I", "-D", "-isystem", "-iquote"}
_INCLUDE_OPTS = ("-I", "-isystem", "-iquote")
# Language flags that change what the code means; everything else (optimization, debug info,
# warnings, code generation, dependency files) belongs to optloop's recipe, not the unit's.
_SAFE_FLAGS = ("-std=", "-ansi", "-fwrapv", "-fno-strict-aliasing", "-fstrict-aliasing", "-funsigned-char",
               "-fsigned-char", "-fno-common", "-fcommon", "-fno-builtin", "-fgnu89-inline", "-ffreestanding",
               "-fno-math-errno", "-fms-extensions")


@dataclass(frozen=True)
class Unit:
    """One translation unit to optimize as a kernel of its own."""

    path: Path
    sources: tuple[Path, ...]
    include_dirs: tuple[Path, ...] = ()
    defines: tuple[str, ...] = ()
    flags: tuple[str, ...] = ()
    has_main: bool = False
    origin: Literal["compile_commands", "scan"] = "scan"


def discover(paths: list[Path]) -> list[Unit]:
    """Every C translation unit under `paths`, in a stable order, each file once."""
    if not paths:
        raise ValueError("give at least one PATH (a directory, a .c file or a compile_commands.json)")
    units: dict[Path, Unit] = {}
    for raw in paths:
        path = Path(raw).expanduser()
        if not path.exists():
            raise ValueError(f"{raw}: no such file or directory")
        db = _compile_commands(path)
        found = from_compile_commands(db) if db is not None else scan(path)
        for unit in found:
            units.setdefault(unit.path, unit)
    if not units:
        shown = " ".join(str(p) for p in paths)
        raise ValueError(f"no C translation units (.c files) found in {shown}")
    return list(units.values())


def _compile_commands(path: Path) -> Path | None:
    if path.is_file():
        return path if path.name.endswith(".json") else None
    for cand in (path / "compile_commands.json", path / "build" / "compile_commands.json"):
        if cand.is_file():
            return cand
    return None


def has_main(source: Path) -> bool:
    try:
        return bool(_MAIN.search(source.read_text(errors="replace")))
    except OSError:
        return False


# -- compile_commands.json -------------------------------------------------------------------------
def from_compile_commands(db: Path) -> list[Unit]:
    try:
        entries = json.loads(db.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"{db}: not a readable compile_commands.json ({e})") from e
    if not isinstance(entries, list):
        raise ValueError(f"{db}: expected a JSON list of compile commands")
    base = db.resolve().parent
    units = []
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict) or "file" not in entry:
            raise ValueError(f"{db}: entry {i} has no \"file\"")
        directory = base / str(entry.get("directory") or ".")  # an absolute directory replaces base
        source = (directory / str(entry["file"])).resolve()
        if source.suffix != ".c" or not source.is_file():
            continue  # C++ and files that no longer exist are not kernels
        args = entry.get("arguments")
        if args is None:
            try:
                args = shlex.split(str(entry.get("command") or ""))
            except ValueError as e:
                raise ValueError(f"{db}: entry {i}: cannot split the command ({e})") from e
        includes, defines, flags = parse_arguments([str(a) for a in args[1:]], directory.resolve())
        units.append(Unit(path=source, sources=(source,), include_dirs=tuple(includes),
                          defines=tuple(defines), flags=tuple(flags), has_main=has_main(source),
                          origin="compile_commands"))
    return units


def parse_arguments(args: list[str], directory: Path) -> tuple[list[Path], list[str], list[str]]:
    """(-I directories, -D macros, safe flags) of one command line, the compiler already removed."""
    includes: list[Path] = []
    defines: list[str] = []
    flags: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        value: str | None = None
        name = arg
        if arg in _WITH_VALUE:
            value = args[i + 1] if i + 1 < len(args) else None
            i += 2
        else:
            i += 1
            for opt in (*_INCLUDE_OPTS, "-D"):
                if arg.startswith(opt) and len(arg) > len(opt):
                    name, value = opt, arg[len(opt):]
                    break
        if value is None:
            if arg.startswith(_SAFE_FLAGS) and arg not in flags:
                flags.append(arg)
            continue
        if name in _INCLUDE_OPTS:
            d = (directory / value).resolve()
            if d.is_dir() and d not in includes:
                includes.append(d)
        elif name == "-D" and value not in defines:
            defines.append(value)
    return includes, defines, flags


# -- scanning a tree -------------------------------------------------------------------------------
def _walk(root: Path) -> tuple[list[Path], list[Path]]:
    """(.c files, directories holding .h files) under root, skipping hidden and build folders."""
    sources: list[Path] = []
    header_dirs: list[Path] = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in _SKIP_DIRS
                         and not d.startswith("cmake-build"))
        here = Path(folder)
        if any(f.endswith(".h") for f in files):
            header_dirs.append(here.resolve())
        sources += [(here / f).resolve() for f in sorted(files) if f.endswith(".c")]
    return sources, header_dirs


def _shared(a: Path, b: Path) -> int:
    n = 0
    for x, y in zip(a.parts, b.parts, strict=False):
        if x != y:
            break
        n += 1
    return n


def scan(path: Path) -> list[Unit]:
    if path.is_file():
        if path.suffix != ".c":
            raise ValueError(f"{path}: not a C file, a directory or a compile_commands.json")
        src = path.resolve()
        return [Unit(path=src, sources=(src,), include_dirs=(src.parent,), has_main=has_main(src))]
    sources, header_dirs = _walk(path)
    units = []
    for src in sources:
        # The nearest header directories first: a unit's own include/ wins over a sibling's rng.h.
        near = sorted((d for d in header_dirs if d != src.parent),
                      key=lambda d: (-_shared(d, src.parent), len(d.parts), str(d)))
        incs = [src.parent, *near]
        units.append(Unit(path=src, sources=(src,), include_dirs=tuple(incs), has_main=has_main(src)))
    return units
