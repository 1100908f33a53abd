"""The console's initial JavaScript, gzipped: what a browser downloads before the first page shows.

    python -m tests.bench.console_bundle [--dist frontend/dist] [--build]

Reads `frontend/dist/index.html` (`cd frontend && npm run build` writes it; `--build` runs the build first),
follows the entry script and every chunk it imports statically (`import ... from "./x.js"`; lazily loaded
chunks, `import("./x.js")`, are not part of the first load), and prints each file's gzipped size and the sum.
The aim is under 300 KB: heavy editors (CodeMirror, charts, diff, layout) load with the page that needs them.
"""

from __future__ import annotations

import argparse
import gzip
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
AIM_KB = 300
_ENTRY = re.compile(r'<script[^>]+type="module"[^>]+src="/?([^"]+\.js)"')
_PRELOAD = re.compile(r'<link[^>]+rel="modulepreload"[^>]+href="/?([^"]+\.js)"')
# Static imports in a minified chunk: `import{a as b}from"./x.js"`, `import"./x.js"`; not `import("./x.js")`.
_STATIC = re.compile(r'(?:\bfrom|\bimport)\s*"(\./[^"]+\.js)"')


def initial_chunks(dist: Path) -> list[Path]:
    """The entry chunk and every chunk reached from it through static imports, in discovery order."""
    html = (dist / "index.html").read_text()
    todo = [dist / m for m in _ENTRY.findall(html) + _PRELOAD.findall(html)]
    if not todo:
        raise SystemExit(f"no module script in {dist / 'index.html'}")
    seen: list[Path] = []
    while todo:
        chunk = todo.pop(0).resolve()
        if chunk in seen:
            continue
        seen.append(chunk)
        for rel in _STATIC.findall(chunk.read_text()):
            todo.append(chunk.parent / rel)
    return seen


def gzipped(path: Path) -> int:
    return len(gzip.compress(path.read_bytes(), compresslevel=9))


def report(dist: Path) -> int:
    chunks = initial_chunks(dist)
    total = 0
    print("\nConsole initial JavaScript (gzip -9)")
    for chunk in chunks:
        size = gzipped(chunk)
        total += size
        print(f"  {chunk.name:40} {size / 1000:8.1f} KB")
    lazy = sorted(p for p in (dist / "assets").glob("*.js") if p.resolve() not in chunks)
    lazy_kb = sum(gzipped(p) for p in lazy) / 1000
    print(f"  {'total':40} {total / 1000:8.1f} KB  (aim < {AIM_KB} KB; {len(lazy)} lazy chunks, {lazy_kb:.0f} KB)")
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dist", default=str(REPO / "frontend" / "dist"))
    parser.add_argument("--build", action="store_true", help="run `npm run build` in frontend/ first")
    args = parser.parse_args()
    if args.build:
        subprocess.run(["npm", "run", "build"], cwd=REPO / "frontend", check=True, stdout=sys.stderr)
    dist = Path(args.dist)
    if not (dist / "index.html").exists():
        raise SystemExit(f"{dist / 'index.html'} is missing: run `cd frontend && npm run build` (or pass --build)")
    report(dist)


if __name__ == "__main__":
    main()
