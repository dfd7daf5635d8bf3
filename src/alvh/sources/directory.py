"""Directory source: the same files as the HTTP source, found by name anywhere under a folder.

VX files in a folder named ``reconstructed`` belong to the ``vx_reconstructed`` family (settle-only
rebuilds, kept apart so users can tell them from CBOE's own files); other ``VX_*.csv`` files are
``vx_current``. Two different files with the same name under the folder are an error (which one
is right is not ours to guess); identical copies are read once.
"""

from __future__ import annotations

import fnmatch
from pathlib import Path

from alvh.core.errors import SourceError
from alvh.sources.base import Family, FetchedFile, FileRef
from alvh.sources.catalog import Catalog, directory_patterns
from alvh.sources.cfe import expiry_from_name

RECONSTRUCTED_DIR = "reconstructed"


class DirectorySource:
    """Reads source files from a local folder (recursively)."""

    kind = "directory"

    def __init__(self, root: Path, catalog: Catalog, vendor_breadth_path: Path | None = None) -> None:
        self.root = root.resolve()
        if not self.root.is_dir():
            raise SourceError("source folder does not exist", file=str(root), expected="a folder")
        self.catalog = catalog
        self.vendor_breadth_path = vendor_breadth_path
        self._files = sorted(p for p in self.root.rglob("*") if p.is_file())

    def list_files(self, family: Family) -> list[FileRef]:
        if family == "vendor_breadth" and self.vendor_breadth_path is not None:
            p = self.vendor_breadth_path
            return [FileRef(family, p.name, str(p.resolve()))]
        patterns = directory_patterns(self.catalog, family)
        by_name: dict[str, Path] = {}
        for path in self._files:
            if not any(fnmatch.fnmatch(path.name, pat) for pat in patterns):
                continue
            in_recon = RECONSTRUCTED_DIR in path.relative_to(self.root).parts[:-1]
            if (family == "vx_current" and in_recon) or (family == "vx_reconstructed" and not in_recon):
                continue
            if path.name in by_name:
                if by_name[path.name].read_bytes() != path.read_bytes():
                    raise SourceError(
                        f"two different files named {path.name} under the source folder "
                        f"({by_name[path.name]} and {path})",
                        file=str(path),
                        expected="one file per name",
                    )
                continue
            by_name[path.name] = path
        refs = []
        for name, path in sorted(by_name.items()):
            expiry = expiry_from_name(name) if family.startswith("vx_") else None
            refs.append(FileRef(family, name, str(path), expiry))
        return refs

    def fetch(self, ref: FileRef) -> FetchedFile:
        path = Path(ref.locator)
        if not path.is_file():
            return FetchedFile(ref, b"", status="missing")
        return FetchedFile(ref, path.read_bytes())
