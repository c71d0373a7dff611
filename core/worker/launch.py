"""How the worker package is started in an interpreter that need not have hotmod.

``python -c BOOTSTRAP PACKAGE_DIR ARGS...`` loads this package by path under a
private name (``_hotmod_worker``), so nothing of hotmod lands on ``sys.path``
and no module of the project can be shadowed by one of hotmod's.  The zygote
then makes the process look like a fresh ``python -c``: ``sys.argv`` is
``['-c']``, ``__main__`` holds nothing of the bootstrap, and a check child
drops the modules the worker imported that a fresh interpreter has not
(``FRESH_MODULES``, recorded before the bootstrap imports anything).
"""

from __future__ import annotations

from os.path import dirname
from typing import List

PACKAGE = "_hotmod_worker"
PACKAGE_DIR = dirname(__file__)

BOOTSTRAP = (
    "import sys\n"
    "fresh = frozenset(sys.modules)\n"
    "from importlib.util import module_from_spec, spec_from_file_location\n"
    "spec = spec_from_file_location(%r, sys.argv[1] + '/__init__.py',"
    " submodule_search_locations=[sys.argv[1]])\n"
    "sys.modules[spec.name] = module = module_from_spec(spec)\n"
    "module.FRESH_MODULES = fresh\n"
    "spec.loader.exec_module(module)\n"
    "from %s.zygote import main\n"
    "sys.exit(main(sys.argv[2:]))\n"
) % (PACKAGE, PACKAGE)


def command(python: str, *args: str) -> List[str]:
    """The command line that runs the worker's ``main(args)`` with ``python``."""
    return [python, "-c", BOOTSTRAP, PACKAGE_DIR, *args]
