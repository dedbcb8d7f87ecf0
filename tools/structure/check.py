#!/usr/bin/env python3
"""Structure check: circles of files inside each crate, and long functions.

Usage: python3 tools/structure/check.py [--max-lines N] [--strict] [ROOT]

For every crate (`crates/*/src`, the umbrella `src/`, and the CLI's `src/`), builds the graph
"file A uses an item defined in file B" from the code itself (comments, strings and
`#[cfg(test)]` items left out):

- `use` trees (`crate::`, `super::`, `self::`, a child module's name) and paths written in the
  code (`crate::a::B`, `super::f()`, `module_alias::f()`);
- an item is followed through the `use` / `pub use` lines of the module that names it, so
  `crate::Foo` re-exported by lib.rs points at the file that defines `Foo`;
- a `pub use` in a lib.rs / mod.rs is a table-of-contents line, not a use, unless that file's
  own code names the item.

Prints each strongly connected component of more than one file (a circle), then every function
outside tests longer than `--max-lines` (default 120, signature and closing brace included).
With `--strict` the exit code is 1 when either list is non-empty (long functions named with
`--allow PATH:FUNCTION` excepted).
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

# --------------------------------------------------------------------------------------------
# Lexing: blank out comments, strings and char literals, keep newlines (line numbers hold).


def strip(src: str) -> str:
    out = []
    i, n = 0, len(src)
    while i < n:
        c = src[i]
        if src.startswith("//", i):
            j = src.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif src.startswith("/*", i):
            depth, j = 1, i + 2
            while j < n and depth:
                if src.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif src.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            out.append(blank(src[i:j]))
            i = j
        elif c == "r" and re.match(r'r#*"', src[i:]) and not is_ident(src, i - 1):
            m = re.match(r'r(#*)"', src[i:])
            close = '"' + m.group(1)
            j = src.find(close, i + len(m.group(0)))
            j = n if j < 0 else j + len(close)
            out.append('""' + blank(src[i + 2 : j]))
            i = j
        elif c == "b" and src.startswith('b"', i) and not is_ident(src, i - 1):
            out.append("b")
            i += 1
        elif c == '"':
            j = i + 1
            while j < n and src[j] != '"':
                j += 2 if src[j] == "\\" else 1
            j += 1
            out.append('"' + blank(src[i + 1 : j - 1]) + '"')
            i = j
        elif c == "'":
            # char literal ('a', '\n', '\u{..}') or a lifetime ('a)
            m = re.match(r"'(\\u\{[0-9a-fA-F]+\}|\\.|[^\\'])'", src[i:])
            if m:
                out.append("' '" + " " * (len(m.group(0)) - 3))
                i += len(m.group(0))
            else:
                out.append(c)
                i += 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def blank(s: str) -> str:
    return "".join("\n" if ch == "\n" else " " for ch in s)


def is_ident(s: str, i: int) -> bool:
    return i >= 0 and (s[i].isalnum() or s[i] == "_")


def match_brace(text: str, open_at: int) -> int:
    """Index of the `}` closing the `{` at `open_at` (text already stripped)."""
    depth = 0
    for j in range(open_at, len(text)):
        if text[j] == "{":
            depth += 1
        elif text[j] == "}":
            depth -= 1
            if depth == 0:
                return j
    return len(text) - 1


def line_of(text: str, i: int) -> int:
    return text.count("\n", 0, i) + 1


# --------------------------------------------------------------------------------------------
# Files and modules.


@dataclass
class File:
    path: Path
    module: tuple[str, ...]
    text: str = ""  # stripped, test items blanked
    is_dir_mod: bool = False  # lib.rs / mod.rs: children live below it
    test_only: bool = False
    children: dict[str, tuple[str, ...]] = field(default_factory=dict)
    uses: list = field(default_factory=list)  # (segments, glob, alias, is_pub, start, end)
    defs: set[str] = field(default_factory=set)


ITEM = re.compile(
    r"\b(?:fn|struct|enum|trait|type|const|static|union|mod)\s+([A-Za-z_]\w*)|"
    r"\bmacro_rules!\s*([A-Za-z_]\w*)"
)


def blank_tests(text: str) -> tuple[str, list[str]]:
    """Blanks `#[cfg(test)]` items; returns the text and the names of `#[cfg(test)] mod x;`."""
    test_mods = []
    while True:
        m = re.search(r"#\[cfg\(test\)\]", text)
        if not m:
            return text, test_mods
        j = m.end()
        # skip further attributes
        while True:
            a = re.match(r"\s*#\[", text[j:])
            if not a:
                break
            depth, k = 0, j + a.end() - 1
            while k < len(text):
                if text[k] == "[":
                    depth += 1
                elif text[k] == "]":
                    depth -= 1
                    if depth == 0:
                        break
                k += 1
            j = k + 1
        semi, brace = text.find(";", j), text.find("{", j)
        if semi >= 0 and (brace < 0 or semi < brace):
            mm = re.search(r"\bmod\s+(\w+)\s*;", text[j : semi + 1])
            if mm:
                test_mods.append(mm.group(1))
            end = semi
        else:
            end = match_brace(text, brace)
        text = text[: m.start()] + blank(text[m.start() : end + 1]) + text[end + 1 :]


def load_crate(src: Path) -> dict[tuple[str, ...], File]:
    files: dict[tuple[str, ...], File] = {}
    roots = [p for p in (src / "lib.rs", src / "main.rs") if p.exists()]
    if not roots:
        return files

    def visit(path: Path, module: tuple[str, ...], dir_mod: bool, test_only: bool):
        raw = path.read_text()
        text = strip(raw)
        text, test_mods = blank_tests(text)
        f = File(path, module, text, dir_mod, test_only)
        files[module] = f
        base = path.parent if dir_mod else path.parent / path.stem
        for m in re.finditer(
            r'(?:#\[path\s*=\s*"([^"]*)"\]\s*)?(?:pub(?:\([\w:]+\))?\s+)?mod\s+(\w+)\s*;',
            strip_keep_path_attrs(raw, text),
        ):
            name = m.group(2)
            if m.group(1):
                child, child_dir = base / m.group(1), False
                if not dir_mod:
                    child = path.parent / m.group(1)
            elif (base / f"{name}.rs").exists():
                child, child_dir = base / f"{name}.rs", False
            else:
                child, child_dir = base / name / "mod.rs", True
            if not child.exists():
                continue
            f.children[name] = module + (name,)
            visit(child, module + (name,), child_dir, test_only or name in test_mods)
        for m in re.finditer(r"\bmod\s+(\w+)\s*\{", text):
            f.children.setdefault(m.group(1), None)  # inline module: part of this file
        for m in ITEM.finditer(text):
            f.defs.add(m.group(1) or m.group(2))

    visit(roots[0], (), True, False)
    return files


def strip_keep_path_attrs(raw: str, stripped: str) -> str:
    """The stripped text with `#[path = "..."]` strings put back (mod resolution needs them)."""
    out = list(stripped)
    for m in re.finditer(r'#\[path\s*=\s*"[^"]*"\]', raw):
        out[m.start() : m.end()] = raw[m.start() : m.end()]
    return "".join(out)


# --------------------------------------------------------------------------------------------
# Use trees.


def parse_use_tree(s: str) -> list[tuple[list[str], bool, str | None]]:
    """`a::{b, c::d as e, f::*}` -> [(segments, glob, alias)]."""
    toks = re.findall(r"::|[{},*]|\w+", s)
    pos = 0

    def tree(prefix: list[str]) -> list:
        nonlocal pos
        res = []
        segs = list(prefix)
        while pos < len(toks):
            t = toks[pos]
            if t == "::":
                pos += 1
            elif t == "{":
                pos += 1
                while pos < len(toks) and toks[pos] != "}":
                    res += tree(segs)
                    if pos < len(toks) and toks[pos] == ",":
                        pos += 1
                pos += 1
                return res
            elif t == "*":
                pos += 1
                return res + [(segs, True, None)]
            elif t in (",", "}"):
                break
            elif t == "as":
                alias = toks[pos + 1]
                pos += 2
                return res + [(segs, False, alias)]
            else:
                segs = segs + [t]
                pos += 1
        if segs and segs[-1] == "self":
            segs = segs[:-1]
        return res + [(segs, False, None)]

    return tree([])


USE = re.compile(r"(?<![\w:])(pub(?:\s*\([\w:\s]+\))?\s+)?use\s+([^;]*);")


def collect_uses(f: File):
    for m in USE.finditer(f.text):
        for segs, glob, alias in parse_use_tree(m.group(2)):
            if segs:
                f.uses.append((segs, glob, alias, bool(m.group(1)), m.start(), m.end()))


# --------------------------------------------------------------------------------------------
# Resolution.


class Crate:
    def __init__(self, files: dict[tuple[str, ...], File]):
        self.files = files
        for f in files.values():
            collect_uses(f)

    def absolute(self, segs: list[str], module: tuple[str, ...]) -> list[str] | None:
        """A path written in `module` as crate-absolute segments; None if external."""
        if not segs:
            return None
        head = segs[0]
        if head == "crate":
            return segs[1:]
        if head in ("super", "self"):
            cur = list(module)
            i = 0
            while i < len(segs) and segs[i] in ("super", "self"):
                if segs[i] == "super":
                    if not cur:
                        return None
                    cur.pop()
                i += 1
            return cur + segs[i:]
        f = self.files.get(module)
        if f and self.files.get(module + (head,)) is not None:
            return list(module) + segs
        if f:
            # a `use` alias of a module or item in this file
            for usegs, glob, alias, _, _, _ in f.uses:
                if glob:
                    continue
                name = alias or usegs[-1]
                if name == head and usegs[0] in {"crate", "super", "self"} | set(f.children):
                    base = self.absolute(usegs, module)
                    if base is not None:
                        return base + segs[1:]
        return None

    def resolve(self, path: list[str], depth: int = 0) -> tuple[str, ...] | None:
        """The module whose file defines the item named by the crate-absolute `path`."""
        mod: tuple[str, ...] = ()
        i = 0
        while i < len(path) and (mod + (path[i],)) in self.files:
            mod = mod + (path[i],)
            i += 1
        if i == len(path) or depth > 20:
            return mod
        item = path[i]
        f = self.files[mod]
        if item in f.defs:
            return mod
        for usegs, glob, alias, _, _, _ in f.uses:
            if glob:
                base = self.absolute(usegs, mod)
                if base is not None:
                    target = self.resolve(base + [item] + path[i + 1 :], depth + 1)
                    if target is not None and item in self.files[target].defs:
                        return target
                continue
            if (alias or usegs[-1]) == item:
                base = self.absolute(usegs, mod)
                if base is None:
                    return mod
                return self.resolve(base + path[i + 1 :], depth + 1)
        return mod

    def edges(self) -> dict[tuple[str, ...], set[tuple[str, ...]]]:
        out: dict[tuple[str, ...], set[tuple[str, ...]]] = {}
        for mod, f in self.files.items():
            if f.test_only:
                continue
            deps: set[tuple[str, ...]] = set()
            use_spans = []
            for segs, glob, alias, is_pub, start, end in f.uses:
                use_spans.append((start, end))
                absolute = self.absolute(segs, mod)
                if absolute is None:
                    continue
                if is_pub and f.is_dir_mod:
                    name = alias or segs[-1]
                    body = f.text[:start] + f.text[end:]
                    if glob or not re.search(rf"(?<![\w:]){re.escape(name)}\b", body):
                        continue  # table of contents only
                deps.add(self.resolve(absolute))
            body = list(f.text)
            for start, end in use_spans:
                body[start:end] = " " * (end - start)
            body = "".join(body)
            for m in re.finditer(r"(?<![\w:])((?:[a-z_]\w*::)+)([A-Za-z_]\w*)", body):
                segs = m.group(1).split("::")[:-1] + [m.group(2)]
                absolute = self.absolute(segs, mod)
                if absolute is not None:
                    deps.add(self.resolve(absolute))
            deps.discard(mod)
            deps = {d for d in deps if d is not None and not self.files[d].test_only}
            out[mod] = deps
        return out


def cycles(graph: dict) -> list[list]:
    """Strongly connected components of more than one node (Tarjan)."""
    index, low, stack, on, res = {}, {}, [], set(), []
    counter = [0]

    def connect(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                res.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(graph):
        if v not in index:
            connect(v)
    return res


# --------------------------------------------------------------------------------------------
# Long functions.


def long_functions(f: File, max_lines: int) -> list[tuple[int, str, int]]:
    res = []
    text = f.text
    for m in re.finditer(r"\bfn\s+(\w+)", text):
        depth, j = 0, m.end()
        while j < len(text):
            c = text[j]
            if c in "([":
                depth += 1
            elif c in ")]":
                depth -= 1
            elif depth == 0 and c in "{;":
                break
            j += 1
        if j >= len(text) or text[j] == ";":
            continue
        end = match_brace(text, j)
        first, last = line_of(text, m.start()), line_of(text, end)
        if last - first + 1 > max_lines:
            res.append((first, m.group(1), last - first + 1))
    return res


# --------------------------------------------------------------------------------------------


def crate_roots(root: Path) -> list[Path]:
    roots = sorted(p for p in (root / "crates").glob("*/src") if p.is_dir())
    if (root / "src").is_dir():
        roots.append(root / "src")
    return roots


def name(f: File, root: Path) -> str:
    return str(f.path.relative_to(root))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("root", nargs="?", default=Path(__file__).resolve().parents[2], type=Path)
    ap.add_argument("--max-lines", type=int, default=120)
    ap.add_argument("--strict", action="store_true", help="exit 1 if anything is listed")
    ap.add_argument("--edges", action="store_true", help="also print every file's imports")
    ap.add_argument(
        "--allow",
        action="append",
        default=[],
        metavar="PATH:FUNCTION",
        help="a long function listed but not counted by --strict (repeatable)",
    )
    args = ap.parse_args()
    root = args.root.resolve()

    all_cycles, all_long = [], []
    for src in crate_roots(root):
        files = load_crate(src)
        if not files:
            continue
        crate = Crate(files)
        graph = crate.edges()
        if args.edges:
            for mod, deps in sorted(graph.items()):
                targets = ", ".join(sorted(name(files[d], src) for d in deps))
                print(f"{name(files[mod], root)} -> {targets}")
        for comp in cycles(graph):
            all_cycles.append([name(files[m], root) for m in comp])
        for f in files.values():
            if f.test_only:
                continue
            for line, fn, n in long_functions(f, args.max_lines):
                all_long.append((name(f, root), line, fn, n))

    print(f"circles of files inside a crate: {len(all_cycles)}")
    for comp in all_cycles:
        print("  " + " <-> ".join(comp))
    print(f"functions over {args.max_lines} lines (tests excluded): {len(all_long)}")
    counted = 0
    for path, line, fn, n in sorted(all_long, key=lambda x: -x[3]):
        allowed = f"{path}:{fn}" in args.allow
        counted += not allowed
        print(f"  {n:4d}  {fn}  {path}:{line}{'  (allowed)' if allowed else ''}")
    return 1 if args.strict and (all_cycles or counted) else 0


if __name__ == "__main__":
    sys.exit(main())
