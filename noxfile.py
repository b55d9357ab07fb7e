"""Sessions: ``nox -s docs`` builds the site, ``nox -s tests`` runs the tests; ``nox -l`` lists.

Dependencies come from the dependency groups in ``pyproject.toml``; torch is pinned exactly there
(``torch==2.13.0``: a looser pin pulls a multi-GB CUDA build).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import nox

nox.needs_version = ">=2025.2.9"
nox.options.default_venv_backend = "venv"
nox.options.reuse_existing_virtualenvs = True
nox.options.sessions = ["lint", "tests", "docs"]

ROOT = Path(__file__).parent
PYPROJECT = nox.project.load_toml("pyproject.toml")
QUIET_ENV = {"NO_MKDOCS_2_WARNING": "1", "PYTHONHASHSEED": "0"}


def install(session: nox.Session, group: str) -> None:
    """Install one dependency group of pyproject.toml."""
    session.install(*nox.project.dependency_groups(PYPROJECT, group))


# ── site ───────────────────────────────────────────────────────────────────────────────


def build_site(session: nox.Session, target: Path) -> None:
    """Strict build into a temporary folder, swapped into ``target`` only on success."""
    tmp = Path(tempfile.mkdtemp(prefix=".site-tmp-", dir=ROOT))
    try:
        session.run(
            "python", "-m", "mkdocs", "build", "--strict", "--clean", "-d", str(tmp), env=QUIET_ENV
        )
        old = target.with_name(target.name + ".old")
        if target.exists():
            target.rename(old)
        tmp.rename(target)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@nox.session(python="3.11")
def docs(session: nox.Session) -> None:
    """Generate diagrams, tables and figures, then build the site strictly into site/."""
    install(session, "docs")
    session.run("python", "-m", "tools.generate", *session.posargs, env=QUIET_ENV)
    build_site(session, ROOT / "site")
    session.log(f"site built: open {ROOT / 'site' / 'index.html'} or run `nox -s serve`")


@nox.session(python="3.11", default=False)
def serve(session: nox.Session) -> None:
    """Generate, then serve the site with live reload on http://127.0.0.1:8000."""
    install(session, "docs")
    session.run("python", "-m", "tools.generate", env=QUIET_ENV)
    session.run(
        "python", "-m", "mkdocs", "serve", "-a", "127.0.0.1:8000", *session.posargs, env=QUIET_ENV
    )


# ── checks ─────────────────────────────────────────────────────────────────────────────


@nox.session(python="3.11")
def tests(session: nox.Session) -> None:
    """Run the test suite (pytest, CPU)."""
    install(session, "test")
    session.run("python", "-m", "pytest", *session.posargs, env=QUIET_ENV)


@nox.session(python="3.11")
def lint(session: nox.Session) -> None:
    """Lint and check formatting with ruff (docstring rules included)."""
    install(session, "lint")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


if os.environ.get("CI"):
    nox.options.error_on_missing_interpreters = True
