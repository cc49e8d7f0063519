"""Where the simulator's files are: its binary, and the ready-made fault scenarios of
`examples/faults/`. Both live in the simulator's repository; a binary from elsewhere (PATH, a CI
artefact) is named explicitly or by `$EXCHANGE_SIM_BIN`, a scenario folder by
`$EXCHANGE_SIM_SCENARIOS`."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

from .errors import SimulatorError

BINARY_ENV = "EXCHANGE_SIM_BIN"
SCENARIOS_ENV = "EXCHANGE_SIM_SCENARIOS"
BINARY_NAME = "exchange-sim"


def _repository_roots(*starts: Path) -> Iterator[Path]:
    """Every folder above `starts` (and they themselves) that holds a Cargo.toml, nearest first."""
    seen: set[Path] = set()
    for start in starts:
        for folder in (start, *start.parents):
            if folder not in seen and (folder / "Cargo.toml").is_file():
                seen.add(folder)
                yield folder


def _search_starts(binary: Path | None = None) -> list[Path]:
    """Where to look for the repository: above the binary, above this package's source (a checkout
    used through PYTHONPATH or an editable install), above the current directory."""
    starts = [Path(__file__).resolve().parent, Path.cwd()]
    return [binary.resolve().parent, *starts] if binary is not None else starts


def find_binary(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The exchange-sim binary: `explicit`, else `$EXCHANGE_SIM_BIN`, else the repository's
    `target/release/exchange-sim` or `target/debug/exchange-sim`, else `exchange-sim` on PATH."""
    named = explicit or os.environ.get(BINARY_ENV)
    if named:
        path = Path(named)
        if not (path.is_file() and os.access(path, os.X_OK)):
            raise SimulatorError(f"{path} is not an executable file")
        return path
    looked = []
    for root in _repository_roots(*_search_starts()):
        for profile in ("release", "debug"):
            candidate = root / "target" / profile / BINARY_NAME
            looked.append(str(candidate))
            if candidate.is_file():
                return candidate
    on_path = shutil.which(BINARY_NAME)
    if on_path:
        return Path(on_path)
    raise SimulatorError(
        f"no exchange-sim binary: set ${BINARY_ENV}, build it (cargo build --release) or put it "
        f"on PATH (looked at {', '.join(looked) or 'no repository'})"
    )


def find_scenario(
    name: str,
    directory: str | os.PathLike[str] | None = None,
    binary: Path | None = None,
) -> Path:
    """A fault scenario file: `name` itself when it is a path to a `.json` file, else
    `<name>.json` in `directory`, `$EXCHANGE_SIM_SCENARIOS`, or the repository's
    `examples/faults/` (found above the binary, this package or the current directory)."""
    if name.endswith(".json") or os.sep in name:
        path = Path(name)
        if not path.is_file():
            raise SimulatorError(f"no scenario file {path}")
        return path
    named = directory or os.environ.get(SCENARIOS_ENV)
    folders = (
        [Path(named)]
        if named
        else [root / "examples" / "faults" for root in _repository_roots(*_search_starts(binary))]
    )
    for folder in folders:
        if (folder / f"{name}.json").is_file():
            return folder / f"{name}.json"
    known = sorted({p.stem for f in folders if f.is_dir() for p in f.glob("*.json")})
    raise SimulatorError(
        f"no scenario {name!r} in {', '.join(map(str, folders)) or 'any examples/faults folder'}"
        f" (known: {', '.join(known) or 'none'}; set ${SCENARIOS_ENV} to a folder of scenarios)"
    )
