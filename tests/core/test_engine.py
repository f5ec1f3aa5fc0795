"""The two engines, the named random streams, the table declarations and the parameter registry.

* the pure-Python reference engine and the Numba engine write byte-identical tables;
* a new random draw leaves every other draw's numbers as they were;
* every table is declared once, and drift between a declaration and its use is a
  clear error, never a crash or a silent swap;
* every registered parameter is read by the model;
* compiled code is keyed by the source it was compiled from (no stale code);
* settling a process (engine.settle) freezes its libraries once, and models are still garbage-collected.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import alliancesim
from alliancesim import engine
from alliancesim.params import REGISTRY
from alliancesim.schema import OUTPUTS, STATE, Field, TableSpec, data_dictionary
from alliancesim.streams import Streams

from .conftest import SMALL

PACKAGE = Path(alliancesim.__file__).resolve().parent
ROOT = PACKAGE.parent

#: (preset, years, extra overrides): between them every mechanism runs, the handover included.
CASES = [
    ("default", 2.0, {}),
    ("retiring_file_and_introduction", 3.1, {}),
    ("countertransference", 1.5, {}),
    ("loose_boundaries", 1.5, {"boundary_incident_rate": 0.3}),
    ("fixing", 2.0, {"burnout_rate": 0.2, "burnout_leave_threshold": 0.4}),
]
SEEDS = (1, 2, 3)

_WRITE_ALL = """
import json, sys
from alliancesim import simulate
from alliancesim.tables import write_outputs
for preset, years, extra, seed, out in json.loads(sys.argv[1]):
    write_outputs(simulate(preset, seed=seed, years=years, **extra), out)
"""


def _write_all(engine_name: str, jobs: list) -> None:
    env = {**os.environ, engine.ENV: engine_name}
    subprocess.run([sys.executable, "-c", _WRITE_ALL, json.dumps(jobs)], check=True, env=env, cwd=ROOT)


def test_reference_and_fast_engines_write_identical_tables(tmp_path):
    jobs = {name: [(preset, years, {**SMALL, **extra}, seed, str(tmp_path / name / f"{preset}-{seed}"))
                   for preset, years, extra in CASES for seed in SEEDS]
            for name in ("python", "numba")}
    for name, todo in jobs.items():
        _write_all(name, todo)
    compared = 0
    for py_job, nb_job in zip(jobs["python"], jobs["numba"], strict=True):
        a, b = Path(py_job[-1]), Path(nb_job[-1])
        sa, sb = json.loads((a / "summary.json").read_text()), json.loads((b / "summary.json").read_text())
        assert (sa.pop("engine"), sb.pop("engine")) == ("python", "numba")
        assert sa == sb, py_job
        for table in OUTPUTS:
            fa, fb = a / f"{table}.parquet", b / f"{table}.parquet"
            if fa.read_bytes() != fb.read_bytes():  # say where, not just that
                pd.testing.assert_frame_equal(pd.read_parquet(fa), pd.read_parquet(fb), check_exact=True)
                pytest.fail(f"{table} of {py_job[:2]} differs in bytes only")
            compared += 1
    assert compared == len(CASES) * len(SEEDS) * len(OUTPUTS)
    # The runs were not trivially empty: sessions, ruptures and a handover happened.
    rel = pd.read_parquet(Path(jobs["numba"][3][-1]) / "relationships.parquet")
    assert rel["handover_outcome"].notna().any()
    assert len(pd.read_parquet(Path(jobs["numba"][0][-1]) / "ruptures.parquet")) > 20


def test_summary_records_the_engine_that_ran(run, tmp_path):
    from alliancesim.tables import write_outputs

    model, _ = run("default", 1, 1.0, **SMALL)
    summary = write_outputs(model, tmp_path / "out")
    assert summary["engine"] == model.engine == engine.ENGINE
    assert summary["code_fingerprint"] == alliancesim.runner.code_fingerprint()


def test_cli_selects_and_reports_the_engine(tmp_path):
    out = subprocess.run([sys.executable, "-m", "alliancesim", "run", "--engine", "python", "--years", "0.3",
                          "--set", "initial_clients=20", "--out", str(tmp_path / "o")],
                         capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert "python engine" in out.stdout
    assert json.loads((tmp_path / "o" / "summary.json").read_text())["engine"] == "python"
    bad = subprocess.run([sys.executable, "-m", "alliancesim", "run", "--engine", "fortran"],
                         capture_output=True, text=True, cwd=ROOT)
    assert bad.returncode == 2 and "fortran" in bad.stderr and "Traceback" not in bad.stderr


def test_an_unknown_engine_in_the_environment_is_named():
    env = {**os.environ, engine.ENV: "cuda"}
    out = subprocess.run([sys.executable, "-c", "import alliancesim; alliancesim.simulate(years=0.1)"],
                         capture_output=True, text=True, env=env, cwd=ROOT)
    assert out.returncode != 0
    assert "ALLIANCESIM_ENGINE='cuda' is not an engine" in out.stderr


# --- named random streams ---------------------------------------------------------------------------

def test_streams_are_keyed_by_name_not_by_order():
    a, b = Streams(11), Streams(11)
    b.numpy("a new mechanism").random(1000)  # a stream nobody else uses
    b.python("another").random()
    assert np.array_equal(a.numpy("dropout").random(50), b.numpy("dropout").random(50))
    assert a.python("arrivals").random() == b.python("arrivals").random()
    assert not np.array_equal(Streams(11).numpy("x").random(5), Streams(11).numpy("y").random(5))
    assert not np.array_equal(Streams(11).numpy("x").random(5), Streams(12).numpy("x").random(5))
    ss = np.random.SeedSequence(5, spawn_key=(3,))
    assert np.array_equal(Streams(ss).numpy("x").random(3), Streams(np.random.SeedSequence(5, spawn_key=(3,)))
                          .numpy("x").random(3))


@pytest.mark.parametrize("seed", [-1, 2**63, 1.5, "7", True])
def test_a_bad_seed_is_named(seed):
    from alliancesim import AllianceModel, ParameterError

    with pytest.raises(ParameterError, match="seed="):
        AllianceModel(rng=seed)


# --- one declaration per table ------------------------------------------------------------------------

def test_every_state_table_dtype_comes_from_its_declaration():
    for spec in STATE.values():
        assert spec.dtype.names == spec.names
        for f in spec.fields:
            assert spec.dtype[f.name].base == {"float": np.float64, "int": np.int64, "bool": np.bool_}[f.kind]
            assert f.unit and f.meaning, (spec.name, f.name)


def test_a_declaration_with_a_field_twice_or_an_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="'bond' declared twice"):
        TableSpec("t", "x", [Field("bond", "float", "0-1", "a"), Field("bond", "float", "0-1", "b")])
    with pytest.raises(ValueError, match="unknown kind 'double'"):
        TableSpec("t", "x", [Field("bond", "double", "0-1", "a")])


def test_an_agent_attribute_without_a_declared_field_is_an_error_at_import():
    from alliancesim.schema import CLIENT
    from alliancesim.state import Column, check_columns

    class Stray:
        distress = Column()
        mood = Column()

    with pytest.raises(TypeError, match="Stray.mood reads a field the client table does not declare"):
        check_columns(Stray, CLIENT)


def test_a_table_that_drifts_from_its_declaration_is_refused():
    from alliancesim.tables import conform

    spec = OUTPUTS["ruptures"]
    with pytest.raises(ValueError, match="missing column 'rupture_id'"):
        conform(pd.DataFrame({"week": [1]}), spec)
    with pytest.raises(ValueError, match="undeclared column 'mood'"):
        conform(pd.DataFrame({"mood": [1], **{n: [None] for n in spec.names}}), spec)


def test_tables_match_their_declarations_full_or_empty(run):
    from alliancesim.tables import all_tables

    _, full = run("default", 1, 1.0, **SMALL)
    empty = all_tables(alliancesim.simulate("default", seed=1, years=0.1, initial_clients=0, arrival_rate=0.0))
    assert len(empty["sessions"]) == len(empty["ruptures"]) == len(empty["relationships"]) == 0
    for name, spec in OUTPUTS.items():
        assert list(full[name].columns) == list(spec.names), name
        assert full[name].dtypes.astype(str).tolist() == list(spec.pandas_dtypes().values()), name
        assert empty[name].dtypes.astype(str).tolist() == full[name].dtypes.astype(str).tolist(), name


def test_the_data_dictionary_page_is_generated_from_the_declarations():
    page = (ROOT / "docs" / "data_dictionary.md").read_text()
    assert page == data_dictionary(), "run: python -m alliancesim.schema > docs/data_dictionary.md"
    for spec in OUTPUTS.values():
        for f in spec.fields:
            assert f"| `{f.name}` |" in page


# --- every number named -----------------------------------------------------------------------------

def test_every_registered_parameter_is_read_by_the_model():
    """A registered parameter that nothing reads would be accepted and do nothing."""
    sources = "\n".join(p.read_text() for p in PACKAGE.glob("*.py") if p.name != "params.py")
    for name in REGISTRY:
        assert re.search(rf"\b[Pp]\.{name}\b|params\.{name}\b", sources), f"{name} is registered but read nowhere"


def test_the_session_code_reads_parameters_only_from_the_registry_structure():
    """Parameters reach the compiled code through one structure built from the registry, never by hand."""
    packed = engine.pack_params(alliancesim.validate({}))
    numeric = [p.name for p in REGISTRY.values() if p.type is not str]
    record = packed[0]
    for name in numeric:
        value = record[name] if isinstance(record, np.void) else getattr(record, name)
        assert value == getattr(alliancesim.validate({}), name)
    week_src = (PACKAGE / "week.py").read_text()
    for name in re.findall(r"\bP\.(\w+)", week_src):
        assert name in REGISTRY, f"week.py reads P.{name}, which is not a registered parameter"


# --- no stale code ----------------------------------------------------------------------------------

def test_compiled_code_is_keyed_by_its_sources(tmp_path, monkeypatch):
    import shutil

    copy = tmp_path / "alliancesim"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    before = engine.kernel_fingerprint(str(copy))
    assert before == engine.kernel_fingerprint()
    (copy / "cli.py").write_text((copy / "cli.py").read_text() + "\n# wording only\n")
    assert engine.kernel_fingerprint(str(copy)) == before
    for name in engine.KERNEL_SOURCES:
        f = copy / name
        text = f.read_text()
        f.write_text(text + "\n# an edit\n")
        assert engine.kernel_fingerprint(str(copy)) != before, f"an edit to {name} would run stale compiled code"
        f.write_text(text)


# --- Mesa verbs ---------------------------------------------------------------------------------------

def test_agents_say_how_the_week_is_run_and_the_model_stops_at_its_horizon():
    model = alliancesim.AllianceModel(rng=1, years=0.1, **SMALL)
    model.run()
    assert not model.running and model.week == model.horizon
    with pytest.raises(RuntimeError, match="does not step past its horizon"):
        model.step()
    assert model.week == model.horizon
    with pytest.raises(TypeError, match="call model.step"):
        model.agents.shuffle_do("step")


def test_a_direct_call_runs_the_version_for_its_own_arguments():
    """engine.direct skips Numba's typing of each call, but never takes a version that compiled code
    made with an argument fixed as a literal (here ``leaves=True``): a later ``False`` must count."""
    numba = pytest.importorskip("numba")

    @numba.njit
    def weeks_left(leaves, weeks):
        return 0 if leaves else weeks

    @numba.njit
    def leaving(weeks):
        return weeks_left(True, weeks)  # compiles weeks_left with leaves fixed to True

    assert leaving(5) == 0
    for weeks in (3, 4):  # the first call is typed by Numba, the second is direct
        assert engine.direct(weeks_left)(False, weeks) == weeks
        assert engine.direct(weeks_left)(True, weeks) == 0


_SETTLE = """
import gc, json, threading, weakref
import alliancesim.model as M
from alliancesim import AllianceModel
from alliancesim.model import settle_process
SMALL = dict(n_therapists=4, population=800)
warm_ups = []
load = M._warm_up
M._warm_up = lambda: (warm_ups.append(1), load())
start = gc.get_freeze_count()
AllianceModel(rng=1, years=0.5, **SMALL).run()
after_models = gc.get_freeze_count()  # a user's own process: never frozen by making models
threads = [threading.Thread(target=settle_process) for _ in range(3)]
for t in threads:
    t.start()
for t in threads:
    t.join()
settled = gc.get_freeze_count()
settle_process()
model = AllianceModel(rng=2, years=0.5, **SMALL).run()
ref = weakref.ref(model)
del model
gc.collect()
print(json.dumps([start, after_models, settled, len(warm_ups), ref() is None]))
"""


def test_settling_a_process_freezes_its_libraries_once_and_models_are_still_collected():
    """engine.settle, as sweep and calibration workers call it: what is alive (the libraries, the loaded
    compiled code) leaves the full garbage collections, once even from several threads; models made
    later, which sit in reference cycles, are collected as before; making models never settles a process."""
    out = subprocess.run([sys.executable, "-c", _SETTLE], capture_output=True, text=True, check=True, cwd=ROOT)
    start, after_models, settled, warm_ups, model_freed = json.loads(out.stdout.splitlines()[-1])
    assert after_models == start  # models alone leave the user's garbage collector as it was
    assert settled > start + 10_000  # the imported stack and the compiled code
    assert warm_ups == 1  # once per process, however many threads ask
    assert model_freed
