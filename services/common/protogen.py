"""Generates the gRPC/protobuf Python code from protos/ into tokenyard/, or checks it is current.

Generated files live in one tree whose folders match their import path (`tokenyard.router.v1`),
so no service patches sys.path or keeps its own copy.
"""
from __future__ import annotations

import filecmp
import sys
import tempfile
from pathlib import Path

from grpc_tools import protoc
import grpc_tools

ROOT = Path(__file__).resolve().parents[2]
PROTOS = ROOT / "protos"
OUT = ROOT


def _generate(out: Path) -> None:
    files = sorted(str(p.relative_to(PROTOS)) for p in PROTOS.rglob("*.proto"))
    include = str(Path(grpc_tools.__file__).parent / "_proto")
    args = ["protoc", f"-I{PROTOS}", f"-I{include}", f"--python_out={out}", f"--pyi_out={out}",
            f"--grpc_python_out={out}", *files]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed")
    for folder in {(out / f).parent for f in files}:
        # Make every level a regular package so imports work without namespace-package surprises.
        while folder != out:
            (folder / "__init__.py").touch()
            folder = folder.parent


def _generated(root: Path) -> dict[str, Path]:
    base = root / "tokenyard"
    return {str(p.relative_to(root)): p for p in base.rglob("*") if p.is_file() and p.suffix in {".py", ".pyi"}}


def main(argv: list[str]) -> int:
    if "--check" not in argv:
        _generate(OUT)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        _generate(Path(tmp))
        fresh, current = _generated(Path(tmp)), _generated(OUT)
        stale = sorted(k for k in fresh.keys() | current.keys()
                       if k not in fresh or k not in current or not filecmp.cmp(fresh[k], current[k], shallow=False))
    if stale:
        print("generated code is stale; run `make protos`:\n  " + "\n  ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
