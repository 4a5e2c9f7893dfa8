"""The layering between the apps is checked by import-linter (pyproject.toml): the real tree
keeps every contract, and a forbidden import planted in a copy breaks one, naming the file."""

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = [
    "autopack_site",
    "policies",
    "approvals",
    "runs",
    "artifacts",
    "ledger",
    "trading",
    "publishing",
    "autopack_client",
]
LINT = Path(sys.executable).with_name("lint-imports")


def lint(where: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(LINT), "--no-cache"],
        cwd=where,
        env={"PYTHONPATH": str(where), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=300,
    )


def copy_of_tree(tmp_path: Path) -> Path:
    for package in PACKAGES:
        shutil.copytree(
            ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def test_the_tree_keeps_every_contract():
    result = lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


def test_approvals_importing_the_ledger_breaks_the_layers(tmp_path):
    tree = copy_of_tree(tmp_path)
    services = tree / "approvals" / "services.py"
    services.write_text(services.read_text() + "\nfrom ledger.models import ExternalAction\n")
    result = lint(tree)
    assert result.returncode != 0
    assert "approvals.services -> ledger.models" in result.stdout


def test_the_sdk_importing_django_breaks_its_contract(tmp_path):
    tree = copy_of_tree(tmp_path)
    client = tree / "autopack_client" / "client.py"
    client.write_text(client.read_text() + "\nimport django\n")
    result = lint(tree)
    assert result.returncode != 0
    assert "autopack_client.client -> django" in result.stdout
