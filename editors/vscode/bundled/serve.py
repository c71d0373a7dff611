"""Runs the hotmod language server that the VS Code extension carries.

The extension starts ``<python> serve.py`` with a Python 3.11+: hotmod and its
dependencies (pygls, lsprotocol, watchdog, psutil, ...) are in ``libs/`` beside
this file, put there at build time by ``editors/vscode/bundle.sh``.  They go
first on this process's ``sys.path`` only, not into the environment: the
worker that imports the project's modules runs in the project's interpreter
and never sees them.
"""

import os
import sys

if sys.version_info < (3, 11):
    sys.exit(
        "hotmod: the server needs Python 3.11+; %s is Python %d.%d"
        % (sys.executable, sys.version_info[0], sys.version_info[1])
    )

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "libs"))

from hotmod.server.cli import main  # noqa: E402

sys.exit(main(["serve"] + sys.argv[1:]))
