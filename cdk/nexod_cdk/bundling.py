"""Lambda layers bundled without Docker: pip installs wheels for the Lambda runtime's platform.

Two layers: `core` (the `nexod` package and its dependencies, on every function) and `llm` (LiteLLM and
what it adds on top of core, only on the node runner). Bundles are cached by content hash in
`.nexod/cdk-bundles/` so that repeated synths and test sessions skip pip entirely.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import jsii
from aws_cdk import AssetHashType, BundlingOptions, DockerImage, ILocalBundling
from aws_cdk import aws_lambda as lambda_

from . import constants as c

BUNDLER_VERSION = "5"  # bump when the bundling logic changes: it is part of every cache key
# Subpackages of `nexod` that never ship: test doubles and benchmark helpers (`nexod.testing`). An
# import-linter contract keeps shipped code from importing them.
LAYER_EXCLUDED = ("testing",)
_IGNORED = ("__pycache__", "*.pyc")
_PLATFORM_TAGS = ("manylinux2014", "manylinux_2_28", "manylinux_2_34")  # Lambda python3.12: glibc 2.34


def _arch_tag(architecture: str) -> str:
    return "aarch64" if architecture == "arm64" else "x86_64"


def _shipped(path: Path) -> bool:
    """Whether a file under the `nexod` source goes into the core layer."""
    parts = path.relative_to(c.LAYER_SOURCE_DIR).parts
    return "__pycache__" not in parts and path.suffix != ".pyc" and parts[0] not in LAYER_EXCLUDED


def _source_files() -> list[Path]:
    files = [c.REPO_ROOT / "pyproject.toml", c.REPO_ROOT / "README.md"]
    files += sorted(p for p in c.LAYER_SOURCE_DIR.rglob("*") if p.is_file() and _shipped(p))
    return [p for p in files if p.exists()]


def _ignore_unshipped(directory: str, names: list[str]) -> set[str]:
    """`shutil.copytree` ignore hook: caches everywhere, and the excluded subpackages at the top."""
    ignored = set(shutil.ignore_patterns(*_IGNORED)(directory, names))
    if Path(directory) == c.LAYER_SOURCE_DIR:
        ignored |= set(LAYER_EXCLUDED) & set(names)
    return ignored


def copy_layer_source(dest: Path) -> None:
    """The `nexod` package as the core layer ships it: without `nexod.testing` or caches."""
    shutil.copytree(c.LAYER_SOURCE_DIR, dest, ignore=_ignore_unshipped, dirs_exist_ok=True)


CORE_DATA_PRUNED = ("pytz/zoneinfo", "yaml/_yaml.*.so")


def _deps_hash(kind: str, architecture: str) -> str:
    """What the pip-installed dependencies depend on: pins, platform, bundler version (not our source)."""
    h = hashlib.sha256()
    for part in (
        kind,
        architecture,
        c.PYTHON_VERSION,
        BUNDLER_VERSION,
        c.LITELLM_PIN,
        *c.KNOWLEDGE_PINS,
        *c.RUNTIME_PROVIDED,
        *CORE_DATA_PRUNED,
    ):
        h.update(part.encode() + b"\0")
    h.update((c.REPO_ROOT / "pyproject.toml").read_bytes())
    return h.hexdigest()


def layer_hash(kind: str, architecture: str) -> str:
    """Asset hash of a layer: its dependencies and, for core, the `nexod` source shipped in it."""
    h = hashlib.sha256(_deps_hash(kind, architecture).encode())
    if kind == "core":
        for path in _source_files():
            h.update(str(path.relative_to(c.REPO_ROOT)).encode() + b"\0" + path.read_bytes())
    return h.hexdigest()


def _pip(target: Path, architecture: str, requirements: list[str]) -> None:
    arch = _arch_tag(architecture)
    cmd = [sys.executable, "-m", "pip", "install", "--quiet", "--no-compile", "--disable-pip-version-check"]
    for tag in _PLATFORM_TAGS:
        cmd += ["--platform", f"{tag}_{arch}"]
    cmd += [
        "--only-binary=:all:",
        "--implementation",
        "cp",
        "--python-version",
        c.PYTHON_VERSION,
        "--target",
        str(target),
        *requirements,
    ]
    done = subprocess.run(cmd, check=False, capture_output=True, text=True)  # noqa: S603 - fixed argv
    if done.returncode != 0:
        errors = [line for line in done.stderr.splitlines() if not line.startswith("WARNING: Location")]
        raise RuntimeError("pip could not build the layer:\n" + "\n".join(errors[-30:]))


def _dists(site: Path) -> dict[str, tuple[str, Path]]:
    """{normalised name: (version, dist-info dir)} of what pip installed into `site`."""
    found: dict[str, tuple[str, Path]] = {}
    for info in site.glob("*.dist-info"):
        name, _, version = info.name[: -len(".dist-info")].rpartition("-")
        found[name.lower().replace("_", "-")] = (version, info)
    return found


def _record(info: Path) -> list[str]:
    record = info / "RECORD"
    paths = [line.split(",")[0] for line in record.read_text().splitlines() if line.strip()]
    return [p for p in paths if not p.startswith(("..", "bin/"))]


def _remove_dist(site: Path, info: Path) -> None:
    for rel in _record(info):
        (site / rel).unlink(missing_ok=True)
    shutil.rmtree(info, ignore_errors=True)
    for d in sorted((p for p in site.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)):
        if not any(d.iterdir()):
            d.rmdir()


def _copy_sources(dest: Path) -> Path:
    """A clean copy of what `pip install .` needs, so the build never writes into the repository."""
    src = dest / "src"
    (src / "layers").mkdir(parents=True)
    copy_layer_source(src / "layers" / "nexod")
    for name in ("pyproject.toml", "README.md"):
        if (c.REPO_ROOT / name).exists():
            shutil.copy2(c.REPO_ROOT / name, src / name)
    return src


def _build_core(site: Path, architecture: str, work: Path) -> None:
    """Dependencies only: the `nexod` package itself is copied from source at bundling time, so editing
    the application never re-runs pip."""
    _pip(site, architecture, [str(_copy_sources(work))])
    installed = _dists(site)
    for name in (*c.RUNTIME_PROVIDED, "nexod"):
        if name in installed:
            _remove_dist(site, installed[name][1])
    # What no code of ours loads, which would only count against the 50 MB small-function cap: croniter
    # imports pytz for `pytz.utc` alone (schedules use zoneinfo, with the `tzdata` package), so pytz's copy of
    # the tz database (2.6 MB) goes; and PyYAML's libyaml accelerator (2.9 MB): AgentSpec front matter is read
    # with `yaml.safe_load`, which is pure Python (the C loaders are never named).
    for pattern in CORE_DATA_PRUNED:
        for found in site.glob(pattern):
            if found.is_dir():
                shutil.rmtree(found)
            else:
                found.unlink()


def _build_llm(site: Path, architecture: str, work: Path) -> None:
    core = build_layer("core", architecture) / "python"
    both = work / "both"
    # Resolve core + LiteLLM together so shared dependencies get one consistent version...
    _pip(both, architecture, [str(_copy_sources(work)), c.LITELLM_PIN, *c.KNOWLEDGE_PINS])
    core_dists = _dists(core)
    site.mkdir(parents=True)
    for name, (version, info) in _dists(both).items():
        if name in c.RUNTIME_PROVIDED or name == "nexod":
            continue
        if name in core_dists:
            if core_dists[name][0] != version:
                raise RuntimeError(
                    f"LiteLLM needs {name}=={version} but the core layer has {core_dists[name][0]}: "
                    "align the pins in pyproject.toml so one version serves both layers"
                )
            continue  # ...and ship each shared dependency once, in core.
        for rel in [*_record(info), *(str(p.relative_to(both)) for p in info.rglob("*") if p.is_file())]:
            src = both / rel
            if src.is_file():
                (site / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(src, site / rel)
    for rel in c.LLM_LAYER_PRUNE:
        shutil.rmtree(site / rel, ignore_errors=True)


def build_layer(kind: str, architecture: str) -> Path:
    """The layer folder (containing `python/`), from the cache or built now."""
    cached = c.BUNDLE_CACHE_DIR / f"{kind}-deps-{_deps_hash(kind, architecture)[:16]}"
    if (cached / "python").is_dir():
        return cached
    c.BUNDLE_CACHE_DIR.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f"nexod-{kind}-") as tmp:
        work = Path(tmp)
        site = work / "out" / "python"
        if kind == "core":
            _build_core(site, architecture, work)
        else:
            _build_llm(site, architecture, work)
        staging = c.BUNDLE_CACHE_DIR / f".{cached.name}.{os.getpid()}"
        shutil.rmtree(staging, ignore_errors=True)
        shutil.copytree(work / "out", staging)
        try:
            staging.rename(cached)
        except OSError:  # built concurrently by another process: theirs is identical
            shutil.rmtree(staging, ignore_errors=True)
    return cached


def folder_size_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 1_000_000


@jsii.implements(ILocalBundling)
class PipLayerBundler:
    """CDK local bundling: copy the cached layer folder into CDK's output directory."""

    def __init__(self, kind: str, architecture: str) -> None:
        self.kind = kind
        self.architecture = architecture

    def try_bundle(self, output_dir: str, *_args: Any, **_options: Any) -> bool:
        source = build_layer(self.kind, self.architecture)
        try:  # hard links: the cache and cdk.out usually share a file system, and layers are ~170 MB
            shutil.copytree(source, output_dir, dirs_exist_ok=True, copy_function=os.link)
        except OSError:
            shutil.rmtree(output_dir, ignore_errors=True)
            shutil.copytree(source, output_dir, dirs_exist_ok=True)
        if self.kind == "core":
            copy_layer_source(Path(output_dir) / "python" / "nexod")
        return True


def layer_code(kind: str, architecture: str) -> lambda_.Code:
    return lambda_.Code.from_asset(
        str(c.LAYER_SOURCE_DIR),
        asset_hash_type=AssetHashType.CUSTOM,
        asset_hash=layer_hash(kind, architecture),
        bundling=BundlingOptions(
            # Never pulled: local bundling always succeeds or raises. Docker is not needed to synth.
            image=DockerImage.from_registry("public.ecr.aws/sam/build-python3.12"),
            local=PipLayerBundler(kind, architecture),
        ),
    )


def functions_code() -> lambda_.Code:
    return lambda_.Code.from_asset(
        str(c.FUNCTIONS_DIR), exclude=["**/__pycache__", "**/*.pyc", "**/.mypy_cache", "**/tests"]
    )


def migrations_hash() -> str:
    h = hashlib.sha256()
    if c.MIGRATIONS_DIR.is_dir():
        for p in sorted(c.MIGRATIONS_DIR.rglob("*")):
            if p.is_file() and "__pycache__" not in p.parts:
                h.update(p.name.encode() + b"\0" + p.read_bytes())
    return h.hexdigest()
