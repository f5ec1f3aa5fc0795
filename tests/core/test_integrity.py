"""Nothing lost, nothing mixed: result folders appear whole, bad input is named before any work.

Each test here is a case from issue 11 that failed before: a result folder that
mixed two runs or looked complete when it was not, a parameter check that one
entry point skipped, a small input that ended in a traceback.
"""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
import threading
from pathlib import Path

import pandas as pd
import pytest

from alliancesim import presets, tables
from alliancesim.cli import main
from alliancesim.model import AllianceModel
from alliancesim.params import ParameterError, Params
from alliancesim.runner import simulate

#: The smallest clinic that still has clients, sessions and ruptures: runs in well under a second.
TINY = ["--years", "0.2", "--set", "n_therapists=2", "--set", "population=300", "--set", "initial_clients=10",
        "--quiet"]


def _run(out: Path, *extra: str) -> int:
    return main(["run", *TINY, "--out", str(out), *extra])


def _summary(out: Path) -> dict:
    return json.loads((out / "summary.json").read_text())


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


# --- 1. result folders: whole, never mixed, never silently replaced ------------------------------

def test_an_existing_result_folder_is_refused_and_kept(tmp_path, capsys):
    out = tmp_path / "run"
    assert _run(out, "--seed", "1") == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    capsys.readouterr()
    assert _run(out, "--seed", "2") == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "already holds files" in err and "--replace" in err
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert _leftovers(tmp_path) == []


def test_replace_swaps_the_whole_folder_so_no_stale_file_stays(tmp_path):
    out = tmp_path / "run"
    assert _run(out, "--seed", "1", "--csv") == 0
    assert (out / "weekly.csv").exists()
    assert _run(out, "--seed", "2", "--replace") == 0
    assert _summary(out)["seed"] == 2
    assert not list(out.glob("*.csv")), "CSV files of the earlier run stayed beside the new tables"
    assert _leftovers(tmp_path) == []


def test_replace_never_removes_a_folder_of_other_files(tmp_path, capsys):
    out = tmp_path / "notes"
    out.mkdir()
    (out / "thesis.tex").write_text("years of work")
    assert _run(out, "--replace") == 2
    assert "not alliancesim results" in capsys.readouterr().err
    assert (out / "thesis.tex").read_text() == "years of work"


def test_a_failure_while_writing_leaves_the_old_results_whole(tmp_path, monkeypatch):
    out = tmp_path / "run"
    assert _run(out, "--seed", "1") == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    real, written = tables.write_table, []

    def disk_full_after_two(df, path):
        if len(written) == 2:
            raise OSError(28, "No space left on device")
        written.append(path)
        real(df, path)

    monkeypatch.setattr(tables, "write_table", disk_full_after_two)
    assert _run(out, "--seed", "2", "--replace") == 2
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert _leftovers(tmp_path) == []

    monkeypatch.setattr(tables, "write_table", real)
    written.clear()
    fresh = tmp_path / "fresh"
    monkeypatch.setattr(tables, "write_table", disk_full_after_two)
    assert _run(fresh) == 2
    assert not fresh.exists(), "a half-written result folder appeared"


@pytest.mark.parametrize("out,message", [
    ("", "--out is empty"),
    ("{tmp}/file/run", "cannot be created"),
    ("{tmp}/file", "is not a directory"),
])
def test_an_unusable_out_is_refused_before_the_run(tmp_path, monkeypatch, capsys, out, message):
    (tmp_path / "file").write_text("x")
    import alliancesim.cli as cli

    monkeypatch.setattr(cli, "_run", lambda *a: pytest.fail("the simulation ran before --out was checked"))
    assert main(["run", *TINY, "--out", out.format(tmp=tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


def test_csv_without_out_is_an_error(capsys):
    assert main(["run", *TINY, "--csv"]) == 2
    assert "--csv" in capsys.readouterr().err


def test_write_outputs_refuses_to_mix_into_an_existing_folder(tmp_path):
    model = simulate(None, seed=1, years=0.2, n_therapists=2, population=300, initial_clients=10)
    tables.write_outputs(model, tmp_path / "a")
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "weekly.csv").write_text("old")
    with pytest.raises(tables.OutputExistsError):
        tables.write_outputs(model, tmp_path / "b")
    tables.write_outputs(model, tmp_path / "a", replace=True)
    assert (tmp_path / "a" / "summary.json").exists()


def test_two_exports_at_the_same_moment_get_a_folder_each(tmp_path, monkeypatch):
    from alliancesim.dashboard import export

    big = simulate(None, seed=1, years=0.2, n_therapists=4, population=300, initial_clients=10)
    small = simulate(None, seed=1, years=0.2, n_therapists=2, population=300, initial_clients=10)
    monkeypatch.setattr(export.time, "strftime", lambda fmt: "20260101-000000")  # the same second
    results, errors = [], []
    start = threading.Barrier(2)

    def do(model):
        try:
            start.wait()
            results.append(export.export_run(model, preset="default", root=tmp_path))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=do, args=(m,)) for m in (big, small)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    folders = sorted(folder for folder, _files in results)
    assert len(set(folders)) == 2
    therapists = sorted(_summary(f)["params"]["n_therapists"] for f in folders)
    assert therapists == [2, 4]
    for folder in folders:  # every file in a folder comes from that folder's run
        n = _summary(folder)["params"]["n_therapists"]
        assert pd.read_csv(folder / "therapists.csv")["therapist"].nunique() == n
        assert (folder / "clinic_map.png").exists()
    assert _leftovers(tmp_path) == []


# --- 3. one validation path, also for the Python API ----------------------------------------------

@pytest.mark.parametrize("values,named", [
    ({"self_awareness_mean": 5.0}, "self_awareness_mean=5 is out of range: allowed 0 to 1"),
    ({"n_therapists": 0}, "n_therapists=0 is out of range: allowed 1 to 60"),
    ({"years": math.nan}, "years=nan is out of range: allowed 0.1 to 100"),
    ({"share_physical": 0.9}, "share_physical + share_overwhelmed = 1.1 exceeds 1"),
    ({"handover_policy": "email"}, "handover_policy='email' is not allowed"),
])
def test_params_itself_checks_what_it_is_given(values, named):
    with pytest.raises(ParameterError) as err:
        Params(**values)
    assert named in str(err.value)
    with pytest.raises(ParameterError, match=re.escape(named)):
        AllianceModel(dict(values), rng=1)


def test_params_converts_to_the_declared_type():
    p = Params(n_therapists=5.0, years=1)
    assert type(p.n_therapists) is int and type(p.years) is float


@pytest.mark.parametrize("seed,named", [
    (-1, "seed=-1 is out of range"),
    (1.5, "seed=1.5 is not a whole number"),
    ("one", "seed='one' is not a whole number"),
    (True, "seed=True is not a whole number"),
])
def test_bad_seeds_name_the_seed(seed, named):
    with pytest.raises(ParameterError, match=named):
        simulate(None, seed=seed, years=0.2)


# --- 5. small inputs that gave tracebacks ---------------------------------------------------------

def test_negative_seed_on_the_command_line(capsys):
    assert main(["run", *TINY, "--seed", "-1"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "seed=-1 is out of range" in err


def test_binary_file_as_scenario(tmp_path, capsys):
    junk = tmp_path / "junk.toml"
    junk.write_bytes(bytes(range(256)) * 4)
    assert main(["run", *TINY, "--scenario", str(junk)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not a TOML text file" in err


@pytest.mark.parametrize("line,message", [
    ("things_to_notice = 5", "things_to_notice must be a list of sentences"),
    ("things_to_try = [1, 2]", "things_to_try must be a list of sentences"),
    ("title = 3", "title must be text"),
    ("extends = 7", "extends must be a preset name or a .toml path"),
])
def test_preset_notes_of_the_wrong_kind(tmp_path, line, message):
    path = tmp_path / "p.toml"
    path.write_text(f"{line}\n[params]\nn_therapists = 3\n")
    with pytest.raises(presets.PresetError, match=message):
        presets.load(path)


def test_extends_is_resolved_against_the_presets_own_folder(tmp_path, monkeypatch):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "base.toml").write_text("[params]\nn_therapists = 3\n")
    (folder / "child.toml").write_text('extends = "base.toml"\n[params]\npopulation = 900\n')
    monkeypatch.chdir(tmp_path)  # not the preset's folder
    preset = presets.load(folder / "child.toml")
    assert preset.params == {"n_therapists": 3, "population": 900}


def test_params_into_a_closed_pipe_is_quiet():
    import os

    import alliancesim

    env = {**os.environ, "PYTHONPATH": str(Path(alliancesim.__file__).resolve().parents[1])}  # this code
    proc = subprocess.Popen([sys.executable, "-m", "alliancesim", "params"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()  # the reader (e.g. `head`) has gone before the first line is written
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 0
    assert err == ""


# --- 8. empty tables keep their schema --------------------------------------------------------------

def _file_schemas(folder: Path) -> dict:
    import pyarrow.parquet as pq

    return {p.stem: pq.read_schema(p).remove_metadata() for p in sorted(folder.glob("*.parquet"))}


def test_every_table_has_the_same_schema_whether_empty_or_not(tmp_path):
    import pyarrow as pa

    busy = simulate(None, seed=1, years=0.5, n_therapists=3, population=400, initial_clients=30)
    # No clients ever come: no relationships, sessions, ruptures or events.
    empty = simulate(None, seed=1, years=0.2, n_therapists=1, population=300, initial_clients=0,
                     arrival_rate=0.0, word_of_mouth_rate=0.0)
    busy_tables, empty_tables = tables.all_tables(busy), tables.all_tables(empty)
    assert all(len(busy_tables[n]) for n in tables.TABLES), "the busy run should fill every table"
    assert not len(empty_tables["sessions"]) and not len(empty_tables["ruptures"])
    for name in tables.TABLES:
        a = pa.Table.from_pandas(busy_tables[name], preserve_index=False).schema.remove_metadata()
        b = pa.Table.from_pandas(empty_tables[name], preserve_index=False).schema.remove_metadata()
        assert a.equals(b), f"{name}: {a} != {b}"
        assert not any(pa.types.is_null(f.type) for f in b), name
    tables.write_outputs(busy, tmp_path / "busy")
    tables.write_outputs(empty, tmp_path / "empty")
    busy_files, empty_files = _file_schemas(tmp_path / "busy"), _file_schemas(tmp_path / "empty")
    assert busy_files.keys() == empty_files.keys() == set(tables.TABLES)
    for name in tables.TABLES:
        assert len(empty_files[name]) > 0 and busy_files[name].equals(empty_files[name]), name


def test_the_same_seed_still_gives_byte_identical_folders(tmp_path):
    assert _run(tmp_path / "a", "--seed", "4", "--csv") == 0
    assert _run(tmp_path / "b", "--seed", "4", "--csv") == 0
    a = {p.name: p.read_bytes() for p in (tmp_path / "a").iterdir()}
    b = {p.name: p.read_bytes() for p in (tmp_path / "b").iterdir()}
    assert a.keys() == b.keys() and len(a) == 13
    assert a == b


# --- found by a newcomer trying to break it ------------------------------------------------------

def _cli(*argv, env=None):
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    return subprocess.run([sys.executable, "-m", "alliancesim", *argv], capture_output=True, text=True,
                          cwd=root, env={**os.environ, **(env or {})})


def test_a_bad_engine_in_the_environment_is_one_line_and_exit_2():
    out = _cli("run", "--years", "0.2", env={"ALLIANCESIM_ENGINE": "bogus"})
    assert out.returncode == 2, out.stderr
    assert out.stderr.startswith("alliancesim: error: ALLIANCESIM_ENGINE='bogus'") and "Traceback" not in out.stderr


def test_years_twice_must_agree_and_examples_needs_a_folder_name():
    out = _cli("run", "--years", "0.2", "--set", "years=5")
    assert out.returncode == 2 and "disagree" in out.stderr
    out = _cli("examples", "")
    assert out.returncode == 2 and "empty" in out.stderr


def test_the_model_names_its_own_mistakes():
    import pytest

    from alliancesim import AllianceModel, ParameterError

    with pytest.raises(ParameterError, match="rng="):
        AllianceModel(seed=3)
    with pytest.raises(ParameterError, match="params=5 is not parameters"):
        AllianceModel(params=5)


def test_a_sweep_will_not_write_into_a_folder_of_other_files(tmp_path):
    from alliancesim.sweep.storage import SweepDir, SweepError

    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "keep.txt").write_text("mine")
    import pytest

    with pytest.raises(SweepError, match="not a sweep"), SweepDir(folder):
        pass
    assert sorted(p.name for p in folder.iterdir()) == ["keep.txt"]


def test_the_compile_notice_knows_a_warm_cache():
    from alliancesim import engine, simulate

    simulate(years=0.1, initial_clients=5)  # compiles (or loads) the session code
    if engine.ENGINE == "numba":
        assert engine.cache_is_warm()
