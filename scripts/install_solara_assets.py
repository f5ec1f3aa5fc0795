#!/usr/bin/env python3
"""Install Solara's front-end assets into a venv so the dashboard works offline.

Solara (1.64) serves its JavaScript/CSS through a local proxy at ``/_solara/cdn/``
that reads ``<prefix>/share/solara/cdn/<name>@<version>/<file>`` and, when a file
is missing, downloads it from a public CDN. On a machine without access to that
CDN the page stays blank. This script fills the cache from the npm registry
instead (``npm pack``), so nothing has to be fetched at run time.

Layout (see solara/server/cdn_helper.py): the *contents* of the npm tarball's
top-level folder (normally ``package/``) sit directly in ``<name>@<version>/``,
e.g. ``<prefix>/share/solara/cdn/requirejs@2.3.6/require.js``.

Usage:
    python scripts/install_solara_assets.py [--venv PATH]

``--venv`` defaults to the running interpreter's ``sys.prefix``. Idempotent:
a package whose folder is already complete is skipped. Stdlib only.
Exit codes: 0 ok, 2 npm missing or ``npm pack``/unpack failed.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

# (npm name, exact version, cache folder, files that must exist for the folder to count
# as complete). The cache folder is the "<name>@<version>" that solara 1.64.1 puts in its
# urls: solara/server/templates/solara.html.j2 and server/settings.py (requirejs,
# font-awesome, solara-vuetify-app), widgets/vue/gridlayout.vue (vue-grid-layout, used by
# Mesa's SolaraViz), components/markdown.py (mermaid, katex: every solara.Markdown loads
# them) and widgets/vue/vegalite.vue (vega*, used by FigureAltair / Mesa's altair
# backend; solara asks for a major-version range there, so we pin an exact version and
# store it under the range's folder name).
PACKAGES: list[tuple[str, str, str, tuple[str, ...]]] = [
    ("requirejs", "2.3.6", "requirejs@2.3.6", ("require.js",)),
    ("font-awesome", "4.5.0", "font-awesome@4.5.0", ("css/font-awesome.min.css", "fonts/fontawesome-webfont.woff2")),
    (
        "@widgetti/vue-grid-layout",
        "2.3.13-alpha.2",
        "@widgetti/vue-grid-layout@2.3.13-alpha.2",
        ("dist/vue-grid-layout.umd.js",),
    ),
    (
        "@widgetti/solara-vuetify-app",
        "10.1.1",
        "@widgetti/solara-vuetify-app@10.1.1",
        ("dist/main8.css", "dist/fonts.css", "dist/solara-vuetify-app8.min.js", "dist/solara-vuetify-app8.js"),
    ),
    ("mermaid", "10.8.0", "mermaid@10.8.0", ("dist/mermaid.min.js",)),
    (
        "katex",
        "0.16.9",
        "katex@0.16.9",
        ("dist/katex.min.js", "dist/katex.min.css", "dist/contrib/auto-render.min.js"),
    ),
    ("vega", "5.33.1", "vega@5", ("build/vega.min.js",)),
    ("vega-lite", "5.23.0", "vega-lite@5", ("build/vega-lite.min.js",)),
    ("vega-embed", "6.29.0", "vega-embed@6", ("build/vega-embed.min.js",)),
]

MARKER = ".npm-pack-complete"  # written last; its content is "<name>@<version>"


class InstallError(Exception):
    pass


def cdn_dir_for(prefix: Path) -> Path:
    return prefix / "share" / "solara" / "cdn"


def is_complete(target: Path, spec: str, required: tuple[str, ...]) -> bool:
    marker = target / MARKER
    try:
        if marker.read_text(encoding="utf-8").strip() != spec:
            return False
    except OSError:
        return False
    return all((target / rel).is_file() for rel in required)


def npm_pack(npm: str, spec: str, dest: Path) -> Path:
    env = dict(os.environ, npm_config_update_notifier="false", npm_config_fund="false", npm_config_audit="false")
    try:
        proc = subprocess.run(
            [npm, "pack", spec, "--json", "--loglevel=error", "--pack-destination", str(dest)],
            cwd=dest,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=600,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise InstallError(f"npm pack {spec} failed: {exc}") from exc
    if proc.returncode != 0:
        reason = ""
        try:
            reason = json.loads(proc.stdout)["error"]["summary"]
        except (ValueError, LookupError, TypeError):
            errors = [ln for ln in proc.stderr.splitlines() if "npm error" in ln and "complete log" not in ln]
            reason = errors[1 if len(errors) > 1 else 0] if errors else "(no output)"
        raise InstallError(f"npm pack {spec} failed (exit {proc.returncode}): {reason}")
    tarballs = sorted(dest.glob("*.tgz"))
    try:
        filename = json.loads(proc.stdout)[0]["filename"]
        tarball = dest / filename
    except (ValueError, LookupError, TypeError):
        tarball = tarballs[0] if len(tarballs) == 1 else dest / "missing.tgz"
    if not tarball.is_file():
        raise InstallError(f"npm pack {spec} produced no tarball in {dest}")
    return tarball


def unpack(tarball: Path, into: Path) -> None:
    """Extract tarball's members with the first path component stripped."""
    into.mkdir(parents=True)
    with tarfile.open(tarball, "r:gz") as tar:
        members = []
        for member in tar.getmembers():
            parts = member.name.replace("\\", "/").split("/", 1)
            if len(parts) < 2 or not parts[1]:
                continue  # the top-level folder itself
            if not (member.isfile() or member.isdir()):
                continue  # no links or devices from a registry tarball
            member.name = parts[1]
            members.append(member)
        if not members:
            raise InstallError(f"{tarball.name} is empty")
        tar.extractall(into, members=members, filter="data")


def install_one(npm: str | None, cdn: Path, name: str, version: str, folder: str, required: tuple[str, ...]) -> str:
    spec = f"{name}@{version}"
    target = cdn / folder
    if is_complete(target, spec, required):
        return f"{spec}: already installed in {target}"
    if npm is None:
        raise InstallError("npm not found on PATH; install it (e.g. apt-get install -y npm) and re-run")
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="solara-assets-") as tmp:
        tmp_path = Path(tmp)
        pack_dir = tmp_path / "pack"
        pack_dir.mkdir()
        tarball = npm_pack(npm, spec, pack_dir)
        # unpack next to the target (same filesystem) so the final move is a rename
        staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=target.parent))
        try:
            shutil.rmtree(staging)
            try:
                unpack(tarball, staging)
            except (tarfile.TarError, OSError) as exc:
                raise InstallError(f"unpacking {tarball.name} failed: {exc}") from exc
            missing = [rel for rel in required if not (staging / rel).is_file()]
            if missing:
                raise InstallError(f"{spec} tarball lacks expected file(s): {', '.join(missing)}")
            (staging / MARKER).write_text(spec + "\n", encoding="utf-8")
            if target.exists() or target.is_symlink():
                # e.g. a partial cache left by solara's own proxy
                if target.is_dir() and not target.is_symlink():
                    shutil.rmtree(target)
                else:
                    target.unlink()
            os.replace(staging, target)
        finally:
            if staging.exists():
                shutil.rmtree(staging, ignore_errors=True)
    return f"{spec}: installed into {target}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--venv",
        type=Path,
        default=Path(sys.prefix),
        help="prefix of the environment solara runs in (default: this interpreter's sys.prefix)",
    )
    args = parser.parse_args(argv)
    prefix = args.venv.expanduser().resolve()
    if not prefix.is_dir():
        print(f"error: --venv {prefix} is not a directory", file=sys.stderr)
        return 2
    cdn = cdn_dir_for(prefix)
    npm = shutil.which("npm")
    for name, version, folder, required in PACKAGES:
        try:
            print(install_one(npm, cdn, name, version, folder, required), flush=True)
        except InstallError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
