"""The run folder is ldnkit's alone (issue 17 item 1): every refusal leaves the user's files intact
byte for byte, overwrite replaces only a previous ldnkit run, an interrupt at any moment leaves the
previous result untouched, and no hidden folder is left behind."""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from ldnkit.cli import app
from ldnkit.errors import ConfigError
from ldnkit.io.run_folder import MARKER, atomic_output_dir, check_output_folder, is_ldnkit_run

runner = CliRunner()


def _snapshot(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` (hidden ones too) and the hash of its bytes."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _strays(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if p.name.startswith("."))


def _previous_run(out: Path) -> dict[str, str]:
    with atomic_output_dir(out) as tmp:
        (tmp / "summary.json").write_text('{"run": 1}')
        (tmp / "layers").mkdir()
        (tmp / "layers" / "sdg.tif").write_bytes(b"old pixels")
    return _snapshot(out)


# ------------------------------------------------------------------------------------------------
# The folder functions
# ------------------------------------------------------------------------------------------------


def test_new_run_folder_has_the_marker_and_nothing_stray(tmp_path):
    out = tmp_path / "runs" / "kenya"
    with atomic_output_dir(out) as tmp:
        assert tmp.parent == out.parent and tmp.name.startswith(".kenya.partial-")
        assert is_ldnkit_run(tmp)  # even a partial folder says whose it is
        (tmp / "a.txt").write_text("1")
    assert sorted(p.name for p in out.iterdir()) == [MARKER, "a.txt"]
    marker = json.loads((out / MARKER).read_text())
    assert set(marker) == {"ldnkit", "created"}
    assert _strays(out.parent) == []


def test_overwrite_replaces_a_previous_run_only_on_success(tmp_path):
    out = tmp_path / "run"
    before = _previous_run(out)
    with pytest.raises(ValueError), atomic_output_dir(out, overwrite=True) as tmp:
        (tmp / "b.txt").write_text("2")
        raise ValueError("boom")
    assert _snapshot(out) == before and _strays(tmp_path) == []
    with atomic_output_dir(out, overwrite=True) as tmp:
        (tmp / "c.txt").write_text("3")
    assert sorted(p.name for p in out.iterdir()) == [MARKER, "c.txt"]
    assert _strays(tmp_path) == []


def test_overwrite_accepts_an_empty_folder(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    with atomic_output_dir(out, overwrite=True) as tmp:
        (tmp / "a.txt").write_text("1")
    assert (out / "a.txt").read_text() == "1" and _strays(tmp_path) == []


def _user_folder(folder: Path) -> dict[str, str]:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "notes.txt").write_text("my notes, not ldnkit's")
    (folder / "config.yaml").write_text("output: .\noverwrite: true\n")
    return _snapshot(folder)


@pytest.mark.parametrize("overwrite", [False, True])
def test_refuses_a_folder_ldnkit_did_not_write(tmp_path, overwrite):
    out = tmp_path / "mine"
    before = _user_folder(out)
    needle = "did not write" if overwrite else "already exists"
    with pytest.raises(ConfigError, match=needle) as err, atomic_output_dir(out, overwrite):
        pytest.fail("the body must not run")
    assert str(err.value).startswith("output: ") and "\n" not in str(err.value)
    assert _snapshot(out) == before and _strays(tmp_path) == []


def test_refuses_a_file_as_output(tmp_path):
    out = tmp_path / "out"
    out.write_text("a file the user keeps")
    for overwrite in (False, True):
        with pytest.raises(ConfigError, match="is a file"), atomic_output_dir(out, overwrite):
            pass
    assert out.read_text() == "a file the user keeps"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_refuses_folders_that_hold_what_the_run_reads(tmp_path, monkeypatch):
    project = tmp_path / "project"
    before = _user_folder(project)
    (project / "data").mkdir()
    (project / "data" / "ndvi.tif").write_bytes(b"pixels")
    protected = [project / "config.yaml", project / "data" / "ndvi.tif"]
    cases = [
        (project, "holds"),
        (project / "data", "holds"),
        (project / "data" / "ndvi.tif", "ndvi.tif, a file the run reads"),
        (tmp_path, "holds"),
        (Path("/"), "root folder"),
    ]
    for out, needle in cases:
        with pytest.raises(ConfigError, match=needle):
            check_output_folder(out, overwrite=True, protected=protected)
    monkeypatch.setenv("HOME", str(project))
    with pytest.raises(ConfigError, match="home folder"):
        check_output_folder(project, overwrite=True)
    monkeypatch.setenv("HOME", "/nonexistent-home-of-the-test")
    monkeypatch.chdir(project)
    for out in (".", project, ".."):
        with pytest.raises(ConfigError, match="current folder"):
            check_output_folder(out, overwrite=True)
    assert _snapshot(project) == {**before, "data/ndvi.tif": hashlib.sha256(b"pixels").hexdigest()}


def test_unwritable_parent_is_one_line(tmp_path):
    blocker = tmp_path / "blocker"
    blocker.write_text("x")
    with pytest.raises(ConfigError, match="cannot create"), atomic_output_dir(blocker / "sub" / "run"):
        pass
    assert blocker.read_text() == "x"


# ------------------------------------------------------------------------------------------------
# Interrupts: the previous result is untouched, the partial folder removed
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("point", ["start", "middle", "end"])
def test_keyboard_interrupt_inside_the_body(tmp_path, point):
    out = tmp_path / "run"
    before = _previous_run(out)
    with pytest.raises(KeyboardInterrupt), atomic_output_dir(out, overwrite=True) as tmp:
        if point == "start":
            raise KeyboardInterrupt
        (tmp / "summary.json").write_text('{"run": 2}')
        if point == "middle":
            raise KeyboardInterrupt
        (tmp / "report.html").write_text("<html>")
        raise KeyboardInterrupt  # as the report is written
    assert _snapshot(out) == before and _strays(tmp_path) == []


def test_a_swallowed_interrupt_still_stops_the_swap(tmp_path):
    # A library may catch KeyboardInterrupt and carry on: the signal is remembered all the same.
    out = tmp_path / "run"
    before = _previous_run(out)
    with pytest.raises(KeyboardInterrupt), atomic_output_dir(out, overwrite=True) as tmp:
        try:
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.5)
        except KeyboardInterrupt:
            pass
        (tmp / "summary.json").write_text('{"run": 2}')
    assert _snapshot(out) == before and _strays(tmp_path) == []


@pytest.mark.parametrize("nth_rename", [1, 2])
def test_signal_during_the_swap_undoes_it(tmp_path, monkeypatch, nth_rename):
    out = tmp_path / "run"
    before = _previous_run(out)
    calls = []
    real_rename = Path.rename

    def rename_and_signal(self, target):
        calls.append(target)
        if len(calls) == nth_rename:
            os.kill(os.getpid(), signal.SIGINT)  # blocked: delivered after the swap is undone
        return real_rename(self, target)

    with pytest.raises(KeyboardInterrupt), atomic_output_dir(out, overwrite=True) as tmp:
        (tmp / "summary.json").write_text('{"run": 2}')
        monkeypatch.setattr(Path, "rename", rename_and_signal)
    monkeypatch.undo()
    assert _snapshot(out) == before and _strays(tmp_path) == []


def test_sigterm_removes_the_partial_folder(tmp_path):
    out = tmp_path / "run"
    before = _previous_run(out)
    code = (
        "import os, signal, time, sys\n"
        "from ldnkit.io.run_folder import atomic_output_dir\n"
        f"with atomic_output_dir({str(out)!r}, overwrite=True) as tmp:\n"
        "    (tmp / 'summary.json').write_text('new')\n"
        "    os.kill(os.getpid(), signal.SIGTERM)\n"
        "    time.sleep(5)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1] / "src")}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode != 0 and "KeyboardInterrupt" in proc.stderr
    assert _snapshot(out) == before and _strays(tmp_path) == []


# ------------------------------------------------------------------------------------------------
# Through the CLI: exit 2, one line naming `output`, the user's files intact
# ------------------------------------------------------------------------------------------------


@pytest.fixture
def project(small_inputs, tmp_path):
    """A copy of the small demo inputs with its config (SO1 only) and a user's notes file."""
    folder = tmp_path / "project"
    shutil.copytree(small_inputs, folder)
    cfg = yaml.safe_load((folder / "config.yaml").read_text())
    cfg.pop("drought", None)
    cfg["overwrite"] = True  # as the example configs set it
    (folder / "notes.txt").write_text("field notes")
    return folder, cfg


def _cli(folder: Path, cfg: dict, output: str):
    cfg = {**cfg, "output": output}
    (folder / "config.yaml").write_text(yaml.safe_dump(cfg))
    return runner.invoke(app, ["run", str(folder / "config.yaml"), "--quiet"])


def _refused(res, *needles: str) -> None:
    assert res.exit_code == 2, (res.exit_code, res.output, res.exception)
    err = res.stderr.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    assert err.startswith("error: output: "), err
    for needle in needles:
        assert needle in err, (needle, err)


@pytest.mark.parametrize(
    ("output", "needle"),
    [
        (".", "a file the run reads"),  # the config's own folder
        ("..", "holds"),
        ("soc_2000.tif", "soc_2000.tif, a file the run reads"),
        ("notes.txt", "is a file"),
        ("/", "root folder"),
    ],
)
def test_cli_refusals_keep_every_file(project, output, needle):
    folder, cfg = project
    (folder / "config.yaml").write_text(yaml.safe_dump({**cfg, "output": output}))
    before = _snapshot(folder.parent)
    _refused(_cli(folder, cfg, output), needle)
    assert _snapshot(folder.parent) == before
    assert _strays(folder) == [] and _strays(folder.parent) == []


def test_cli_refuses_a_user_folder_even_with_overwrite(project, tmp_path):
    folder, cfg = project
    mine = tmp_path / "results"
    mine.mkdir()
    (mine / "thesis.docx").write_bytes(b"two years of work")
    _refused(_cli(folder, cfg, str(mine)), "did not write", MARKER)
    assert (mine / "thesis.docx").read_bytes() == b"two years of work"
    assert sorted(p.name for p in mine.iterdir()) == ["thesis.docx"] and _strays(tmp_path) == []


def test_cli_home_and_current_folder(project, tmp_path, monkeypatch):
    folder, cfg = project
    work = tmp_path / "work"
    work.mkdir()
    (work / "keep.txt").write_text("keep")
    monkeypatch.chdir(work)
    _refused(_cli(folder, cfg, str(work)), "current folder")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(work))
    _refused(_cli(folder, cfg, str(work)), "home folder")
    assert sorted(p.name for p in work.iterdir()) == ["keep.txt"]


@pytest.mark.slow
def test_cli_rerun_overwrites_a_previous_run_and_report_interrupt_keeps_it(project, monkeypatch):
    folder, cfg = project
    out = folder.parent / "run"
    assert _cli(folder, cfg, str(out)).exit_code == 0
    first = _snapshot(out)
    assert MARKER in first and "summary.json" in first
    # Ctrl-C as the report starts: the first run stays as it was
    import ldnkit.report

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(ldnkit.report, "write_report", interrupted)
    res = _cli(folder, cfg, str(out))
    assert res.exit_code != 0 and _snapshot(out) == first
    assert _strays(folder.parent) == []
    monkeypatch.undo()
    # a re-run with overwrite: true replaces it
    res = _cli(folder, cfg, str(out))
    assert res.exit_code == 0, res.output
    second = _snapshot(out)
    assert second[MARKER] != first[MARKER] and set(second) == set(first)
    assert _strays(folder.parent) == []
    assert (folder / "notes.txt").read_text() == "field notes"


@pytest.mark.slow
def test_real_sigint_at_random_times_keeps_the_previous_result(project):
    """A real SIGINT to `ldnkit run` at random moments (a few bounded tries): the folder holds either
    the previous result byte for byte or, when the signal came after the new run was in place, the
    complete new run; never a mix, never nothing, and no hidden folder."""
    folder, cfg = project
    cfg = {**cfg, "output": str(folder.parent / "run")}
    cfg["report"] = {"html": True, "qgis_project": True}
    (folder / "config.yaml").write_text(yaml.safe_dump(cfg))
    command = [sys.executable, "-c", "from ldnkit.cli import app; app()", "run", "config.yaml", "-q"]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1] / "src")}
    t0 = time.perf_counter()
    subprocess.run(command, cwd=folder, env=env, check=True, capture_output=True, timeout=900)
    duration = time.perf_counter() - t0
    out = Path(cfg["output"])
    rng = random.Random(17)
    kept = 0
    for _ in range(3):
        before = _snapshot(out)
        proc = subprocess.Popen(command, cwd=folder, env=env, stderr=subprocess.PIPE)
        time.sleep(rng.uniform(0.15, 0.6) * duration)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=900)
        after = _snapshot(out)
        assert b"Traceback" not in err or b"KeyboardInterrupt" in err, err
        if after == before:
            kept += 1
            assert proc.returncode != 0
        else:  # the signal came after the swap: a complete new run
            assert set(after) == set(before) and after[MARKER] != before[MARKER]
        assert _strays(folder.parent) == [] and _strays(folder) == []
    assert kept, "no try interrupted the run before its end"


def test_a_run_folder_from_before_the_marker_is_recognised_only_when_it_holds_nothing_else(tmp_path):
    """ldnkit 0.1 run folders have no marker: a complete one (summary.json naming the ldnkit
    version, only run files) may be overwritten; one holding anything else may not."""
    old = tmp_path / "old"
    (old / "layers").mkdir(parents=True)
    (old / "summary.json").write_text(json.dumps({"ldnkit_version": "0.1.0"}))
    (old / "report.html").write_text("<html></html>")
    assert is_ldnkit_run(old)
    with atomic_output_dir(old, overwrite=True) as tmp:
        (tmp / "new.txt").write_text("new")
    assert (old / "new.txt").exists() and not (old / "report.html").exists()
    mixed = tmp_path / "mixed"
    (mixed / "layers").mkdir(parents=True)
    (mixed / "summary.json").write_text(json.dumps({"ldnkit_version": "0.1.0"}))
    (mixed / "notes.txt").write_text("mine")
    assert not is_ldnkit_run(mixed)
    with pytest.raises(ConfigError), atomic_output_dir(mixed, overwrite=True):
        pass
    assert (mixed / "notes.txt").read_text() == "mine"
    other = tmp_path / "other"
    other.mkdir()
    (other / "summary.json").write_text(json.dumps({"something": "else"}))
    assert not is_ldnkit_run(other)
