"""``hotmod run``'s way into the program: Python imports this at startup because
``hotmod run`` put its folder first on ``PYTHONPATH``.

It takes its folder off ``sys.path`` again, loads the live agent from the
hotmod.live package beside it (as ``_hotmod_live``: the program's interpreter
need not have hotmod installed), starts it as the environment asks
(``HOTMOD_LIVE_*``), then imports the ``sitecustomize`` this one hides, if
there is one, as Python would have.  Standard library only, Python 3.8+.
"""

import os
import sys


def _boot() -> None:
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != here]
    package = os.path.dirname(here)
    if sys.version_info < (3, 8):
        sys.stderr.write("hotmod: live reload needs Python 3.8 or newer\n")
        return
    try:
        import importlib.util

        spec = importlib.util.spec_from_file_location(
            "_hotmod_live",
            os.path.join(package, "__init__.py"),
            submodule_search_locations=[package],
        )
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules["_hotmod_live"] = module
        spec.loader.exec_module(module)
        module.agent.from_environment()
    except Exception as exc:  # the program runs anyway, without live reload
        sys.stderr.write("hotmod: live reload is off: %s: %s\n" % (type(exc).__name__, exc))


_boot()
del _boot


def _chain() -> None:
    """Run the ``sitecustomize`` this file hides, as this one: the import of
    ``sitecustomize`` under way then returns it."""
    import importlib.machinery
    import importlib.util

    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", sys.path)
    if spec is None or spec.loader is None:
        return
    module = importlib.util.module_from_spec(spec)
    sys.modules["sitecustomize"] = module
    spec.loader.exec_module(module)


_chain()
del _chain
