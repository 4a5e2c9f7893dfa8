"""Writes .env.example from docs/operations.md's tables (the one place variables are documented):
every variable with its documented default. tests/test_repository_truths.py fails when the two
disagree.

    .venv/bin/python .ci/write_env_example.py
"""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ROW = re.compile(r"^\|\s*(`[A-Z][^|]*?)\s*\|\s*([^|]*?)\s*\|")
NAME = re.compile(r"`([A-Z][A-Z0-9_<>]*)`")


def main() -> None:
    lines = [
        "# Every environment variable Autopack reads, documented in docs/operations.md (the",
        "# default and meaning are there). Copy to .env for docker compose, or export what you",
        "# change.",
        "# Commented lines keep their default; <PLACEHOLDERS> name a family of variables.",
        "# Regenerate: .venv/bin/python .ci/write_env_example.py",
        "",
    ]
    for line in (ROOT / "docs" / "operations.md").read_text().splitlines():
        row = ROW.match(line)
        if not row:
            continue
        lines.append(f"# default: {row.group(2).replace('`', '')}")
        lines += [f"# {name}=" for name in NAME.findall(row.group(1))]
        lines.append("")
    (ROOT / ".env.example").write_text("\n".join(lines))


if __name__ == "__main__":
    main()
