"""Runs a package of container/scripts/ inside a container from its modules' text.

The host sends `python3 -I -c SOURCE ARGS...` where SOURCE is this file followed by one line,
`sys.exit(run(PACKAGE, {MODULE: TEXT, ...}, sys.argv[1:]))` (see container/tracking.py). Each
module is made from its text (types.ModuleType + exec), registered in sys.modules before the
next one runs, so the package's relative imports find them there: nothing is written in the
container and nothing is read from a path the agent can write. The package has an empty
`__path__`, so a name not sent is an ImportError, never a search of the disk; `-I` keeps
PYTHON* variables and the working directory off sys.path for the standard library's imports.
"""

from __future__ import annotations

import sys
import types


def load(package: str, sources: dict[str, str]) -> types.ModuleType:
    """Make `package` and its modules from `sources` ("__init__" first, then each module after
    the ones it imports); the package."""
    root = types.ModuleType(package)
    root.__path__ = []  # a package, with nowhere on disk to look for its modules
    root.__package__ = package
    sys.modules[package] = root
    for part, text in sources.items():
        module = root if part == "__init__" else types.ModuleType(f"{package}.{part}")
        module.__package__ = package
        if module is not root:
            sys.modules[module.__name__] = module
        code = compile(text, f"<{package}/{part}.py>", "exec", dont_inherit=True)
        exec(code, module.__dict__)
        if module is not root:
            setattr(root, part, module)
    return root


def run(package: str, sources: dict[str, str], argv: list[str]) -> int:
    """Load the package, then its `main.main(argv)`: the exit code."""
    load(package, sources)
    main: int = sys.modules[f"{package}.main"].main(argv)
    return main
