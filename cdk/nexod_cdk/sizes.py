"""Unzipped size of each Lambda function of a synthesized app: its code asset plus the layers it names.

Lambda refuses a function whose code and layers unzip to more than 250 MB (262,144,000 bytes). The sizes are
read from the staged asset folders in the cloud assembly (`cdk.out/asset.<hash>/`), which are exactly what
is zipped and uploaded. `make bench` prints them; tests/infra caps them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

LAMBDA_UNZIPPED_LIMIT_BYTES = 262_144_000  # "250 MB" in the Lambda quotas page: 250 MiB
MB = 1_000_000


@dataclass(frozen=True)
class FunctionSize:
    logical_id: str
    handler: str
    code_bytes: int
    layers: tuple[tuple[str, int], ...]  # (layer logical id, bytes), in the function's order

    @property
    def total_bytes(self) -> int:
        return self.code_bytes + sum(size for _, size in self.layers)

    @property
    def total_mb(self) -> float:
        return self.total_bytes / MB


def folder_bytes(path: Path) -> int:
    """What the folder unzips to: the sum of its files' sizes."""
    if not path.is_dir():
        raise FileNotFoundError(f"{path} is not a staged asset folder: synthesize the app first")
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def _asset_dir(outdir: Path, s3_key: Any) -> Path:
    key = str(s3_key)
    if not key.endswith(".zip"):
        raise ValueError(f"unexpected asset key {key!r}: only zipped folder assets are measured")
    return outdir / f"asset.{key.removesuffix('.zip')}"


def function_sizes(outdir: Path, template: dict[str, Any], prefix: str = "") -> list[FunctionSize]:
    """Every `AWS::Lambda::Function` of the template whose logical id starts with `prefix` (zip functions only)."""
    resources: dict[str, Any] = template["Resources"]
    measured: dict[Path, int] = {}

    def size(path: Path) -> int:
        if path not in measured:
            measured[path] = folder_bytes(path)
        return measured[path]

    found = []
    for logical_id, res in resources.items():
        if res["Type"] != "AWS::Lambda::Function" or not logical_id.startswith(prefix):
            continue
        props = res["Properties"]
        code = props.get("Code", {})
        if "S3Key" not in code:  # inline code (CDK's own helpers) has no asset folder
            continue
        layers = []
        for ref in props.get("Layers", []):
            layer_id = ref["Ref"]
            content = resources[layer_id]["Properties"]["Content"]
            layers.append((layer_id, size(_asset_dir(outdir, content["S3Key"]))))
        found.append(
            FunctionSize(
                logical_id=logical_id,
                handler=str(props.get("Handler", "")),
                code_bytes=size(_asset_dir(outdir, code["S3Key"])),
                layers=tuple(layers),
            )
        )
    return sorted(found, key=lambda f: f.logical_id)
