"""``alliancesim dashboard``: arguments, one-line errors, loopback, the offline environment."""

from __future__ import annotations

import os
import shutil
import socket
import sys
from pathlib import Path

import pytest

import alliancesim
from alliancesim.cli import main
from alliancesim.dashboard import offline
from alliancesim.dashboard.cli import is_loopback, server_environment
from alliancesim.dashboard.export import EXPORT_DIR_ENV


@pytest.mark.parametrize("argv, message", [
    (["--port", "http"], "argument --port: expected a port number, got 'http'"),
    (["--port", "0"], "argument --port: port 0 is out of range: allowed 1 to 65535"),
    (["--port", "70000"], "argument --port: port 70000 is out of range"),
    (["--preset", "no_such_clinic"], "unknown preset 'no_such_clinic'"),
    (["--preset", "my_clinic.toml"], "unknown preset 'my_clinic.toml': choose one of default"),
    (["--seed", "-2"], "seed=-2 is out of range: allowed 0 to 9223372036854775807"),
    (["--seed", "one"], "seed='one' is not a whole number"),
    (["--host", "no-such-host.invalid"], "--host 'no-such-host.invalid' is not an address this computer has"),
    (["--unknown"], "unrecognized arguments: --unknown"),
])
def test_bad_arguments_give_one_line_and_exit_2(argv, message, capsys):
    assert main(["dashboard", *argv]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("alliancesim: error: ")
    assert message in err


def test_a_busy_port_is_refused_before_starting(capsys):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert main(["dashboard", "--port", str(port)]) == 2
    err = capsys.readouterr().err
    assert f"cannot listen on 127.0.0.1:{port}" in err and err.count("\n") == 1


def test_export_dir_must_be_a_folder(tmp_path, capsys):
    file = tmp_path / "a-file"
    file.write_text("x")
    assert main(["dashboard", "--export-dir", str(file)]) == 2
    assert "exists and is not a folder" in capsys.readouterr().err


def test_the_command_is_listed_in_help(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "dashboard" in capsys.readouterr().out


@pytest.mark.parametrize("host, loopback", [("127.0.0.1", True), ("127.8.0.1", True), ("localhost", True),
                                            ("::1", True), ("[::1]", True), ("0.0.0.0", False),
                                            ("192.168.1.4", False), ("example.org", False)])
def test_is_loopback(host, loopback):
    assert is_loopback(host) is loopback


def test_the_server_runs_offline_from_the_local_cache(tmp_path):
    env = server_environment("retiring_file", 9, tmp_path, offline=True)
    assert env["SOLARA_ASSETS_PROXY"] == "True"
    # the files shipped inside the package, not a folder of the environment it runs in
    cdn = Path(env["SOLARA_ASSETS_PROXY_CACHE_DIR"])
    assert cdn == offline.solara_cdn_dir() and Path(alliancesim.__file__).parent in cdn.parents
    assert (Path(env["SOLARA_ASSETS_EXTRA_LOCATIONS"]) / "custom.js").is_file()  # the missing-file message
    assert env["SOLARA_ASSETS_CDN"].startswith("http://127.0.0.1:")  # a miss fails fast, on this machine
    assert env["SOLARA_TELEMETRY_MIXPANEL_ENABLE"] == "False"
    assert env["SOLARA_THEME_SHOW_BANNER"] == "False"
    assert env[EXPORT_DIR_ENV] == str(tmp_path)
    assert env["ALLIANCESIM_DASHBOARD_PRESET"] == "retiring_file" and env["ALLIANCESIM_DASHBOARD_SEED"] == "9"
    online = server_environment("default", 1, tmp_path, offline=False)
    assert online.get("SOLARA_ASSETS_CDN") == os.environ.get("SOLARA_ASSETS_CDN")  # left to Solara
    assert online["SOLARA_TELEMETRY_MIXPANEL_ENABLE"] == "False"


def test_solara_command_serves_the_app_in_production_mode():
    cmd = offline.solara_command("127.0.0.1", 8765)
    assert cmd[:4] == [sys.executable, "-m", "solara", "run"]
    assert offline.APP_SPEC in cmd and "--production" in cmd and "--no-open" in cmd
    assert cmd[cmd.index("--host") + 1] == "127.0.0.1" and cmd[cmd.index("--port") + 1] == "8765"


def test_missing_assets_are_listed_by_name(tmp_path):
    from alliancesim.dashboard import assets

    assert "requirejs@2.3.6" in assets.missing(tmp_path) and len(assets.missing(tmp_path)) == len(assets.PACKAGES)
    shipped = assets.frontend_dir()
    complete = tmp_path / "requirejs@2.3.6"
    shutil.copytree(shipped / "requirejs@2.3.6", complete)
    assert "requirejs@2.3.6" not in assets.missing(tmp_path)
    (complete / "require.js").unlink()  # a file the manifest lists has gone: incomplete again
    assert "requirejs@2.3.6" in assets.missing(tmp_path)


def _time_wait_port() -> int:
    """A loopback port with a connection in TIME_WAIT on it and nothing listening (as right after
    Ctrl-C of a server that had visitors): the server side closes first, so it holds TIME_WAIT.
    Like uvicorn (and asyncio) the server listens with SO_REUSEADDR."""
    with socket.socket() as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        client = socket.create_connection(("127.0.0.1", port))
        served, _ = listener.accept()
        served.close()  # the server closes first
        client.recv(1)  # sees the close
        client.close()
    return port


def test_a_port_in_time_wait_is_free_to_start_on():
    from alliancesim.dashboard.cli import check_free

    port = _time_wait_port()
    with socket.socket() as plain:  # the condition is real: a plain bind is refused
        with pytest.raises(OSError):
            plain.bind(("127.0.0.1", port))
    check_free("127.0.0.1", port)  # no "Address already in use"


def test_a_port_something_listens_on_is_refused_in_one_line():
    from alliancesim.cli import CliError
    from alliancesim.dashboard.cli import check_free

    with socket.socket() as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        with pytest.raises(CliError, match=f"cannot listen on 127.0.0.1:{port}: .*choose another --port"):
            check_free("127.0.0.1", port)
