"""pip-audit over what uv.lock pins. Fails on a known vulnerability; says so plainly, and does not
fail, when the vulnerability service cannot be reached (machines that only reach a package mirror).

    .venv/bin/python .ci/audit_dependencies.py
"""

import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def main() -> int:
    with tempfile.TemporaryDirectory() as folder:
        requirements = Path(folder) / "requirements.txt"
        subprocess.run(
            [str(BIN / "uv"), "export", "--quiet", "--frozen", "--all-extras", "--no-emit-project",
             "--format", "requirements-txt", "--output-file", str(requirements)],
            cwd=ROOT, check=True,
        )  # fmt: skip
        audit = subprocess.run(
            [str(BIN / "pip-audit"), "--disable-pip", "--require-hashes", "--progress-spinner",
             "off", "--format", "json", "-r", str(requirements)],
            capture_output=True, text=True,
        )  # fmt: skip
    try:
        report = json.loads(audit.stdout)
    except json.JSONDecodeError:
        last = (audit.stderr.strip().splitlines() or ["no output"])[-1]
        print(f"pip-audit: the vulnerability service is unreachable ({last}); NOT AUDITED")
        return 0
    dependencies = report.get("dependencies", [])
    audited = [dependency for dependency in dependencies if "skip_reason" not in dependency]
    if not audited:
        print(
            f"pip-audit: the vulnerability service knows none of the {len(dependencies)} locked "
            "packages (it is unreachable from here, or a mirror answers instead); NOT AUDITED"
        )
        return 0
    vulnerable = [dependency for dependency in audited if dependency.get("vulns")]
    for dependency in vulnerable:
        for vuln in dependency["vulns"]:
            fixed = ", ".join(vuln.get("fix_versions", [])) or "no fix yet"
            print(f"{dependency['name']} {dependency['version']}: {vuln['id']} (fixed in {fixed})")
    skipped = len(dependencies) - len(audited)
    counts = f"{len(audited)} audited, {skipped} skipped, {len(vulnerable)} vulnerable"
    print(f"pip-audit: {counts}")
    return 1 if vulnerable else 0


if __name__ == "__main__":
    sys.exit(main())
