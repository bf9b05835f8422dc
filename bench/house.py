"""The house's measures for issue 31: modules per folder, the longest
functions, string dispatches in the study and private names imported across
layers. Run from the repository root: ``python bench/house.py [ROOT]``."""

import ast
import pathlib
import re
import sys
from collections import Counter

ROOT = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else ".") / "sklenet"
# A step or training kind compared or parsed as a string.
DISPATCH = re.compile(
    r"""kind\s*[!=]=|\.kind\s+in\s|split\("_"\)|endswith\("[a-z_]+"\)"""
    r"""|==\s*"(search|evaluation|learning_curve|convergence|ensemble)\"""")


def modules():
    return sorted(p for p in ROOT.rglob("*.py") if "templates" not in p.parts)


def package_of(module):
    """The subpackage a module file is in, or the module itself at the top."""
    relative = module.relative_to(ROOT)
    return relative.parts[0] if len(relative.parts) > 1 else relative.stem


def main():
    folders = Counter(str(p.parent.relative_to(ROOT.parent)) for p in modules())
    print("modules per folder:", dict(sorted(folders.items())))
    functions = []
    dispatches = []
    private = []
    for path in modules():
        text = path.read_text()
        tree = ast.parse(text)
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                functions.append((node.end_lineno - node.lineno + 1,
                                  f"{path.relative_to(ROOT.parent)}:{node.name}"))
            if isinstance(node, ast.ImportFrom) and node.level >= 1:
                # A relative import out of this subpackage, of private names.
                if "study" in path.parts and node.level >= 2:
                    names = [a.name for a in node.names if a.name.startswith("_")]
                    if node.module and node.module.split(".")[-1].startswith("_"):
                        names.append(f"module {node.module}")
                    private += [f"{path.name}: {n}" for n in names]
        if "study" in path.parts:
            dispatches += [f"{path.name}:{i}: {line.strip()}"
                           for i, line in enumerate(text.splitlines(), 1)
                           if DISPATCH.search(line)]
            private += [f"{path.name}: .{m}" for m in re.findall(
                r"\.(_[a-z][a-z_]+)\(", text) if m not in {"__init__"}
                and not re.search(rf"def {m}\(", text)]
    print("10 longest functions:")
    for length, name in sorted(functions, reverse=True)[:10]:
        print(f"  {length:4d} {name}")
    print(f"string dispatches in study/: {len(dispatches)}")
    for line in dispatches:
        print("  ", line)
    print(f"private names of lower layers used by study/: {len(private)}")
    for line in private:
        print("  ", line)


if __name__ == "__main__":
    main()
