"""The project compiled once in a helper process (core/worker/precompile.py)."""

from __future__ import annotations

import os
import select
import signal
import time
from pathlib import Path

from hotmod.core.worker.codecache import CodeCache
from hotmod.core.worker.precompile import Precompiler

from ..conftest import Workspace


def collect_all(precompiler: Precompiler, code: CodeCache) -> None:
    deadline = time.monotonic() + 20
    while precompiler.fd is not None:
        assert time.monotonic() < deadline, "the helper never finished"
        select.select([precompiler.fd], [], [], 1)
        precompiler.collect(code)


def test_each_file_is_compiled_once_into_the_code_a_fresh_compile_makes(
    workspace: Workspace,
) -> None:
    workspace.write(
        {
            "pkg/__init__.py": "from .a import A\n",
            "pkg/a.py": "A = [i * i for i in range(3)]\n",
            "warns.py": "assert (1, 'always true')\n",  # its warning is each check's to print
            "broken.py": "def f(:\n",
        }
    )
    paths = [
        str(workspace.path(f)) for f in ("pkg/__init__.py", "pkg/a.py", "warns.py", "broken.py")
    ]
    code = CodeCache()
    collect_all(Precompiler(paths), code)
    assert sorted(code.entries) == sorted(paths[:2])
    source = Path(paths[1]).read_bytes()
    compiled = code.get(paths[1], source)
    assert compiled is not None
    assert compiled.co_filename == paths[1]
    namespace: dict[str, object] = {}
    exec(compiled, namespace)
    assert namespace["A"] == [0, 1, 4]
    # Bytes decide: an edit after the compile is never served the old code.
    assert code.get(paths[1], b"A = 2\n") is None


def test_a_helper_that_dies_leaves_the_files_to_the_checks(workspace: Workspace) -> None:
    workspace.write({f"m{i}.py": f"X = {i}\n" * 2000 for i in range(50)})
    precompiler = Precompiler([str(workspace.path(f"m{i}.py")) for i in range(50)])
    pid = precompiler.pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    code = CodeCache()
    collect_all(precompiler, code)  # ends: no hang on a helper that is gone
    os.waitpid(pid, 0)
    assert all(code.get(p, Path(p).read_bytes()) is not None for p in code.entries)


def test_a_fifo_named_like_a_module_does_not_stall_the_helper(workspace: Workspace) -> None:
    workspace.write({"a.py": "A = 1\n"})
    fifo = workspace.path("stuck.py")
    os.mkfifo(fifo)
    code = CodeCache()
    collect_all(Precompiler([str(fifo), str(workspace.path("a.py"))]), code)
    assert list(code.entries) == [str(workspace.path("a.py"))]


def test_the_cache_gives_the_digest_of_the_bytes_a_check_runs() -> None:
    """Checks report each executed file's digest (the verdict cache's key): for a
    cached file it is the one hashed once in the zygote, the same as hashing it."""
    from hotmod.core.verdict_cache import digest

    code = CodeCache()
    source = b"X = 1\n"
    compiled = compile(source, "/p/m.py", "exec")
    code.put("/p/m.py", source, compiled)
    assert code.lookup("/p/m.py", source) == (compiled, digest(source))
    edited = b"X = 2\n"
    assert code.lookup("/p/m.py", edited) == (None, digest(edited))
    assert digest(edited) != digest(source)
