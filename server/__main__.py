"""``python -m hotmod.server``: the same as ``hotmod serve``."""

import sys

from .cli import main

sys.exit(main(["serve", *sys.argv[1:]]))
