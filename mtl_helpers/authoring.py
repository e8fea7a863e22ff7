"""Command-line tools for authors and instructors.

``python -m mtl_helpers.authoring execute notebooks/*.ipynb``
    Re-execute each notebook top to bottom (in the notebook's folder, with
    this environment's Python) and store its outputs in place. Use this after
    changing a chapter; ``make test`` then checks the stored outputs with nbval.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import nbformat
from nbclient import NotebookClient

__all__ = ["execute_notebook", "main"]

KERNEL_NAME = "python3"
CELL_TIMEOUT_SECONDS = 600


def execute_notebook(path: Path, *, timeout: int = CELL_TIMEOUT_SECONDS) -> float:
    """Run ``path`` top to bottom, store its outputs in place, return the seconds taken.

    Cells tagged ``raises-exception`` may raise; any other error stops the
    run and leaves the file unchanged.
    """
    path = Path(path)
    if path.suffix != ".ipynb" or not path.is_file():
        raise FileNotFoundError(f"no notebook at {path}; pass paths like notebooks/ch1_computation_graphs.ipynb")
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook,
        kernel_name=KERNEL_NAME,
        timeout=timeout,
        resources={"metadata": {"path": str(path.parent)}},
    )
    start = time.perf_counter()
    client.execute()
    seconds = time.perf_counter() - start
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    nbformat.write(notebook, path)
    return seconds


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m mtl_helpers.authoring``."""
    parser = argparse.ArgumentParser(prog="python -m mtl_helpers.authoring", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    execute = commands.add_parser("execute", help="re-execute notebooks and store their outputs")
    execute.add_argument("notebooks", nargs="+", type=Path)
    args = parser.parse_args(argv)
    if args.command == "execute":
        for path in args.notebooks:
            seconds = execute_notebook(path)
            print(f"{path}: executed in {seconds:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
