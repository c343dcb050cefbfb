"""optloop's own benchmark suite: C kernels described by `kernels/suite.json`.

Each kernel lives in `kernels/<name>/`: one or more C files with a `main()` that prints a
deterministic result, optionally headers under `include/`, and its problem sizes given as
`-D` defines.  The manifest's paths are relative to the kernel's folder; `load_suite`
turns them into absolute paths.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SUITE_DIR = Path(__file__).parent / "kernels"
MANIFEST = SUITE_DIR / "suite.json"

_REQUIRED_KEYS: dict[str, type] = {
    "name": str,
    "category": str,
    "sources": list,
    "include_dirs": list,
    "defines": list,
    "description": str,
    "quick": bool,
}


@dataclass(frozen=True)
class SuiteKernel:
    """One benchmark kernel with everything needed to build it."""

    name: str
    category: str
    sources: tuple[Path, ...]  # absolute
    include_dirs: tuple[Path, ...]  # absolute
    defines: tuple[str, ...]  # NAME=VALUE, without the -D
    description: str
    quick: bool = False
    demo: bool = False

    @property
    def folder(self) -> Path:
        return SUITE_DIR / self.name

    def clang_args(self) -> list[str]:
        """The -I and -D flags for clang."""
        return [f"-I{d}" for d in self.include_dirs] + [f"-D{d}" for d in self.defines]


def _check_entry(entry: Any, index: int) -> dict[str, Any]:
    if not isinstance(entry, dict):
        raise ValueError(f"{MANIFEST}: entry {index} is not an object")
    for key, kind in _REQUIRED_KEYS.items():
        if not isinstance(entry.get(key), kind):
            raise ValueError(f"{MANIFEST}: entry {index} needs {key!r} of type {kind.__name__}")
    if not isinstance(entry.get("demo", False), bool):
        raise ValueError(f"{MANIFEST}: entry {index}: 'demo' must be a boolean")
    return entry


def _kernel_from_entry(entry: dict[str, Any]) -> SuiteKernel:
    folder = SUITE_DIR / entry["name"]
    return SuiteKernel(
        name=entry["name"],
        category=entry["category"],
        sources=tuple(folder / s for s in entry["sources"]),
        include_dirs=tuple(folder / d for d in entry["include_dirs"]),
        defines=tuple(str(d) for d in entry["defines"]),
        description=entry["description"],
        quick=entry["quick"],
        demo=entry.get("demo", False),
    )


def load_suite(quick: bool = False) -> list[SuiteKernel]:
    """Every kernel of the manifest, in its order; only the quick ones when `quick`."""
    raw = json.loads(MANIFEST.read_text(encoding="utf-8"))
    if not isinstance(raw, list):
        raise ValueError(f"{MANIFEST}: expected a list of kernels")
    kernels = [_kernel_from_entry(_check_entry(entry, i)) for i, entry in enumerate(raw)]
    return [k for k in kernels if k.quick] if quick else kernels


def get_kernel(name: str) -> SuiteKernel:
    """The kernel called `name`; KeyError naming the known kernels when there is none."""
    kernels = load_suite()
    for kernel in kernels:
        if kernel.name == name:
            return kernel
    known = ", ".join(k.name for k in kernels)
    raise KeyError(f"no benchmark kernel named {name!r} (known: {known})")


def demo_kernel() -> SuiteKernel:
    """The one kernel marked `"demo": true` (used by `make demo`)."""
    demos = [k for k in load_suite() if k.demo]
    if len(demos) != 1:
        raise ValueError(f"{MANIFEST}: expected exactly one demo kernel, found {len(demos)}")
    return demos[0]


def cli_args(kernel: SuiteKernel) -> list[str]:
    """The arguments that name this kernel on optloop's command line (sources, -I, -D)."""
    args = [str(s) for s in kernel.sources]
    for d in kernel.include_dirs:
        args += ["-I", str(d)]
    for define in kernel.defines:
        args += ["-D", define]
    return args


def main(argv: list[str] | None = None) -> int:
    """`python -m optloop.benchmarks.suite [--demo | NAME | --list]`: print a kernel's optloop arguments."""
    import shlex
    import sys

    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] == "--list":
        for k in load_suite():
            print(f"{k.name:16} {k.category:20} {'quick ' if k.quick else ''}{'demo' if k.demo else ''}")
        return 0
    try:
        kernel = demo_kernel() if args[0] == "--demo" else get_kernel(args[0])
    except KeyError as e:
        print(f"optloop: {e.args[0]}", file=sys.stderr)
        return 2
    print(" ".join(shlex.quote(a) for a in cli_args(kernel)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
