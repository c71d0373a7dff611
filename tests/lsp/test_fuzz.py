"""Fuzz ``workspace/executeCommand`` arguments and settings with hypothesis.

One server process serves every example (a module-scoped fixture and a small
synchronous JSON-RPC client), so hundreds of examples take seconds.  The
server must never fail internally: every bad input is answered with
InvalidParams (-32602) or, for settings, a message naming the setting.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hotmod.server.commands import COMMANDS
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .conftest import RawClient, uri, write

INVALID_PARAMS = -32602


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RawClient]:
    root = tmp_path_factory.mktemp("fuzz") / "ws"
    write(
        root,
        {
            "pkg/__init__.py": "",
            "pkg/a.py": "X = 1\n",
            "pkg/b.py": "from pkg.a import X\n\nY = X + 1\n",
        },
    )
    client = RawClient()
    answer = client.request(
        "initialize",
        {
            "processId": None,
            "rootUri": uri(root),
            "capabilities": {},
            "initializationOptions": {"trusted": True},
        },
    )
    assert answer["result"]["serverInfo"]["name"] == "hotmod"
    client.notify("initialized", {})
    assert "result" in client.command("hotmod.reloadAll", [])
    client.root = root  # type: ignore[attr-defined]
    yield client
    client.close()
    assert client.proc.returncode == 0


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=8,
)
NAMES = sorted(COMMANDS)


def _argument_objects() -> st.SearchStrategy[Any]:
    keys = st.sampled_from(["uri", "module", "enabled", "x", ""])
    values = (
        JSON
        | st.sampled_from(["untitled:Untitled-1", "file:///", "file:///nonexistent/x.py", ""])
        | st.just("pkg.a")
        | st.text(min_size=1000, max_size=5000)
    )
    return st.dictionaries(keys, values, max_size=3)


FUZZ = settings(
    max_examples=80,
    deadline=None,
    derandomize=True,  # the same examples every run: a bounded, repeatable cost
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


@FUZZ
@given(
    name=st.sampled_from(NAMES),
    arguments=st.lists(_argument_objects() | JSON, max_size=3),
)
def test_fuzz_execute_command(server: RawClient, name: str, arguments: list[Any]) -> None:
    answer = server.command(name, arguments)
    if "error" in answer:
        error = answer["error"]
        assert error["code"] == INVALID_PARAMS, error
        assert error["message"].startswith(name), error
        assert len(error["message"]) < 1000  # huge arguments are not echoed back
    else:
        assert isinstance(answer["result"], dict)
    assert not [m for m in server.messages if "failed" in m or "Traceback" in m]


SETTING_VALUES = (
    JSON
    | st.sampled_from(["warn", "block", "off", "loud", ""])
    | st.floats(min_value=0.001, max_value=1e6)
    | st.integers(min_value=-5, max_value=1 << 40)
    | st.lists(st.sampled_from(["*.py", "pkg/b.py", "x", ""]), max_size=3)
)
# The interpreter, its environment and the module dirs are left alone: a
# random `python` would run some other program on the worker script.
FUZZED_KEYS = [
    "devMode",
    "exclude",
    "importTimeoutS",
    "memoryLimitMb",
    "reloadOnSave",
    "sideEffects",
    "slowThresholdMs",
    "traceMemory",
    "trusted",
]


@FUZZ
@given(
    raw=st.dictionaries(st.sampled_from([*FUZZED_KEYS, "unknownKey"]), SETTING_VALUES, max_size=4),
    nested=st.booleans(),
)
def test_fuzz_settings(server: RawClient, raw: dict[str, Any], nested: bool) -> None:
    before = len(server.messages)
    server.notify(
        "workspace/didChangeConfiguration", {"settings": {"hotmod": raw} if nested else raw}
    )
    status = server.command("hotmod.status", [])
    assert "result" in status or status["error"]["code"] == INVALID_PARAMS, status
    new = server.messages[before:]
    assert all(m.startswith("hotmod: ") and "Traceback" not in m for m in new), new
    assert not [m for m in new if "failed" in m], new
    # Back to defaults: every example starts from the same state.
    server.notify("workspace/didChangeConfiguration", {"settings": {"hotmod": {}}})
    assert "result" in server.command("hotmod.status", [])
