#!/usr/bin/env bash
# Regenerates the committed gRPC code (+ .pyi stubs) from protos/. `make protos` runs it.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-libs/common/src}"
rm -rf "$out/chat"
mkdir -p "$out"
python -m grpc_tools.protoc -Iprotos \
  --python_out="$out" --pyi_out="$out" --grpc_python_out="$out" --mypy_grpc_out="$out" \
  $(find protos -name '*.proto' | sort)
# Packages need __init__.py files for imports and type checkers.
find "$out/chat" -type d -exec touch {}/__init__.py \;
