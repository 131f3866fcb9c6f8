"""Find the shipped folders in an installed wheel or at the repo root in a checkout."""
from __future__ import annotations

from pathlib import Path

_PKG = Path(__file__).resolve().parent


def asset_dir(name: str) -> Path:
    """`templates`, `static` or `piccolo_migrations`: inside the package when installed, else the repo root."""
    inside = _PKG / name
    if inside.is_dir():
        return inside
    return _PKG.parent / name
