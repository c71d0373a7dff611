"""``python -m hotmod.server``: the same as ``hotmod serve``."""

import sys

from hotmod.core.cli import main

sys.exit(main(["serve", *sys.argv[1:]]))
