"""`make demo-live`: the shop served with live reload and edited three times, hands off.

What `hotmod run -- python app.py` does, spelled out with hotmod's own pieces:
the app starts with hotmod's live agent (its boot folder first on PYTHONPATH);
each edit is checked by the engine (the saved module and every module that
imports it, fresh imports) and sent to the app through LiveApplier only when
all those verdicts are ok. It works on a copy of the shop and a private
rendezvous folder, prints what the app answers after each edit, and stops the
app at the end. Needs hotmod installed in the interpreter that runs it.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

from hotmod.core import Engine
from hotmod.core.live_apply import LiveApplier, describe
from hotmod.core.live_links import LiveLinks
from hotmod.live import rendezvous

SHOP = Path(__file__).resolve().parents[1]
BOOT = Path(rendezvous.__file__).parent / "boot"


def get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:
        return str(response.read().decode()).strip()


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="hotmod-live-demo-") as temporary:
        root = Path(temporary) / "live_shop"
        shutil.copytree(SHOP, root, ignore=shutil.ignore_patterns("__pycache__", "scripts"))
        # The app's agent and this script meet there, away from the user's own programs.
        folder = Path(temporary) / "rendezvous"
        os.environ["HOTMOD_LIVE_DIR"] = str(folder)
        path = os.pathsep.join(p for p in (str(BOOT), os.environ.get("PYTHONPATH")) if p)
        environ = {**os.environ, "PYTHONPATH": path, "HOTMOD_LIVE_WORKSPACE": str(root)}
        app = subprocess.Popen(
            [sys.executable, "app.py", "--port", "0"],
            cwd=root,
            env=environ,
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert app.stdout is not None
            url = app.stdout.readline().strip().rpartition(" ")[2]
            print(f"== the shop runs with live reload (pid {app.pid}): {url}")
            for _ in range(2):
                print(f"   GET / -> {get(url)}")
            edit(root, url, app.pid)
        finally:
            app.send_signal(signal.SIGINT)  # Ctrl-C: the app exits as it would in a terminal
            app.wait(10)
        left = sorted(os.listdir(folder))
        print(f"== app stopped; left in the rendezvous folder: {left or 'nothing'}")
    return 0


def edit(root: Path, url: str, pid: int) -> None:
    prices, catalog = root / "store/prices.py", root / "store/catalog.py"
    with (
        Engine(root, {"python": sys.executable}) as engine,
        LiveLinks("run", lambda process, name: process.pid == pid) as links,
    ):
        engine.reload_all()
        applier = LiveApplier(engine, links)

        def save(file: Path, old: str, new: str, what: str) -> None:
            text = file.read_text()
            assert old in text, (file, old)
            file.write_text(text.replace(old, new, 1))
            print(f"== edit {file.relative_to(root)}: {what}")
            applier.saved([file])
            engine.check_paths([file])
            decision = applier.checked()
            for line in describe(decision, root) if decision else []:
                print(f"   hotmod: {line}")
            print(f"   GET / -> {get(url)}")

        save(prices, "return item.cents\n", "return item.cents * 9 // 10\n", "10% off")
        original = catalog.read_text()
        save(catalog, "    cents: int\n", "    cents: int\n    vegan: bool = False\n", "a new field")
        catalog.write_text(original)
        save(prices, "def price(", "def cost(", "price() renamed, but store/views.py imports it")


if __name__ == "__main__":
    sys.exit(main())
