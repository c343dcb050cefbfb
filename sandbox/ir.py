"""Reading what the toolchain produced: IR instruction counts, features, object sizes.

Counting works on the textual IR with no parser, so it is cheap enough to run on
every candidate; `count_instructions_llvmlite` is the reference it is tested
against.  llvmlite (LLVM 22) only *reads* IR here: it never runs passes in the
agent's process (it aborts the process on some bad input).
"""

from __future__ import annotations

import re
import struct
from collections import Counter
from typing import Any

_OPCODE = re.compile(r"^\s*(?:%[-\w.$]+\s*=\s*)?(?:tail\s+|musttail\s+|notail\s+)?([a-z][a-z0-9_.]*)")


def _body_lines(ir: str):
    """Yield the instruction lines of every function body in textual IR."""
    in_body = False
    for line in ir.splitlines():
        if not in_body:
            if line.startswith("define ") and line.rstrip().endswith("{"):
                in_body = True
            continue
        if line.startswith("}"):
            in_body = False
            continue
        # Instructions are indented by exactly two spaces; labels sit in column 0,
        # continuation lines (switch cases, landingpad clauses) are indented further.
        if len(line) > 2 and line[0] == " " and line[1] == " " and line[2] not in " ;]#":
            yield line


def count_instructions(ir: str) -> int:
    """LLVM IR instruction count (CompilerGym's IrInstructionCount) of a textual module."""
    return sum(1 for _ in _body_lines(ir))


def opcode_histogram(ir: str) -> Counter[str]:
    """How often each opcode appears: the instruction mix shown to models."""
    hist: Counter[str] = Counter()
    for line in _body_lines(ir):
        m = _OPCODE.match(line)
        if m:
            hist[m.group(1)] += 1
    return hist


def summarize(ir: str) -> dict[str, Any]:
    """A compact description of a module, for prompts when the IR is too long to show."""
    functions = []
    current: str | None = None
    count = blocks = 0
    for line in ir.splitlines():
        if line.startswith("define "):
            m = re.search(r"@([-\w.$\"]+)\(", line)
            current, count, blocks, in_block = (m.group(1) if m else "?"), 0, 0, False
        elif current is not None:
            if line.startswith("}"):
                functions.append({"name": current, "instructions": count, "blocks": blocks})
                current = None
            elif line and not line[0].isspace() and re.match(r"^[-\w.$\"]+:", line):
                blocks, in_block = blocks + 1, True  # a labelled block
            elif line.startswith("  ") and len(line) > 2 and line[2] not in " ;]#":
                if not in_block:  # the unlabelled entry block
                    blocks, in_block = blocks + 1, True
                count += 1
    hist = opcode_histogram(ir)
    return {
        "instructions": sum(f["instructions"] for f in functions),
        "functions": sorted(functions, key=lambda f: -f["instructions"]),
        "declarations": sum(1 for line in ir.splitlines() if line.startswith("declare ")),
        "globals": sum(1 for line in ir.splitlines() if line.startswith("@")),
        "opcodes": dict(hist.most_common()),
        "loads": hist.get("load", 0),
        "stores": hist.get("store", 0),
        "allocas": hist.get("alloca", 0),
        "calls": hist.get("call", 0) + hist.get("invoke", 0),
        "branches": hist.get("br", 0) + hist.get("switch", 0),
        "phis": hist.get("phi", 0),
    }


def count_instructions_llvmlite(ir: str) -> int:
    """The same count through LLVM's own parser (llvmlite); the reference for tests."""
    import llvmlite.binding as llvm

    llvm.initialize_native_target()
    llvm.initialize_native_asmparser()
    mod = llvm.parse_assembly(ir)
    mod.verify()
    return sum(1 for f in mod.functions for b in f.blocks for _ in b.instructions)


def text_size(obj: bytes) -> int:
    """Bytes in the executable (.text*) sections of an ELF64 relocatable object."""
    if len(obj) < 64 or obj[:4] != b"\x7fELF" or obj[4] != 2:
        raise ValueError("not an ELF64 object")
    endian = "<" if obj[5] == 1 else ">"
    shoff = struct.unpack_from(endian + "Q", obj, 0x28)[0]
    shentsize, shnum, shstrndx = struct.unpack_from(endian + "HHH", obj, 0x3A)
    if shoff == 0 or shentsize < 64 or shoff + shnum * shentsize > len(obj):
        raise ValueError("truncated ELF section table")
    sections = []
    for i in range(shnum):
        base = shoff + i * shentsize
        name, _type, flags = struct.unpack_from(endian + "IIQ", obj, base)
        size = struct.unpack_from(endian + "Q", obj, base + 0x20)[0]
        offset = struct.unpack_from(endian + "Q", obj, base + 0x18)[0]
        sections.append((name, flags, size, offset))
    strtab_off = sections[shstrndx][3] if shstrndx < len(sections) else 0
    total = 0
    for name_off, flags, size, _ in sections:
        end = obj.find(b"\0", strtab_off + name_off)
        name = obj[strtab_off + name_off : end].decode(errors="replace")
        # SHF_EXECINSTR = 0x4: .text and the per-function .text.* sections.
        if flags & 0x4 and name.startswith(".text"):
            total += size
    return total
