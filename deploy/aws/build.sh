#!/usr/bin/env bash
# Build the code the SAM template deploys (CodeUri: .build/): cognito-gate and its dependencies
# for the Lambda runtime (Linux x86_64, CPython 3.12), without the emulator. Then:
#   cd deploy/aws && sam deploy --guided
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
python="${PYTHON:-python3}"
wheels="$(mktemp -d)"
trap 'rm -rf "$wheels"' EXIT

"$python" -m pip wheel --quiet --no-deps --wheel-dir "$wheels" "$root"
rm -rf "$here/.build"
"$python" -m pip install --quiet --target "$here/.build" \
  --platform manylinux2014_x86_64 --implementation cp --python-version 3.12 \
  --only-binary=:all: "$wheels"/cognito_gate-*.whl
echo "built $here/.build ($(du -sh "$here/.build" | cut -f1))"
