"""Where the data that ships with the engine is: the bundled policies and the JSON Schemas.

An installed wheel carries the repository's `policies/` and `schemas/` as package data, inside the
package: `engine/policies/`, `engine/schemas/` (see pyproject.toml). In the repository, and in an
editable install of it, they are the folders beside `engine/`. Either way they are found from the
package's own place, never from the working directory.

The package's place is its folder on the file system, which is what
`importlib.resources.files("engine")` gives for a package that pip installed or that a checkout
holds (tests/test_packaging.py checks that the two agree in an installed wheel). It is read from
`__file__` rather than through `importlib.resources` because importing that module (with the
tempfile, shutil, random and zipfile modules it brings) costs about 8 ms on every `verdict`
process, 0.8 of the 12× of bench/coldstart.py, for the same path. A package imported from a zip
archive has no folder, and its bundled data is not found.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def folder(name: str) -> Path:
    """The bundled folder `name` (`policies`, `schemas`) as a real path on the file system.

    The installed one (package data) is preferred; without it, the checkout's folder beside the
    package. Which of the two is returned says nothing about whether it holds anything.
    """
    installed = _PACKAGE / name
    return installed if installed.is_dir() else _PACKAGE.parent / name
