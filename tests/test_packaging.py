"""What users install: the wheel and sdist `python -m build` makes, the version, the lock file.

pinner is published as ``actions-pinner`` (``pinner`` on PyPI is an unrelated project) while the
import package and the command stay ``pinner``. The wheel must carry the code, the JSON schemas
pinner ships and the license, and nothing of the test suite; the sdist must carry what a packager
needs to build and test. The hash-locked requirements file the GitHub Action installs from must
cover every runtime dependency, so the action never installs anything floating. (``.ci/run``
also installs the built wheel into a fresh virtual environment and runs the demo from it.)
"""

from __future__ import annotations

import email
import re
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from typer.testing import CliRunner

import pinner
from pinner import cli

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def dist_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Wheel and sdist built from this tree, as `python -m build` does (hatchling, no network)."""
    out = tmp_path_factory.mktemp("dist")
    proc = subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return out


def wheel_names(dist_dir: Path) -> tuple[str, list[str]]:
    (wheel,) = dist_dir.glob("*.whl")
    with zipfile.ZipFile(wheel) as zf:
        return wheel.name, zf.namelist()


def test_wheel_is_the_package_its_schemas_and_license(dist_dir: Path) -> None:
    name, names = wheel_names(dist_dir)
    assert name == f"actions_pinner-{pinner.__version__}-py3-none-any.whl"
    dist_info = f"actions_pinner-{pinner.__version__}.dist-info/"
    outside = [n for n in names if not n.startswith(("pinner/", dist_info))]
    assert not outside, outside
    for forbidden in ("tests/", "fixtures/", "benchmarks/", "docs/"):
        assert not any(forbidden in n for n in names), forbidden
    assert not any("__pycache__" in n or n.endswith(".pyc") for n in names)
    shipped = {
        p.relative_to(ROOT).as_posix()
        for p in (ROOT / "pinner").rglob("*")
        if p.suffix in (".py", ".json") and "__pycache__" not in p.parts
    }
    assert any(s.endswith("_schema.json") for s in shipped)
    assert shipped <= set(names), sorted(shipped - set(names))
    assert f"{dist_info}licenses/LICENSE" in names


def test_wheel_metadata(dist_dir: Path) -> None:
    (wheel,) = dist_dir.glob("*.whl")
    with zipfile.ZipFile(wheel) as zf:
        dist_info = f"actions_pinner-{pinner.__version__}.dist-info"
        meta = email.message_from_bytes(zf.read(f"{dist_info}/METADATA"))
        entry_points = zf.read(f"{dist_info}/entry_points.txt").decode()
        license_text = zf.read(f"{dist_info}/licenses/LICENSE").decode()
    assert meta["Name"] == "actions-pinner"
    assert meta["Version"] == pinner.__version__
    assert meta["License-Expression"] == "Apache-2.0"
    assert meta["Requires-Python"] == ">=3.11"
    urls = dict(u.split(", ", 1) for u in meta.get_all("Project-URL"))
    assert {"Homepage", "Repository", "Documentation", "Issues", "Changelog"} <= set(urls)
    classifiers = meta.get_all("Classifier")
    assert "Topic :: Security" in classifiers
    assert "Programming Language :: Python :: 3.11" in classifiers
    assert re.search(r"^pinner = pinner\.__main__:main$", entry_points, re.MULTILINE)
    assert "Apache License" in license_text and "Version 2.0, January 2004" in license_text
    assert license_text == (ROOT / "LICENSE").read_text(encoding="utf-8")


def test_sdist_carries_what_a_packager_builds_and_tests_from(dist_dir: Path) -> None:
    (sdist,) = dist_dir.glob("*.tar.gz")
    with tarfile.open(sdist) as tf:
        names = {n.split("/", 1)[1] for n in tf.getnames() if "/" in n}
    for needed in (
        "LICENSE",
        "README.md",
        "pyproject.toml",
        "pinner/__init__.py",
        "tests/conftest.py",
        "fixtures/forge",
        "docs/rules.md",
        "requirements/action.txt",
    ):
        assert any(n == needed or n.startswith(needed + "/") for n in names), needed
    assert not any(n.startswith((".venv", ".git/", ".ci-venv")) for n in names)
    assert not any("__pycache__" in n or "node_modules" in n for n in names)


def test_license_is_apache_2() -> None:
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert "Apache License" in text and "Version 2.0, January 2004" in text
    assert "END OF TERMS AND CONDITIONS" in text
    assert PYPROJECT["project"]["license"] == "Apache-2.0"


def test_version_comes_from_installed_metadata(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.metadata

    monkeypatch.setattr(importlib.metadata, "version", lambda name: f"9.9.9+{name}")
    result = CliRunner().invoke(cli.app, ["--version"])
    assert result.exit_code == 0
    assert result.output == "pinner 9.9.9+actions-pinner\n"


def test_version_falls_back_to_the_package_when_not_installed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import importlib.metadata

    def missing(name: str) -> str:
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "version", missing)
    result = CliRunner().invoke(cli.app, ["--version"])
    assert result.exit_code == 0
    assert result.output == f"pinner {pinner.__version__}\n"


def locked_requirements() -> dict[str, tuple[Requirement, list[str]]]:
    """requirements/action.txt: name -> (pinned requirement, its hashes)."""
    text = (ROOT / "requirements" / "action.txt").read_text(encoding="utf-8")
    text = re.sub(r"#[^\n]*", "", text).replace("\\\n", " ")
    locked: dict[str, tuple[Requirement, list[str]]] = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        spec, *options = re.split(r"\s+--", line.strip())
        hashes = [o.split("=", 1)[1] for o in options if o.startswith("hash=")]
        req = Requirement(spec.strip())
        locked[canonicalize_name(req.name)] = (req, hashes)
    return locked


def test_action_lock_pins_every_runtime_dependency_with_hashes() -> None:
    locked = locked_requirements()
    assert locked, "requirements/action.txt is empty"
    for name, (req, hashes) in locked.items():
        (spec,) = req.specifier
        assert spec.operator == "==", f"{name} is not pinned exactly: {req}"
        assert hashes and all(re.fullmatch(r"sha256:[0-9a-f]{64}", h) for h in hashes), name
    for dependency in PYPROJECT["project"]["dependencies"]:
        wanted = Requirement(dependency)
        name = canonicalize_name(wanted.name)
        assert name in locked, f"{name} is a dependency but not in requirements/action.txt"
        (pinned,) = locked[name][0].specifier
        assert wanted.specifier.contains(pinned.version), f"{name}=={pinned.version} vs {wanted}"
    assert "hatchling" in locked, "the action builds pinner from its checkout with hatchling"
    assert "actions-pinner" not in locked, "pinner itself comes from the action's own checkout"
