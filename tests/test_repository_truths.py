"""The repository's truths, checked: what the docs say exists, exists, and what the code reads is
documented, once. Each check returns the violations with the file and line that break it, so a
failure says where to look; each check is also run against a copy broken on purpose
(tests/test_repository_truths_broken.py) to prove it can fail.
"""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RUNTIME_PACKAGES = (
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

ENV_READ = re.compile(
    r"""(?:env_(?:str|int|bool|list)|os\.environ\.get|os\.getenv)\(\s*(f?)["']([A-Z][A-Z0-9_{}().a-z]*)["']"""
)
ENV_NAME_BUILT = re.compile(r"""f["'](AUTOPACK_[A-Z_]+\{)|_PREFIX = ["'](AUTOPACK_[A-Z_]+)["']""")
DOC_ENV_ROW = re.compile(r"^\|\s*(`[A-Z][^|]*?)\s*\|")
DOC_ENV_NAME = re.compile(r"`([A-Z][A-Z0-9_<>]*)`")


def runtime_files(root: Path) -> list[Path]:
    """Python files that run in production: the apps without their tests and migrations."""
    files = [root / "manage.py"]
    for package in RUNTIME_PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            parts = set(path.relative_to(root).parts)
            if parts & {"tests", "migrations"} or path.name.startswith("test_"):
                continue
            files.append(path)
    return [path for path in files if path.exists()]


def _pattern(name: str) -> str:
    """`AUTOPACK_PROVIDER_URL_{provider.upper()}` and `AUTOPACK_PROVIDER_URL_<PROVIDER>` are one
    family of names: compared by what comes before the placeholder."""
    return re.split(r"[{<]", name, maxsplit=1)[0] + ("*" if re.search(r"[{<]", name) else "")


def environment_reads(root: Path) -> dict[str, str]:
    """Every environment variable the runtime code reads, with the first place that reads it:
    read through autopack_site/env.py or os.environ, or built as a family of names."""
    found: dict[str, str] = {}
    for path in [*runtime_files(root), root / "conftest.py"]:
        text = path.read_text()
        for pattern in (ENV_READ, ENV_NAME_BUILT):
            for match in pattern.finditer(text):
                number = text.count("\n", 0, match.start()) + 1
                name = match.group(match.lastindex)
                name = _pattern(name + "{" if name.endswith("_") else name)
                found.setdefault(name, f"{path.relative_to(root)}:{number}")
    return found


def documented_environment(root: Path) -> tuple[dict[str, str], list[str]]:
    """The variables docs/operations.md's tables document, and the ones documented twice."""
    path = root / "docs" / "operations.md"
    documented: dict[str, str] = {}
    twice = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        row = DOC_ENV_ROW.match(line)
        if not row:
            continue
        for name in DOC_ENV_NAME.findall(row.group(1)):
            name = _pattern(name)
            where = f"docs/operations.md:{number}"
            if name in documented:
                twice.append(f"{where}: {name} is documented again (first at {documented[name]})")
            documented[name] = where
    return documented, twice


def environment_violations(root: Path) -> list[str]:
    read = environment_reads(root)
    documented, twice = documented_environment(root)
    problems = list(twice)
    problems += [
        f"{where}: reads {name}, which docs/operations.md does not document"
        for name, where in read.items()
        if name not in documented
    ]
    problems += [
        f"{where}: documents {name}, which no runtime code reads"
        for name, where in documented.items()
        if name not in read
    ]
    example = root / ".env.example"
    listed = {
        _pattern(match)
        for match in re.findall(r"^#?\s*([A-Z][A-Z0-9_<>]*)=", example.read_text(), re.M)
    }
    problems += [
        f".env.example: {name} (documented at {where}) is missing; regenerate it with "
        ".venv/bin/python .ci/write_env_example.py"
        for name, where in documented.items()
        if name not in listed
    ]
    return problems


RUN_LAYOUT = re.compile(r"\.autonomous_runs/")
RUN_LAYOUT_HOME = "runs/layout.py"
RUN_ID_SPELLINGS = re.compile(r"<run-id>|<runid>|\{run-id\}|<run_ID>")


def run_layout_violations(root: Path) -> list[str]:
    """`.autonomous_runs/<project>/runs/<family>/<run_id>/` is spelled in one function; code
    shows it by calling that function, docs spell it exactly so."""
    problems = []
    for path in runtime_files(root):
        relative = str(path.relative_to(root))
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if RUN_LAYOUT.search(line) and relative != RUN_LAYOUT_HOME:
                problems.append(
                    f"{relative}:{number}: spells the run layout; call runs.layout.run_path"
                )
    for path in [root / "README.md", *sorted((root / "docs").glob("*.md"))]:
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if RUN_ID_SPELLINGS.search(line):
                problems.append(
                    f"{path.relative_to(root)}:{number}: the run id is spelled <run_id>"
                )
            for spelled in re.findall(r"\.autonomous_runs/[^\s`'\"]*", line):
                if not spelled.startswith(".autonomous_runs/<project>/runs/<family>/<run_id>/"):
                    problems.append(
                        f"{path.relative_to(root)}:{number}: run layout spelled {spelled!r}; it is "
                        "`.autonomous_runs/<project>/runs/<family>/<run_id>/`"
                    )
    return problems


UNFINISHED = re.compile(r"\b(TODO|FIXME|XXX)\b|raise NotImplementedError")


def unfinished_violations(root: Path) -> list[str]:
    return [
        f"{path.relative_to(root)}:{number}: {line.strip()}"
        for path in runtime_files(root)
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if UNFINISHED.search(line)
    ]


def codeowners_violations(root: Path) -> list[str]:
    path = root / ".github" / "CODEOWNERS"
    problems = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        target = line.split()[0]
        if target == "*":
            continue
        if not list(root.glob(target.strip("/"))):
            problems.append(f".github/CODEOWNERS:{number}: {target} does not exist")
    return problems


README_COMMAND = re.compile(r"^(make [a-z-]+|\.venv/bin/python manage\.py [a-z_]+)", re.M)


def readme_command_violations(root: Path) -> list[str]:
    """Every `make` target and `manage.py` command README.md names exists."""
    makefile = (root / "Makefile").read_text()
    targets = set(re.findall(r"^([a-z][a-z-]*):", makefile, re.M))
    commands = {
        path.stem
        for path in root.glob("*/management/commands/*.py")
        if not path.name.startswith("_")
    }
    commands |= _django_commands()
    problems = []
    for number, line in enumerate((root / "README.md").read_text().splitlines(), 1):
        for target in re.findall(r"(?:^|[\s`])make ([a-z][a-z-]*)", line):
            if target not in targets:
                problems.append(f"README.md:{number}: `make {target}` is not a Makefile target")
        for command in re.findall(r"manage\.py ([a-z_]+)", line):
            if command not in commands:
                problems.append(f"README.md:{number}: `manage.py {command}` is not a command")
    return problems


FROM_LINE = re.compile(r"^FROM\s+(\S+)", re.M)
PINNED = re.compile(r"@sha256:[0-9a-f]{64}$")
BIND = re.compile(r"(?:--bind|-b)[\s=\"',]+[^:\s]+:(\d+)")


def _line_of(text: str, needle: str) -> int:
    return next((n for n, line in enumerate(text.splitlines(), 1) if needle in line), 1)


def _gunicorn_flags(command: str) -> list[str]:
    """A gunicorn command line as flags, `-b` spelled `--bind`, whatever the quoting."""
    words = re.findall(r"[^\s\"',\[\]\\]+", command)
    start = next((n for n, word in enumerate(words) if word.endswith("gunicorn")), len(words))
    return ["gunicorn"] + ["--bind" if word == "-b" else word for word in words[start + 1 :]]


def container_violations(root: Path) -> list[str]:
    """Dockerfile, docker-compose.yml and docs/operations.md tell one story: base images pinned
    by digest; every app copied into the image; the web servers run the Dockerfile's gunicorn
    command on the port it exposes (and docs/operations.md's, flag for flag); every compose
    service and published port is named in docs/operations.md; every `manage.py` command a
    service runs exists."""
    import yaml

    dockerfile = (root / "Dockerfile").read_text()
    compose_text = (root / "docker-compose.yml").read_text()
    operations = (root / "docs" / "operations.md").read_text()
    problems = []
    for image in FROM_LINE.findall(dockerfile):
        if not PINNED.search(image):
            problems.append(
                f"Dockerfile:{_line_of(dockerfile, image)}: {image} is not pinned by digest"
            )
    for apps in sorted(root.glob("*/apps.py")):
        package = apps.parent.name
        if not re.search(rf"^COPY {package} ", dockerfile, re.M):
            problems.append(f"Dockerfile:1: the app {package} is not copied into the image")
    exposed = re.findall(r"^EXPOSE (\d+)", dockerfile, re.M)
    cmd = re.search(r"^CMD (\[.*?\])\s*$", dockerfile, re.M | re.S)
    image_gunicorn = _gunicorn_flags(cmd.group(1)) if cmd else []
    image_port = BIND.search(cmd.group(1)).group(1) if cmd and BIND.search(cmd.group(1)) else None
    if exposed != [image_port]:
        problems.append(
            f"Dockerfile:{_line_of(dockerfile, 'EXPOSE')}: EXPOSE {exposed} is not the port "
            f"the CMD binds ({image_port})"
        )
    for doc in [root / "README.md", *sorted((root / "docs").glob("*.md"))]:
        for number, line in enumerate(doc.read_text().splitlines(), 1):
            if "gunicorn autopack_site.wsgi" in line and _gunicorn_flags(line) != image_gunicorn:
                problems.append(
                    f"{doc.relative_to(root)}:{number}: the gunicorn command is not the "
                    f"Dockerfile's CMD ({' '.join(image_gunicorn)})"
                )
    commands = {path.stem for path in root.glob("*/management/commands/*.py")} | _django_commands()
    services = yaml.safe_load(compose_text)["services"]
    for name, service in services.items():
        line = _line_of(compose_text, f"  {name}:")
        if f"`{name}`" not in operations:
            problems.append(
                f"docker-compose.yml:{line}: the service {name} is not named in docs/operations.md"
            )
        command = service.get("command") or ""
        command = command if isinstance(command, str) else " ".join(command)
        for used in re.findall(r"manage\.py ([a-z_]+)", command):
            if used not in commands:
                problems.append(f"docker-compose.yml:{line}: manage.py {used} does not exist")
        if "gunicorn" in command and _gunicorn_flags(command) != image_gunicorn:
            problems.append(
                f"docker-compose.yml:{line}: {name} does not run the Dockerfile's gunicorn command"
            )
        for published in service.get("ports", []):
            host, _, container = str(published).rpartition(":")
            if container != image_port:
                problems.append(
                    f"docker-compose.yml:{line}: {name} publishes container port {container}, "
                    f"the image serves {image_port}"
                )
            if host and host not in operations:
                problems.append(
                    f"docker-compose.yml:{line}: port {host} of {name} is not in docs/operations.md"
                )
    return problems


def _django_commands() -> set[str]:
    from django.core.management import get_commands

    return set(get_commands())


def test_every_environment_variable_read_is_documented_once_and_listed():
    assert environment_violations(ROOT) == []


def test_the_run_layout_has_one_spelling():
    assert run_layout_violations(ROOT) == []


def test_runtime_code_has_no_unfinished_markers():
    assert unfinished_violations(ROOT) == []


def test_every_codeowners_target_exists():
    assert codeowners_violations(ROOT) == []


def test_dockerfile_compose_and_docs_agree():
    assert container_violations(ROOT) == []


def test_every_readme_command_exists():
    assert readme_command_violations(ROOT) == []


@pytest.mark.parametrize("target", ["run", "test"], ids=lambda target: f"make {target}")
def test_the_two_setup_commands_are_in_readme_and_makefile(target):
    assert f"make {target}" in (ROOT / "README.md").read_text()
    assert re.search(rf"^{target}:", (ROOT / "Makefile").read_text(), re.M)


DOC_ENDPOINT_ROW = re.compile(
    r"^\|\s*((?:GET|POST|PUT|PATCH|DELETE)(?:,\s*[A-Z]+)*)\s+(/[^\s|?]*)[^|]*\|.*\|\s*([^|]*)\|\s*$"
)


def runtime_schema() -> dict:
    from drf_spectacular.generators import SchemaGenerator

    return SchemaGenerator().get_schema(request=None, public=True)


def _schema_path(schema: dict, documented: str) -> str | None:
    """`/runs/{id}/claim` in docs is `/api/v1/runs/{run_pk}/claim` in the schema: parameters
    compared by position, not by name."""
    shape = re.sub(r"\{[^}]+\}", "{}", "/api/v1" + documented)
    for path in schema["paths"]:
        if re.sub(r"\{[^}]+\}", "{}", path) == shape:
            return path
    return None


def documented_endpoint_violations(root: Path, schema: dict) -> list[str]:
    """Every `| METHOD /path | … | codes |` row in docs/ names an operation and status codes the
    runtime OpenAPI schema has."""
    problems = []
    for doc in sorted((root / "docs").glob("*.md")):
        for number, line in enumerate(doc.read_text().splitlines(), 1):
            row = DOC_ENDPOINT_ROW.match(line)
            if not row:
                continue
            where = f"{doc.relative_to(root)}:{number}"
            path = _schema_path(schema, row.group(2))
            if path is None:
                problems.append(f"{where}: {row.group(2)} is not in the API schema")
                continue
            documented_codes: set[str] = set()
            for method in (part.strip().lower() for part in row.group(1).split(",")):
                operation = schema["paths"][path].get(method)
                if operation is None:
                    problems.append(
                        f"{where}: {method.upper()} {row.group(2)} is not in the schema"
                    )
                    continue
                documented_codes |= set(operation["responses"])
            # a row naming two methods lists the codes of both
            missing = set(re.findall(r"\b([1-5]\d\d)\b", row.group(3))) - documented_codes
            if missing:
                problems.append(
                    f"{where}: {row.group(1)} {row.group(2)} does not document "
                    f"{', '.join(sorted(missing))} in the schema"
                )
    return problems


def test_every_endpoint_and_status_code_in_docs_is_in_the_schema():
    assert documented_endpoint_violations(ROOT, runtime_schema()) == []
