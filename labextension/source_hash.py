"""The hash of everything the prebuilt extension is built from; build.sh records it, a test compares it.

Run as a script it prints the hash. Inputs: src/, style/, package.json,
package-lock.json and tsconfig.json of this folder, by relative path and content.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

HERE = Path(__file__).resolve().parent
INPUTS = ("src", "style", "package.json", "package-lock.json", "tsconfig.json")
RECORDED = HERE.parent / "jetnb" / "labextension" / "source.sha256"


def source_hash(folder: Path = HERE) -> str:
    digest = hashlib.sha256()
    for name in INPUTS:
        top = folder / name
        for path in sorted([top] if top.is_file() else (p for p in top.rglob("*") if p.is_file())):
            digest.update(path.relative_to(folder).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


if __name__ == "__main__":
    print(source_hash())
