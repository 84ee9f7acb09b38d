"""The committed gRPC code must be exactly what `make protos` produces from protos/."""

import filecmp
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
COMMITTED = ROOT / "libs/common/src/chat"


def _files(base: Path) -> set[str]:
    return {
        str(p.relative_to(base))
        for p in base.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }


def test_generated_code_matches_protos(tmp_path: Path) -> None:
    subprocess.run(
        ["bash", str(ROOT / "scripts/gen_protos.sh"), str(tmp_path)], check=True, cwd=ROOT
    )
    fresh = tmp_path / "chat"
    assert _files(fresh) == _files(COMMITTED), "generated files differ: run `make protos`"
    stale = [f for f in _files(fresh) if not filecmp.cmp(fresh / f, COMMITTED / f, shallow=False)]
    assert not stale, f"generated code is stale, run `make protos`: {stale}"
