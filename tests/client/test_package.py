"""The SDK package itself: its exports, and that it speaks only the wire protocol."""

from __future__ import annotations

import ast
from pathlib import Path

import backchannel.client

PACKAGE = Path(backchannel.client.__file__).parent
SERVER_SIDE = ("backchannel.api", "backchannel.chat", "backchannel.realtime", "backchannel.store")


def test_all_is_complete_and_sorted() -> None:
    exported = backchannel.client.__all__
    assert exported == sorted(exported)
    public = {name for name in vars(backchannel.client) if not name.startswith("_")}
    modules = {path.stem for path in PACKAGE.glob("*.py")}
    assert public - modules == set(exported)


def test_the_sdk_imports_nothing_of_the_server() -> None:
    for path in PACKAGE.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                assert not name.startswith(SERVER_SIDE), f"{path.name} imports {name}"
