"""hotmod.live: verified changes applied inside a running Python program.

The agent in this package runs inside the user's program (a REPL, a notebook
kernel, a web server): standard library only, Python 3.8+.  It waits for a
controller (``hotmod run`` or the language server) to name project files whose
saved contents passed hotmod's fresh-import checks, re-reads them, and updates
the program's loaded modules in place (``patch.py``), keeping its state.

Public API, where hotmod is installed::

    import hotmod.live
    hotmod.live.attach()          # this process takes verified changes

and in IPython or Jupyter: ``%load_ext hotmod.live``.  How it works, and what is
applied and what needs a restart: docs/live.md.
"""
