"""Pin every @jupyterlab/* npm package to the version the installed Python JupyterLab ships.

Reads ``jupyterlab/staging/package.json`` of the running interpreter and writes the matching yarn
``resolutions`` into ``package.json`` (root, and ``ui-tests/`` with ``--ui-tests``). ``--check`` exits 1
when the files are out of date instead of writing them.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import jupyterlab

ROOT = Path(__file__).resolve().parent.parent

# Pins outside @jupyterlab/* that keep yarn away from broken or mismatched releases on the registry
# (see ../shared/research/setup-recipe-observed.md, pitfalls P2 and P3).
EXTRA = {"@rspack/core": "2.2.9", "@rspack/binding": "2.2.9", "lib0": "0.2.111"}


# Packages whose version must be the one JupyterLab's own bundle ships: the lab shares them as singletons with
# extensions, and the headless driver should run the same CRDT code as the lab.
BUNDLED = ("yjs", "@jupyter/ydoc")


def bundled_versions() -> dict[str, str]:
    """Versions of `BUNDLED` in the installed JupyterLab's static bundle (its third-party licence list)."""
    licenses = Path(sys.prefix) / "share" / "jupyter" / "lab" / "static" / "third-party-licenses.json"
    packages = json.loads(licenses.read_text())["packages"]
    found = {p["name"]: p["versionInfo"] for p in packages if p["name"] in BUNDLED}
    missing = set(BUNDLED) - set(found)
    if missing:
        raise SystemExit(f"{licenses} lists no {sorted(missing)}")
    return found


def wanted() -> dict[str, str]:
    staging = Path(jupyterlab.__file__).parent / "staging" / "package.json"
    pins = json.loads(staging.read_text())["resolutions"]
    out = {k: v.lstrip("~^") for k, v in pins.items() if k.startswith("@jupyterlab/")}
    version = jupyterlab.__version__
    # Packages the staging list does not carry but the build and tests use, at the lab's own version.
    for name in ("@jupyterlab/core-meta", "@jupyterlab/testutils", "@jupyterlab/testing"):
        out.setdefault(name, version)
    out.update(EXTRA)
    out.update(bundled_versions())
    return dict(sorted(out.items()))


def sync(path: Path, pins: dict[str, str], extra: dict[str, str], check: bool) -> bool:
    data = json.loads(path.read_text())
    new = {**pins, **extra}
    if data.get("resolutions") == new:
        return True
    if check:
        return False
    data["resolutions"] = new
    path.write_text(json.dumps(data, indent=4) + "\n")
    return True


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    pins = wanted()
    ok = sync(ROOT / "package.json", pins, {}, args.check)
    ui = ROOT / "ui-tests" / "package.json"
    if ui.exists():
        galata = {"@jupyterlab/galata": _galata_version()}
        ok = sync(ui, pins, galata, args.check) and ok
    if not ok:
        print("package.json resolutions do not match the installed JupyterLab "
              f"{jupyterlab.__version__}: run python scripts/sync_resolutions.py", file=sys.stderr)
    return 0 if ok else 1


def _galata_version() -> str:
    # Galata 5.x tracks JupyterLab 4.x: 4.6.4 -> 5.6.4.
    major, minor, patch = jupyterlab.__version__.split(".")[:3]
    return f"{int(major) + 1}.{minor}.{patch}"


if __name__ == "__main__":
    sys.exit(main())
