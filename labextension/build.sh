#!/usr/bin/env bash
# Rebuild the prebuilt JupyterLab extension committed in jetnb/labextension/ from src/ and style/,
# and record the hash of its sources there (a test fails when they differ: rebuild, then commit both).
# Needs Node >= 18 with npm, and JupyterLab's Python package on PATH, e.g.
#   PATH=/path/to/venv/bin:$PATH labextension/build.sh
set -euo pipefail
cd "$(dirname "$0")"
command -v jupyter >/dev/null || { echo "build.sh: no jupyter on PATH: put the venv that has JupyterLab on PATH" >&2; exit 1; }
npm ci --no-audit --no-fund
npx tsc
rm -rf ../jetnb/labextension lib/tsconfig.tsbuildinfo
jupyter labextension build .
python source_hash.py > ../jetnb/labextension/source.sha256
echo "built ../jetnb/labextension (sources $(cat ../jetnb/labextension/source.sha256))"
