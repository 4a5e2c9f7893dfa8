"""Each repository truth, broken on purpose in a temporary copy, is caught with the file named."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_repository_truths import (
    ROOT,
    codeowners_violations,
    container_violations,
    documented_endpoint_violations,
    environment_violations,
    readme_command_violations,
    run_layout_violations,
    runtime_schema,
)

COPIED = (
    "README.md",
    "Makefile",
    "manage.py",
    "conftest.py",
    ".env.example",
    "pyproject.toml",
    "Dockerfile",
    "docker-compose.yml",
)
COPIED_DIRS = (
    "docs",
    ".github",
    "autopack_site",
    "runs",
    "policies",
    "approvals",
    "ledger",
    "trading",
    "publishing",
    "artifacts",
    "autopack_client",
)


@pytest.fixture
def copy(tmp_path) -> Path:
    for name in COPIED:
        shutil.copy2(ROOT / name, tmp_path / name)
    for name in (*COPIED_DIRS, ".ci"):
        if (ROOT / name).exists():
            shutil.copytree(
                ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__")
            )
    return tmp_path


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} is not in {path}"
    path.write_text(text.replace(old, new, 1))


def test_a_renamed_readme_command_is_named(copy):
    assert readme_command_violations(copy) == []
    edit(copy / "Makefile", "\ntest:", "\ntests:")
    problems = readme_command_violations(copy)
    assert problems and all(problem.startswith("README.md:") for problem in problems)
    assert any("`make test`" in problem for problem in problems)


def test_an_undocumented_environment_variable_is_named(copy):
    assert environment_violations(copy) == []
    edit(
        copy / "autopack_site" / "settings.py",
        'LOG_LEVEL = env_str("LOG_LEVEL", "INFO")',
        'LOG_LEVEL = env_str("LOG_LEVEL", "INFO")\nSHINY = env_int("AUTOPACK_SHINY", 1)',
    )
    problems = environment_violations(copy)
    assert len(problems) == 1
    assert problems[0].startswith("autopack_site/settings.py:")
    assert "AUTOPACK_SHINY" in problems[0]


def test_a_documented_variable_nobody_reads_is_named(copy):
    edit(
        copy / "docs" / "operations.md",
        "| `LOG_LEVEL` |",
        "| `AUTOPACK_FORGOTTEN` | 1 | nothing |\n| `LOG_LEVEL` |",
    )
    problems = environment_violations(copy)
    assert any(
        problem.startswith("docs/operations.md:") and "AUTOPACK_FORGOTTEN" in problem
        for problem in problems
    )
    assert any(problem.startswith(".env.example") for problem in problems)


def test_a_run_path_spelled_otherwise_is_named(copy):
    assert run_layout_violations(copy) == []
    edit(
        copy / "docs" / "api.md",
        "`.autonomous_runs/<project>/runs/<family>/<run_id>/`",
        "`.autonomous_runs/<project>/runs/<family>/<run-id>/`",
    )
    problems = run_layout_violations(copy)
    assert problems and all(problem.startswith("docs/api.md:") for problem in problems)


def test_a_run_path_built_outside_the_layout_module_is_named(copy):
    edit(
        copy / "runs" / "models.py",
        "return run_path(self.project.slug, self.family, self.run_id)",
        'return f".autonomous_runs/{self.project.slug}/runs/{self.family}/{self.run_id}/"',
    )
    problems = run_layout_violations(copy)
    assert len(problems) == 1 and problems[0].startswith("runs/models.py:")


@pytest.mark.parametrize(
    "broken, old, new, named",
    [
        pytest.param("Dockerfile", "@sha256:", ":latest#", "Dockerfile:", id="unpinned-base"),
        pytest.param(
            "Dockerfile", "COPY trading ./trading\n", "", "the app trading", id="app-not-copied"
        ),
        pytest.param("Dockerfile", "EXPOSE 8000", "EXPOSE 8080", "Dockerfile:", id="exposed-port"),
        pytest.param(
            "docker-compose.yml", '"8001:8000"', '"8001:8080"', "compose", id="container-port"
        ),
        pytest.param(
            "docker-compose.yml",
            "--threads 8 --access",
            "--threads 4 --access",
            "compose",
            id="compose-gunicorn",
        ),
        pytest.param("docker-compose.yml", "  relay:", "  relay-a:", "compose", id="service"),
        pytest.param(
            "docker-compose.yml",
            "manage.py outbox_relay",
            "manage.py relay",
            "compose",
            id="command",
        ),
        pytest.param(
            "docs/operations.md",
            "--threads 8 --access",
            "--threads 2 --access",
            "docs/operations.md:",
            id="docs-gunicorn",
        ),
        pytest.param(
            "docs/operations.md",
            "ports 8000 and 8001",
            "ports 8000 and the next",
            "port 8001",
            id="docs-port",
        ),
    ],
)
def test_dockerfile_compose_and_docs_that_disagree_are_named(copy, broken, old, new, named):
    assert container_violations(copy) == []
    edit(copy / broken, old, new)
    problems = container_violations(copy)
    named = "docker-compose.yml:" if named == "compose" else named
    assert problems and all(named in problem for problem in problems), problems


def test_a_removed_codeowners_target_is_named(copy):
    assert codeowners_violations(copy) == []
    shutil.rmtree(copy / "trading")
    problems = codeowners_violations(copy)
    assert problems == [
        next(
            f".github/CODEOWNERS:{number}: /trading/ does not exist"
            for number, line in enumerate(
                (copy / ".github" / "CODEOWNERS").read_text().splitlines(), 1
            )
            if line.startswith("/trading/")
        )
    ]


def test_a_forbidden_import_between_apps_fails_import_linter_naming_the_file(copy):
    lint_imports = Path(sys.executable).parent / "lint-imports"
    clean = subprocess.run(
        [str(lint_imports), "--no-cache"],
        cwd=copy,
        env={**os.environ, "PYTHONPATH": str(copy)},
        capture_output=True,
        text=True,
    )
    assert clean.returncode == 0, clean.stdout + clean.stderr
    edit(
        copy / "runs" / "selectors.py",
        "\nfrom ",
        "\nimport ledger.models  # noqa: F401\nfrom ",
    )
    broken = subprocess.run(
        [str(lint_imports), "--no-cache"],
        cwd=copy,
        env={**os.environ, "PYTHONPATH": str(copy)},
        capture_output=True,
        text=True,
    )
    assert broken.returncode != 0
    assert "runs.selectors -> ledger.models" in broken.stdout


def test_a_documented_endpoint_or_code_the_schema_lacks_is_named(copy):
    schema = runtime_schema()
    assert documented_endpoint_violations(copy, schema) == []
    edit(
        copy / "docs" / "api.md",
        "| GET /me | the key's project and scopes | 200, 401 |",
        "| GET /me | the key's project and scopes | 200, 401, 418 |\n| GET /mine | x | 200 |",
    )
    problems = documented_endpoint_violations(copy, schema)
    assert len(problems) == 2
    assert all(problem.startswith("docs/api.md:") for problem in problems)
    assert "418" in problems[0] and "/mine" in problems[1]


def test_a_stale_lock_file_fails_the_freshness_check_naming_uv_lock(tmp_path):
    uv = Path(sys.executable).parent / "uv"
    for name in ("pyproject.toml", "uv.lock"):
        shutil.copy2(ROOT / name, tmp_path / name)
    fresh = subprocess.run(
        [str(uv), "lock", "--locked"], cwd=tmp_path, capture_output=True, text=True
    )
    assert fresh.returncode == 0, fresh.stderr
    edit(
        tmp_path / "pyproject.toml",
        '    "segno>=1.6,<2",',
        '    "segno>=1.6,<2",\n    "tomli-w>=1",',
    )
    stale = subprocess.run(
        [str(uv), "lock", "--locked"], cwd=tmp_path, capture_output=True, text=True
    )
    assert stale.returncode != 0
    assert "uv.lock" in stale.stderr
