"""Sessions: ``nox -s docs`` builds the site, ``nox -s tests`` runs the tests; ``nox -l`` lists.

``nox -s browser`` checks the built site (Chromium, links, copy-and-run, bad input);
``nox -s pdf`` prints it to PDF (a file per paper, one for the site) and checks the PDFs;
``nox -s serve`` is the live preview; ``nox -s bench``, ``nox -s bench-preview`` and
``nox -s determinism`` are run on demand.

Dependencies come from the dependency groups in ``pyproject.toml``; torch is pinned exactly there
(``torch==2.13.0``: a looser pin pulls a multi-GB CUDA build).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import nox

nox.needs_version = ">=2025.2.9"
# virtualenv (a dependency of nox) rather than the venv module: it makes an environment in about
# 2 s instead of 6 s here, seeded with a current pip that installs the docs group in 23 s instead
# of 29 s (pip 26.3 against Python 3.11's bundled 23.2; measured in new folders on 2026-12-03).
nox.options.default_venv_backend = "virtualenv"
nox.options.reuse_existing_virtualenvs = True
nox.options.sessions = ["lint", "tests", "docs"]

ROOT = Path(__file__).parent
PYPROJECT = nox.project.load_toml("pyproject.toml")
QUIET_ENV = {"NO_MKDOCS_2_WARNING": "1", "PYTHONHASHSEED": "0"}


def install(session: nox.Session, group: str) -> None:
    """Install one dependency group of pyproject.toml.

    ``--no-compile``: pip would byte-compile every module of torch & co. up front (most are never
    imported by a session); Python compiles the ones imported on first use instead, and caches
    them in the virtualenv. That cache needs bytecode writing on: where the machine exports
    ``PYTHONDONTWRITEBYTECODE=1`` (this sandbox does), every process compiled torch and matplotlib
    from source again (``import torch, matplotlib.pyplot``: 9.2 s, 4.1 s with the cache, here).
    """
    session.env["PYTHONDONTWRITEBYTECODE"] = ""  # empty = unset: Python writes __pycache__/
    session.install("--no-compile", *nox.project.dependency_groups(PYPROJECT, group))


# ── site ───────────────────────────────────────────────────────────────────────────────


def build_site(session: nox.Session, target: Path, *args: str) -> None:
    """Strict build into a temporary folder, swapped into ``target`` only on success.

    The logic lives in ``tools/website/build.py`` (tested by ``tests/test_site.py``): a failed build
    prints one ``error:`` line per problem and leaves the previous site untouched.
    """
    session.run("python", "-m", "tools.website.build", "--site", str(target), *args, env=QUIET_ENV)


@nox.session(python="3.11")
def docs(session: nox.Session) -> None:
    """Generate diagrams, tables and figures, then build the site strictly into site/."""
    install(session, "docs")
    session.run("python", "-m", "tools.generate", *session.posargs, env=QUIET_ENV)
    # --offline: beside the site, in a second process, the same site for reading from disk
    # (file://, search included) → dist/site-offline.zip; skipped when its inputs are unchanged
    build_site(session, ROOT / "site", "--offline")
    session.log(f"site built: open {ROOT / 'site' / 'index.html'} or run `nox -s serve`")


@nox.session(python="3.11", default=False)
def serve(session: nox.Session) -> None:
    """Live preview on http://127.0.0.1:8000 that regenerates (``-- --port N`` for another port).

    Watches docs/, reference_impl/, tools/ and mkdocs.yml: a note edit rebuilds its page, a model
    edit reruns the generator (its models first) and rebuilds the pages made from it, a broken
    file prints one error line and the last good pages stay (tools/website/serve.py).
    """
    install(session, "docs")
    session.run("python", "-m", "tools.website.serve", *session.posargs, env=QUIET_ENV)


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


# ── site checks (issue 6) ────────────────────────────────────────────────────────────────


def fresh_site(session: nox.Session) -> None:
    """Generate (cached), then build site/ unless it is newer than all its inputs."""
    session.run("python", "-m", "tools.generate", env=QUIET_ENV)
    session.run("python", "-m", "tools.website.build", "--if-stale", env=QUIET_ENV)


@nox.session(python="3.11")
def browser(session: nox.Session) -> None:
    """Check the built site: Chromium (Playwright) on every page, links, copy-and-run, bad input.

    Reuses site/ when it is newer than every input (so right after `nox -s docs` nothing is
    rebuilt), else generates and builds it first. Drives Debian's /usr/bin/chromium (or
    $CHROMIUM); Playwright never downloads a browser. Writes reports/links.md (external links)
    and reports/screenshots/ (every page, light and dark; git-ignored). Also runs the live preview
    on a copy of the repository: a note edit, a model edit, a broken note (tests/test_preview.py).
    """
    install(session, "browser")
    fresh_site(session)
    report = ["--report", "reports/links.md"]
    session.run("python", "-m", "tools.website.linkcheck", "site", *report, success_codes=[0, 1])
    session.run(
        "python", "-m", "pytest", "-m", "site or browser", "tests/test_site.py", "tests/browser",
        "tests/test_preview.py", *session.posargs, env=QUIET_ENV,
    )  # fmt: skip


@nox.session(python="3.11", default=False)
def pdf(session: nox.Session) -> None:
    """Print a PDF of every paper page and of the whole site into site/ (Chromium), then test them.

    Builds site/ first when it is stale (like `nox -s browser`). Each paper's PDF sits beside its
    page (site/papers/<slug>/<slug>.pdf), the site's beside the home page; the offline bundle
    (dist/site-offline.zip) gets them too. See tools/website/pdf.py.
    """
    install(session, "pdf")
    fresh_site(session)
    session.run("python", "-m", "tools.website.pdf", *session.posargs, env=QUIET_ENV)
    session.run("python", "-m", "pytest", "-m", "pdf", "tests/test_pdf.py", env=QUIET_ENV)


@nox.session(python="3.11", default=False)
def linkcheck(session: nox.Session) -> None:
    """Check every internal link and anchor of site/; list external links in reports/links.md."""
    install(session, "docs")
    fresh_site(session)
    session.run("python", "-m", "tools.website.linkcheck", "site", "--report", "reports/links.md")


@nox.session(python="3.11", default=False)
def determinism(session: nox.Session) -> None:
    """Two clean builds (generator + strict build, in temporary copies) must be identical."""
    install(session, "browser")
    session.run(
        "python", "-m", "pytest", "-m", "slow", "tests/test_site.py", "-s", *session.posargs,
        env=QUIET_ENV,
    )  # fmt: skip


@nox.session(python="3.11", default=False)
def bench(session: nox.Session) -> None:
    """Time the generator and the site build, size the pages: reports/bench.{json,md}.

    Also times a clean clone to a site (a new virtualenv is installed), and before it the same for
    commit 0968e4d, the state before issue 13, so that the two are compared on one machine (about
    5–8 minutes more; ``nox -s bench -- --baseline REV`` picks another commit).
    """
    install(session, "docs")
    # the docs virtualenv must exist for `nox -s docs -R`, the run being compared
    session.run(sys.executable, "-m", "nox", "-s", "docs", "--install-only", external=True)
    session.run(
        "python", "-m", "tools.reports.bench", "--nox", f"{sys.executable} -m nox",
        "--envdir", str(ROOT / ".nox"), "--clean-clone", "--baseline", *session.posargs,
        env=QUIET_ENV,
    )  # fmt: skip


@nox.session(name="bench-preview", python="3.11", default=False)
def bench_preview(session: nox.Session) -> None:
    """Time the live preview on a temporary copy: reports/preview.json, a section of bench.md.

    A note edit (also under plain ``mkdocs serve``, as before), a model edit, three broken files
    and their fixes, medians of 3 (10–20 minutes; ``-- --repeat N``, ``-- --no-baseline``).
    generated/ is brought up to date first, so that the copy starts warm.
    """
    install(session, "docs")
    session.run("python", "-m", "tools.generate", env=QUIET_ENV)
    session.run("python", "-m", "tools.reports.preview", *session.posargs, env=QUIET_ENV)


# ── cross-check and newest torch (issue 12) ─────────────────────────────────────────────


@nox.session(python="3.11", default=False)
def crosscheck(session: nox.Session) -> None:
    """Our models against torchvision, transformers, timm, open_clip, PyG and torch.nn.

    Copies each canonical model's random weights into ours and compares outputs and parameter
    counts (tests/crosscheck/); a complete passing run writes reports/crosscheck.{json,md}. Its
    own virtualenv holds torch 2.14.1 + torchvision 0.29.1 (see the ``crosscheck`` group in
    pyproject.toml for why not 2.13.0); installing it from scratch copies ≈5.5 GB of CUDA
    libraries that are never used (about 5 minutes here; 13 minutes for the tests on a busy
    machine, about 6 minutes of CPU).
    """
    started = time.monotonic()
    install(session, "crosscheck")
    session.log(f"crosscheck install: {time.monotonic() - started:.0f} s")
    session.run(
        "python", "-m", "pytest", "-m", "crosscheck", "tests/crosscheck", "-p", "no:cacheprovider",
        *session.posargs, env=QUIET_ENV,
    )  # fmt: skip


# The newest torch for `nox -s tests-latest`; the weekly workflow sets LATEST_TORCH=torch.
LATEST_TORCH = os.environ.get("LATEST_TORCH", "torch==2.14.1")


@nox.session(name="tests-latest", python="3.11", default=False)
def tests_latest(session: nox.Session) -> None:
    """The normal test suite on a newer torch ($LATEST_TORCH, default torch==2.14.1).

    A passing run adds its torch version to reports/torch-versions.json, which the paper cards
    list beside the pinned version.
    """
    session.install(LATEST_TORCH)
    install(session, "tests-latest")
    session.run("python", "-m", "pytest", *session.posargs, env=QUIET_ENV)
    if not session.posargs:  # only a full run counts
        session.run("python", "-m", "tests.crosscheck.versions", env=QUIET_ENV)


# ── forward compatibility ──────────────────────────────────────────────────────────────

# Zensical, MkDocs' successor, reads the same mkdocs.yml. Not pinned in pyproject.toml: this
# session exists to try its newest release (override: `ZENSICAL=zensical==0.0.73 nox -s zensical`).
ZENSICAL = os.environ.get("ZENSICAL", "zensical")


@nox.session(python="3.11", default=False)
def zensical(session: nox.Session) -> None:
    """Build mkdocs.yml with MkDocs and with Zensical, compare them into reports/zensical.md."""
    install(session, "docs")
    session.install(ZENSICAL)
    session.run("python", "-m", "tools.generate", env=QUIET_ENV)
    session.run("python", "-m", "tools.reports.zensical", *session.posargs, env=QUIET_ENV)


if os.environ.get("CI"):
    nox.options.error_on_missing_interpreters = True
