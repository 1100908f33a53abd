"""`make bench`'s console figure counts what the first page load downloads: the entry chunk and its static
imports, not the lazily loaded editors."""

from __future__ import annotations

import gzip
from pathlib import Path

from tests.bench.console_bundle import initial_chunks, report


def _dist(tmp_path: Path) -> Path:
    assets = tmp_path / "assets"
    assets.mkdir()
    (tmp_path / "index.html").write_text(
        '<script type="module" crossorigin src="/assets/index-a.js"></script>'
        '<link rel="stylesheet" href="/assets/index-a.css">'
    )
    (assets / "index-a.js").write_text(
        'import{r as x}from"./vendor-b.js";const E=()=>import("./Editor-c.js");console.log(x,E);'
    )
    (assets / "vendor-b.js").write_text('import"./shared-d.js";export const r=1;' + "v" * 5000)
    (assets / "shared-d.js").write_text("export const s=2;")
    (assets / "Editor-c.js").write_text('import"./shared-d.js";' + "e" * 100_000)
    return tmp_path


def test_the_initial_javascript_is_the_entry_and_its_static_imports_not_the_lazy_chunks(
    tmp_path: Path, capsys: object
) -> None:
    # Given a build whose entry imports a vendor chunk statically and an editor lazily
    dist = _dist(tmp_path)
    # When the initial chunks are collected
    chunks = [p.name for p in initial_chunks(dist)]
    # Then the lazy editor is not among them, the transitive static import is
    assert chunks == ["index-a.js", "vendor-b.js", "shared-d.js"]
    # And the reported total is their gzipped sum
    total = report(dist)
    expected = sum(len(gzip.compress((dist / "assets" / n).read_bytes(), compresslevel=9)) for n in chunks)
    assert total == expected
