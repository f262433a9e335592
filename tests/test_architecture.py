"""The import rule of docs/architecture.md, checked by import-linter from the contracts in pyproject.toml."""

from __future__ import annotations

from pathlib import Path

from importlinter import cli

REPO = Path(__file__).resolve().parent.parent


def test_the_layers_point_one_way(monkeypatch) -> None:
    monkeypatch.chdir(REPO)
    assert cli.lint_imports(config_filename=str(REPO / "pyproject.toml"), no_cache=True) == 0
