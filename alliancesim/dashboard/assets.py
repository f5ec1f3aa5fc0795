"""The dashboard's front-end files (Solara's JavaScript, CSS and fonts), shipped inside the package.

Solara (1.64) serves its front end through a proxy at ``/_solara/cdn/<name>@<version>/<file>``
that reads a local folder and, on a miss, downloads from a public CDN.  alliancesim points that
proxy at :func:`frontend_dir`, a folder *inside the installed package*, so an installed wheel
serves the page without internet and without any extra step.

The folder is filled from the npm registry (``npm pack``) by :func:`install`, which runs

* when the wheel or sdist is built (``_build_frontend.py``, the build hook named in
  ``pyproject.toml``): the files travel inside the wheel as package data;
* in a source checkout, from ``scripts/setup.sh`` (``python scripts/install_solara_assets.py``,
  a thin wrapper around this module), or by hand: ``python -m alliancesim.dashboard.assets``.

Only the files the page can ask for are kept (minified bundles, styles, fonts and licences: about
15 MB of the packages' 124 MB); each package folder ends with a manifest, written last, so a
half-copied folder never counts as complete.

This module uses the standard library only: the build hook loads it by path before alliancesim's
dependencies are installed.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class FrontendPackage:
    """One npm package Solara's page loads.

    Attributes
    ----------
    name, version : str
        The npm package and its exact version (``npm pack name@version``).
    folder : str
        The ``<name>@<version>`` folder Solara's URLs use; for vega* Solara asks for a major-version
        range (``vega@5``), so an exact version is stored under the range's name.
    keep : tuple of str
        ``fnmatch`` patterns (``/``-separated paths inside the package) of the files to ship; each
        must match at least one file.  Licence files are always kept.
    """

    name: str
    version: str
    folder: str
    keep: tuple[str, ...]

    @property
    def spec(self) -> str:
        return f"{self.name}@{self.version}"


# Where solara 1.64.1 asks for them: server/templates/solara.html.j2 and server/settings.py
# (requirejs, font-awesome, solara-vuetify-app; --production loads the minified bundle for
# ipywidgets 8), widgets/vue/gridlayout.vue (vue-grid-layout, Mesa's SolaraViz),
# components/markdown.py (mermaid, katex: every solara.Markdown) and widgets/vue/vegalite.vue
# (vega*, Mesa's altair backend).
PACKAGES: tuple[FrontendPackage, ...] = (
    FrontendPackage("requirejs", "2.3.6", "requirejs@2.3.6", ("require.js",)),
    FrontendPackage("font-awesome", "4.5.0", "font-awesome@4.5.0",
                    ("css/font-awesome.min.css", "fonts/fontawesome-webfont.*")),
    FrontendPackage("@widgetti/vue-grid-layout", "2.3.13-alpha.2", "@widgetti/vue-grid-layout@2.3.13-alpha.2",
                    ("dist/vue-grid-layout.umd.js", "dist/vue-grid-layout.umd.min.js")),
    FrontendPackage("@widgetti/solara-vuetify-app", "10.1.1", "@widgetti/solara-vuetify-app@10.1.1",
                    ("dist/main8.css", "dist/fonts.css", "dist/solara-vuetify-app8.min.js",
                     "dist/*.solara-vuetify-app8.js",  # chunks the ipywidgets-8 bundle loads on demand
                     "dist/*.woff", "dist/*.woff2", "dist/*.ttf", "dist/*.eot")),
    FrontendPackage("mermaid", "10.8.0", "mermaid@10.8.0", ("dist/mermaid.min.js",)),
    FrontendPackage("katex", "0.16.9", "katex@0.16.9",
                    ("dist/katex.min.js", "dist/katex.min.css", "dist/contrib/*.min.js", "dist/fonts/*")),
    FrontendPackage("vega", "5.33.1", "vega@5", ("build/vega.min.js",)),
    FrontendPackage("vega-lite", "5.23.0", "vega-lite@5", ("build/vega-lite.min.js",)),
    FrontendPackage("vega-embed", "6.29.0", "vega-embed@6", ("build/vega-embed.min.js",)),
)

#: Written last into each package folder: ``{"spec": ..., "files": [...]}``.
MANIFEST = "alliancesim-manifest.json"

_LICENCE_PATTERNS = ("LICENSE*", "LICENCE*", "*.LICENSE.txt", "*/*.LICENSE.txt")


def install_command() -> str:
    """The command that fetches missing files into this installation (for one-line hints)."""
    return f"{sys.executable} -m alliancesim.dashboard.assets"


class AssetError(Exception):
    """The front-end files could not be fetched or unpacked (one line, for the user)."""


def frontend_dir() -> Path:
    """The folder inside the package that holds the front-end files (Solara's proxy cache)."""
    return Path(__file__).resolve().parent / "frontend"


def _manifest(target: Path) -> dict | None:
    try:
        return json.loads((target / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def is_complete(root: Path, package: FrontendPackage) -> bool:
    """Whether ``root/<package.folder>`` holds every file its manifest lists, for this version."""
    target = root / package.folder
    manifest = _manifest(target)
    if not manifest or manifest.get("spec") != package.spec or not manifest.get("files"):
        return False
    return all((target / rel).is_file() for rel in manifest["files"])


def missing(root: Path | None = None) -> list[str]:
    """The packages (``name@version``) not completely installed under ``root`` (default: the package's)."""
    root = frontend_dir() if root is None else Path(root)
    return [p.spec for p in PACKAGES if not is_complete(root, p)]


def _selected(package: FrontendPackage, unpacked: Path) -> list[str]:
    """The files of an unpacked npm package to ship, as sorted ``/``-separated relative paths."""
    files = sorted(p.relative_to(unpacked).as_posix() for p in unpacked.rglob("*") if p.is_file())
    chosen: set[str] = set()
    for pattern in package.keep:
        hits = [f for f in files if fnmatch.fnmatchcase(f, pattern)]
        if not hits:
            raise AssetError(f"{package.spec} has no file matching {pattern!r}; its layout changed")
        chosen.update(hits)
    chosen.update(f for f in files for pattern in _LICENCE_PATTERNS if fnmatch.fnmatchcase(f, pattern))
    return sorted(chosen)


def _npm_pack(npm: str, spec: str, dest: Path) -> Path:
    env = dict(os.environ, npm_config_update_notifier="false", npm_config_fund="false",
               npm_config_audit="false")
    try:
        proc = subprocess.run(
            [npm, "pack", spec, "--json", "--loglevel=error", "--pack-destination", str(dest)],
            cwd=dest, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=600)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise AssetError(f"npm pack {spec} failed: {exc}") from exc
    if proc.returncode != 0:
        lines = [ln for ln in proc.stderr.splitlines() if "npm error" in ln and "complete log" not in ln]
        raise AssetError(f"npm pack {spec} failed (exit {proc.returncode}): "
                         f"{lines[-1] if lines else proc.stderr.strip()[-300:] or '(no output)'}")
    tarballs = sorted(dest.glob("*.tgz"))
    if len(tarballs) != 1:
        raise AssetError(f"npm pack {spec} left {len(tarballs)} tarballs in {dest}, expected one")
    return tarballs[0]


def _unpack(tarball: Path, into: Path) -> None:
    """Extract the tarball's regular files with the top-level folder (``package/``) stripped."""
    with tarfile.open(tarball, "r:gz") as tar:
        members = []
        for member in tar.getmembers():
            parts = member.name.replace("\\", "/").split("/", 1)
            if len(parts) < 2 or not parts[1] or not (member.isfile() or member.isdir()):
                continue  # the top folder itself; no links or devices from a registry tarball
            member.name = parts[1]
            members.append(member)
        if not members:
            raise AssetError(f"{tarball.name} is empty")
        tar.extractall(into, members=members, filter="data")


def install_one(package: FrontendPackage, root: Path, npm: str | None) -> str:
    """Fetch one package with npm and put its shipped files in ``root/<folder>`` atomically."""
    target = root / package.folder
    if is_complete(root, package):
        return f"{package.spec}: already in {target}"
    if npm is None:
        raise AssetError("npm is needed to fetch the dashboard's front-end files and is not on PATH "
                         "(Debian: apt-get install -y npm)")
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="alliancesim-assets-") as tmp:
        unpacked = Path(tmp) / "unpacked"
        unpacked.mkdir()
        tarball = _npm_pack(npm, package.spec, Path(tmp))
        try:
            _unpack(tarball, unpacked)
        except (tarfile.TarError, OSError) as exc:
            raise AssetError(f"unpacking {tarball.name} failed: {exc}") from exc
        files = _selected(package, unpacked)
        # staged next to the target (same file system), then renamed into place
        staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=target.parent))
        try:
            for rel in files:
                (staging / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(unpacked / rel, staging / rel)
            (staging / MANIFEST).write_text(json.dumps({"spec": package.spec, "files": files}, indent=1) + "\n",
                                            encoding="utf-8")
            if target.is_symlink() or target.is_file():
                target.unlink()
            elif target.exists():
                shutil.rmtree(target)  # an incomplete or older folder
            os.replace(staging, target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    size = sum((target / rel).stat().st_size for rel in files) / 1e6
    return f"{package.spec}: {len(files)} files, {size:.1f} MB into {target}"


def install(root: Path | None = None, log=print) -> None:
    """Fetch every package not yet complete under ``root`` (default :func:`frontend_dir`).

    Raises
    ------
    AssetError
        npm missing, the registry unreachable, or a package's layout changed.
    """
    root = frontend_dir() if root is None else Path(root)
    npm = shutil.which("npm")
    for package in PACKAGES:
        log(install_one(package, root, npm))


def main(argv: list[str] | None = None) -> int:
    """``python -m alliancesim.dashboard.assets [--into DIR] [--check]``; exit 0, 1 (--check: missing), 2."""
    parser = argparse.ArgumentParser(
        prog="python -m alliancesim.dashboard.assets",
        description="Fetch the dashboard's front-end files (npm) into the package, so it works offline.")
    parser.add_argument("--into", type=Path, default=None, metavar="DIR",
                        help=f"folder to fill (default: {frontend_dir()})")
    parser.add_argument("--check", action="store_true", help="only report what is missing (exit 1 if any)")
    args = parser.parse_args(argv)
    root = args.into.expanduser().resolve() if args.into else frontend_dir()
    if args.check:
        absent = missing(root)
        print(f"missing in {root}: {', '.join(absent)}" if absent else f"complete: {root}")
        return 1 if absent else 0
    try:
        install(root, log=lambda line: print(line, flush=True))
    except AssetError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
