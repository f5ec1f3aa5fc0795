"""``alliancesim dashboard``: serve the dashboard offline on this computer.

::

    alliancesim dashboard [--host 127.0.0.1] [--port 8765] [--preset NAME] [--seed N]
                          [--export-dir DIR]

Binds to 127.0.0.1 unless told otherwise (anyone who can reach the page can
run simulations and write exports).  Bad arguments give one line on stderr and
exit status 2.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

from ..cli import CliError, command
from .export import EXPORT_DIR_ENV, export_root
from .assets import install_command
from .offline import dashboard_env, missing_assets, solara_cdn_dir, solara_command

DEFAULT_HOST, DEFAULT_PORT = "127.0.0.1", 8765


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a port number, got {text!r}") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port {port} is out of range: allowed 1 to 65535")
    return port


def _add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--host", default=DEFAULT_HOST,
                   help="address to listen on (default 127.0.0.1: this computer only)")
    p.add_argument("--port", type=_port, default=DEFAULT_PORT, help="port to listen on (default 8765)")
    p.add_argument("--preset", default="default", metavar="NAME",
                   help="preset the controls start from (see 'alliancesim scenarios')")
    p.add_argument("--seed", default="1", help="seed the controls start from (default 1)")
    p.add_argument("--export-dir", default=None, metavar="DIR",
                   help="folder for the Export tab's files (default ./runs/dashboard)")


def is_loopback(host: str) -> bool:
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_free(host: str, port: int) -> None:
    """Fail now, in one line, if the server could not listen there."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise CliError(f"--host {host!r} is not an address this computer has ({exc.strerror})") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as sock:
        # as the server (uvicorn) binds: connections closed a moment ago (TIME_WAIT, e.g. right
        # after Ctrl-C) do not block the port, only something listening on it does
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(address)
        except OSError as exc:
            raise CliError(f"cannot listen on {host}:{port}: {exc.strerror or exc}; "
                           "choose another --port (or stop what is using it)") from None


def server_environment(preset: str, seed: int, export_dir: Path, offline: bool) -> dict[str, str]:
    from .app import PRESET_ENV, SEED_ENV

    return {**os.environ, **dashboard_env(offline), PRESET_ENV: preset, SEED_ENV: str(seed),
            EXPORT_DIR_ENV: str(export_dir)}


@command("dashboard", "serve the teaching dashboard in your browser (works offline)", _add_arguments)
def run_dashboard(args: argparse.Namespace) -> int:
    from .. import presets
    from .clinic import parse_seed

    if args.preset not in presets.names():  # the page's preset list holds the shipped presets only
        raise CliError(f"unknown preset {args.preset!r}: choose one of {', '.join(presets.names())}")
    preset = args.preset
    seed = parse_seed(args.seed)
    export_dir = Path(args.export_dir).expanduser() if args.export_dir else export_root()
    if export_dir.exists() and not export_dir.is_dir():
        raise CliError(f"--export-dir {str(export_dir)!r} exists and is not a folder")
    check_free(args.host, args.port)
    missing = missing_assets()
    if missing:
        print(f"alliancesim: warning: the dashboard's front-end files are missing from {solara_cdn_dir()} "
              f"({', '.join(missing)}); the page needs internet until you run '{install_command()}'",
              file=sys.stderr)
    if not is_loopback(args.host):
        print(f"alliancesim: warning: listening on {args.host}: anyone who can reach this computer on port "
              f"{args.port} can use the dashboard and write files to {export_dir}", file=sys.stderr)
    shown = "127.0.0.1" if args.host in ("0.0.0.0", "::") else args.host
    print(f"alliancesim dashboard: http://{shown}:{args.port}/  (Ctrl-C to stop; exports go to {export_dir})",
          flush=True)
    env = server_environment(preset, seed, export_dir.resolve(), offline=not missing)
    process = subprocess.Popen(solara_command(args.host, args.port), env=env, stdin=subprocess.DEVNULL,
                               preexec_fn=_die_with_parent if sys.platform == "linux" else None)
    # `kill PID` (SIGTERM) or a closed terminal (SIGHUP) stops the server too, not only Ctrl-C
    previous = {sig: signal.signal(sig, _raise_stop) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        return process.wait()
    except KeyboardInterrupt:
        stop_server(process)
        raise
    except _Stop as stop:
        stop_server(process)
        return 128 + stop.signum
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


class _Stop(Exception):
    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


def _raise_stop(signum, frame) -> None:
    raise _Stop(signum)


def _die_with_parent() -> None:  # pragma: no cover - runs in the child, between fork and exec
    """Linux: the server gets SIGTERM when this process dies, even by SIGKILL."""
    import ctypes

    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # 1: PR_SET_PDEATHSIG


def stop_server(process: subprocess.Popen, timeout: float = 15.0) -> None:
    """Stop the Solara server: SIGTERM, then SIGKILL if it has not exited within ``timeout`` s."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
