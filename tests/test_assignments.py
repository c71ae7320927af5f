"""Assignments: student versions of a small synthetic notebook, and grading of three submissions of it.

Only three notebooks are executed (the instructor's, the untouched student version and a worked one), once,
by a module fixture; everything else reads their reports or needs no kernel.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from sat_course import assignments
from sat_course.assignments import AssignmentError, grade, grade_folder, release


def solution_cell(qid: str, source: str):
    return new_code_cell(source, metadata={"sat_assignment": {"id": qid, "kind": "solution"}})


def checks_cell(qid: str, points, source: str):
    return new_code_cell(source, metadata={"sat_assignment": {"id": qid, "kind": "tests", "points": points}})


ADD = 'def add(a, b):\n    """Return the sum of a and b."""\n    ### BEGIN SOLUTION\n    return a + b\n    ### END SOLUTION'
ADD_STUB = 'def add(a, b):\n    """Return the sum of a and b."""\n    raise NotImplementedError()'
ADD_TESTS = "assert add(1, 2) == 3\n### BEGIN HIDDEN TESTS\nassert add(-1, 1) == 0\n### END HIDDEN TESTS"
POINTS = {"setup": 1, "add": 2, "mul": 3, "neg": 1, "const": 1, "greet": 1}


def instructor_notebook():
    """Six questions: ``setup`` has tests only (they check the grading environment); the others a solution each."""
    setup_code = ('import os\nGRADING = os.environ.get("SAT_COURSE_GRADING")\nwith open("data.txt") as f:\n    DATA = f.read().strip()\n'
                  'print("grading:", GRADING)')
    cells = [
        new_markdown_cell("# Homework\n\nSolutions go between the markers."),
        new_code_cell(setup_code, execution_count=1, outputs=[new_output("stream", name="stdout", text="grading: None\n")],
                      metadata={"execution": {"iopub.status.busy": "2026-01-01T00:00:00Z"}}),
        checks_cell("setup", 1, 'assert DATA == "payload"\n### BEGIN HIDDEN TESTS\nassert GRADING == "1"\n### END HIDDEN TESTS'),
        solution_cell("add", ADD),
        checks_cell("add", 2, ADD_TESTS),
        solution_cell("mul", "def mul(a, b):\n    ### BEGIN SOLUTION\n    return a * b\n    ### END SOLUTION"),
        checks_cell("mul", 3, "assert mul(2, 3) == 6\n### BEGIN HIDDEN TESTS\nassert mul(-2, 3) == -6\n### END HIDDEN TESTS\n"),
        solution_cell("neg", "def neg(x):\n    ### BEGIN SOLUTION\n    return -x\n    ### END SOLUTION"),
        checks_cell("neg", 1, "assert neg(4) == -4"),
        solution_cell("const", "### BEGIN SOLUTION\nANSWER = 42\n### END SOLUTION"),
        checks_cell("const", 1, "assert ANSWER == 42"),
        solution_cell("greet", 'def greet(name):\n    ### BEGIN SOLUTION\n    return f"hello {name}"\n    ### END SOLUTION'),
        checks_cell("greet", 1, 'assert greet("x") == "hello x"'),
        new_code_cell('print("done", add(2, 2))'),
    ]
    nb = new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
                                             "course": {"week": 2}})
    return nb


def write_source(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(instructor_notebook(), folder / "hw.ipynb")
    nbformat.write(new_notebook(cells=[new_code_cell("x = 1")]), folder / "plain.ipynb")  # no assignment cells
    (folder / "data.txt").write_text("payload\n")
    return folder


def by_id(nb, qid: str, kind: str):
    return [c for c in nb.cells if c.metadata.get("sat_assignment", {}).get("id") == qid and c.metadata["sat_assignment"]["kind"] == kind]


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    return write_source(tmp_path_factory.mktemp("source") / "notebooks")


@pytest.fixture(scope="module")
def released(source, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("release")
    assert release(source, out) == [out / "hw.ipynb"]
    return out / "hw.ipynb"


def worked_submission(released: Path):
    """A student's work: add wrong in a way only the hidden tests catch, mul right, neg left as the stub (and its
    tests edited to pass), const right but its cell raises afterwards, greet's solution cell deleted, a scratch cell added."""
    nb = nbformat.read(released, as_version=4)
    by_id(nb, "add", "solution")[0].source = 'def add(a, b):\n    """Return the sum of a and b."""\n    return abs(a) + b'
    by_id(nb, "mul", "solution")[0].source = "def mul(a, b):\n    return a * b"
    by_id(nb, "neg", "tests")[0].source = "pass"
    by_id(nb, "const", "solution")[0].source = 'ANSWER = 42\nraise ValueError("oops")'
    nb.cells.remove(by_id(nb, "greet", "solution")[0])
    nb.cells.append(new_code_cell('raise RuntimeError("scratch work")'))
    return nb


@pytest.fixture(scope="module")
def reports(source, released, tmp_path_factory) -> dict[str, assignments.GradeReport]:
    """The three executed gradings: ``instructor``, ``stub`` (the release as is) and ``worked``, one folder each."""
    folder = tmp_path_factory.mktemp("submissions")
    for name in ("instructor", "stub", "worked"):
        (folder / name).mkdir()
    shutil.copy(source / "hw.ipynb", folder / "instructor" / "hw.ipynb")
    shutil.copy(released, folder / "stub" / "hw.ipynb")
    nbformat.write(worked_submission(released), folder / "worked" / "hw-alice.ipynb")  # a renamed file still finds hw.ipynb
    found = grade_folder(folder, source, timeout=120)
    assert sorted(found) == ["instructor/hw.ipynb", "stub/hw.ipynb", "worked/hw-alice.ipynb"]
    return {key.split("/")[0]: report for key, report in found.items()}


# ----------------------------------------------------------------------------------------- release


def test_release_stubs_solutions_and_keeps_signature_and_docstring(released):
    nb = nbformat.read(released, as_version=4)
    assert by_id(nb, "add", "solution")[0].source == ADD_STUB
    assert by_id(nb, "mul", "solution")[0].source == "def mul(a, b):\n    raise NotImplementedError()"
    assert by_id(nb, "const", "solution")[0].source == "raise NotImplementedError()"
    text = released.read_text()
    for secret in ("return a + b", "return a * b", "ANSWER = 42", "hello {name}", "BEGIN SOLUTION", "END SOLUTION"):
        assert secret not in text


def test_release_removes_hidden_tests_and_keeps_visible_checks(released):
    nb = nbformat.read(released, as_version=4)
    assert by_id(nb, "add", "tests")[0].source == "assert add(1, 2) == 3"
    assert by_id(nb, "mul", "tests")[0].source == "assert mul(2, 3) == 6"
    assert by_id(nb, "setup", "tests")[0].source == 'assert DATA == "payload"'
    assert by_id(nb, "neg", "tests")[0].source == "assert neg(4) == -4"
    text = released.read_text()
    assert "HIDDEN" not in text and "add(-1, 1)" not in text and "GRADING == " not in text


def test_release_clears_outputs_keeps_metadata_and_locks_assignment_cells(source, released):
    nb = nbformat.read(released, as_version=4)
    original = nbformat.read(source / "hw.ipynb", as_version=4)
    assert len(nb.cells) == len(original.cells)
    assert nb.metadata["course"] == {"week": 2} and nb.metadata["kernelspec"]["name"] == "python3"
    for cell, before in zip(nb.cells, original.cells):
        assert cell.cell_type == before.cell_type and cell.get("id") == before.get("id")
        assert "execution" not in cell.metadata
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None
        meta = cell.metadata.get("sat_assignment")
        if meta:
            assert meta == before.metadata["sat_assignment"]
            assert cell.metadata["deletable"] is False
            assert cell.metadata.get("editable", True) is (meta["kind"] == "solution")
        else:
            assert cell.source == before.source


def test_release_is_byte_identical_when_repeated(source, released, tmp_path):
    again = release(source, tmp_path / "again")
    assert [p.name for p in again] == ["hw.ipynb"]
    assert again[0].read_bytes() == released.read_bytes()
    release(source, tmp_path / "again")  # over its own output
    assert again[0].read_bytes() == released.read_bytes()


def test_release_of_cells_without_ids_is_deterministic(tmp_path):
    nb = instructor_notebook()
    raw = json.loads(nbformat.writes(nb))
    for cell in raw["cells"]:
        del cell["id"]  # a hand-written nbformat 4.5 notebook; nbformat would add random ids
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "hw.ipynb").write_text(json.dumps(raw))
    first, second = release(tmp_path / "src", tmp_path / "a")[0], release(tmp_path / "src", tmp_path / "b")[0]
    assert first.read_bytes() == second.read_bytes()


def test_stub_keeps_the_indentation_of_the_begin_line(tmp_path):
    code = "def f(x):\n    if x:\n        ### BEGIN SOLUTION\n        return 1\n        ### END SOLUTION\n    return 0\n"
    nb = new_notebook(cells=[solution_cell("f", code), checks_cell("f", 1, "assert f(1) == 1")])
    student = assignments.student_version(nb)
    assert student.cells[0].source == "def f(x):\n    if x:\n        raise NotImplementedError()\n    return 0\n"


def test_release_skips_notebooks_without_assignment_cells_unless_named(source, tmp_path):
    assert [p.name for p in release(source, tmp_path / "out")] == ["hw.ipynb"]
    assert not (tmp_path / "out" / "plain.ipynb").exists()
    assert [p.name for p in release(source, tmp_path / "named", ["hw"])] == ["hw.ipynb"]
    with pytest.raises(AssignmentError, match="plain.ipynb: no assignment cells"):
        release(source, tmp_path / "named", ["plain.ipynb"])
    with pytest.raises(AssignmentError, match="no such notebook"):
        release(source, tmp_path / "named", ["absent"])
    empty = tmp_path / "empty"
    empty.mkdir()
    assert release(empty, tmp_path / "none") == []


@pytest.mark.parametrize("cell, message", [
    (new_code_cell("### BEGIN SOLUTION\nx = 1\n### END SOLUTION"), "no 'sat_assignment' metadata"),
    (solution_cell("q", "### BEGIN SOLUTION\nx = 1\n"), "never closed"),
    (solution_cell("q", "x = 1\n### END SOLUTION"), "without"),
    (solution_cell("q", "## BEGIN SOLUTION\nx = 1\n### END SOLUTION"), "is not a marker"),
    (solution_cell("q", "x = 1"), "has no '### BEGIN SOLUTION'"),
    (checks_cell("q", None, "assert True"), "needs \"points\""),
    (checks_cell("q", 1, "### BEGIN SOLUTION\nx = 1\n### END SOLUTION"), "belong in a solution cell"),
    (new_code_cell("x = 1", metadata={"sat_assignment": {"id": "q", "kind": "answer"}}), "must be"),
    (new_markdown_cell("text", metadata={"sat_assignment": {"id": "q", "kind": "solution"}}), "must be code cells"),
])
def test_malformed_assignment_cells_are_reported(tmp_path, cell, message):
    nb = new_notebook(cells=[cell])
    nbformat.write(nb, tmp_path / "bad.ipynb")
    with pytest.raises(AssignmentError, match=message):
        assignments.questions(tmp_path / "bad.ipynb")
    with pytest.raises(AssignmentError, match=message):
        release(tmp_path, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_questions_lists_points_and_cells(source):
    found = assignments.questions(source / "hw.ipynb")
    assert {qid: q.points for qid, q in found.items()} == POINTS
    assert list(found) == list(POINTS)
    assert found["add"] == assignments.Question("add", 2, 1, 1)
    assert found["setup"].solution_cells == 0


def test_instructor_notebook_lookup(source, tmp_path):
    assert assignments.instructor_notebook(tmp_path / "hw.ipynb", source) == source / "hw.ipynb"
    assert assignments.instructor_notebook(tmp_path / "hw_bob.ipynb", source) == source / "hw.ipynb"
    with pytest.raises(AssignmentError, match="no instructor notebook"):
        assignments.instructor_notebook(tmp_path / "hwx.ipynb", source)


def test_unreadable_submission_scores_zero_without_running(source, tmp_path):
    broken = tmp_path / "hw.ipynb"
    broken.write_text("{not json")
    report = grade(broken, source)
    assert report.total == (0, sum(POINTS.values()))
    assert all("submission not graded" in s.error and "not a readable notebook" in s.error for s in report.questions.values())
    with pytest.raises(AssignmentError, match="no such file"):
        grade(tmp_path / "absent.ipynb", source)
    with pytest.raises(AssignmentError, match="no assignment cells"):
        grade(source / "plain.ipynb", source)


# ----------------------------------------------------------------------------------------- grading


def test_instructor_notebook_gets_full_marks(reports):
    report = reports["instructor"]
    assert report.cell_errors == []
    assert {qid: s for qid, s in report.questions.items()} == {qid: (p, p, None) for qid, p in POINTS.items()}
    assert report.total == (9, 9)


def test_grading_runs_in_the_notebooks_folder_with_the_grading_switch(reports):
    setup = reports["instructor"].executed.cells[1]
    assert setup.outputs[0]["text"] == "grading: 1\n"


def test_stub_notebook_scores_zero_exactly_for_the_stubbed_questions(reports):
    report = reports["stub"]
    assert report.questions["setup"] == (1, 1, None)  # needs no solution: the rest of the notebook still ran
    for qid in POINTS.keys() - {"setup"}:
        assert report.questions[qid].earned == 0, qid
    assert "NotImplementedError at `assert add(1, 2) == 3`" in report.questions["add"].error
    assert report.questions["const"].error == "solution cell raised NotImplementedError at `raise NotImplementedError()`"
    others = [e for e in report.cell_errors if e.kind is None]
    assert [e.error.split(" ")[0] for e in others] == ["NotImplementedError"]  # the last cell calls add()


def test_worked_submission(reports):
    q = reports["worked"].questions
    assert q["setup"] == (1, 1, None)
    assert q["mul"] == (3, 3, None)  # right, hidden tests included
    assert q["add"].earned == 0 and q["add"].error == "tests failed: AssertionError at `assert add(-1, 1) == 0`"  # visible passes
    assert q["neg"].earned == 0 and "NotImplementedError" in q["neg"].error  # the instructor's tests, not the edited cell
    assert q["const"] == (0, 1, "solution cell raised ValueError: oops")  # its tests pass, but the cell raised
    assert q["greet"].earned == 0 and "solution cell missing" in q["greet"].error
    assert reports["worked"].total == (4, 9)
    assert not any("scratch work" in e.error for e in reports["worked"].cell_errors)  # cells the student added are not run
    table = reports["worked"].table()
    assert "mul" in table and "3 / 3" in table and "total" in table and "4 / 9" in table


def test_a_cell_past_the_timeout_is_interrupted_and_a_dead_kernel_ends_the_run(tmp_path):
    """One small notebook (about five seconds): a busy loop past the per-cell timeout, then a cell that kills the kernel."""
    cells = []
    for qid, value in (("loop", "x = 1"), ("after", "y = 2"), ("die", "z = 3")):
        cells += [solution_cell(qid, f"### BEGIN SOLUTION\n{value}\n### END SOLUTION"), checks_cell(qid, 1, f"assert {value.replace('=', '==')}")]
    (tmp_path / "src").mkdir()
    nbformat.write(new_notebook(cells=cells), tmp_path / "src" / "t.ipynb")
    student = nbformat.read(tmp_path / "src" / "t.ipynb", as_version=4)
    student.cells[0].source = "x = 1\nimport time\nwhile True:\n    time.sleep(0.05)"
    student.cells[4].source = "import os\nos._exit(1)"
    nbformat.write(student, tmp_path / "t.ipynb")
    report = grade(tmp_path / "t.ipynb", tmp_path / "src", timeout=2)
    assert report.questions["loop"] == (0, 1, "solution cell raised CellTimeoutError: cell ran longer than 2 s and was interrupted")
    assert report.questions["after"] == (1, 1, None)  # the kernel was interrupted and went on
    assert report.questions["die"].earned == 0 and "the kernel died running this cell" in report.questions["die"].error
    assert report.cell_errors[-1] == assignments.CellError(5, "die", "tests", "not run: the kernel died earlier")


# ----------------------------------------------------------------------------------------- command line


def test_cli_grade_writes_tables_and_json(reports, source, tmp_path, monkeypatch, capsys):
    """The grading itself is the fixture's (the CLI only expands folders, calls ``grade`` and reports)."""
    folder = tmp_path / "subs"
    for name in ("instructor", "stub"):
        (folder / name).mkdir(parents=True)
        shutil.copy(source / "hw.ipynb", folder / name / "hw.ipynb")
    single = tmp_path / "hw-carol.ipynb"
    shutil.copy(source / "hw.ipynb", single)

    def fake_grade(path, source_dir, timeout=1800, env=None):
        assert Path(source_dir) == source
        return reports["worked" if path == single else path.parent.name]

    monkeypatch.setattr(assignments, "grade", fake_grade)
    out = tmp_path / "grades" / "grades.json"
    assert assignments.main(["grade", str(folder), str(single), "--source", str(source), "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "4 / 9" in printed and "9 / 9" in printed and "grades in" in printed
    data = json.loads(out.read_text())
    assert data["version"] == 1
    assert list(data["submissions"]) == [str(folder / "instructor" / "hw.ipynb"), str(folder / "stub" / "hw.ipynb"), str(single)]
    worked = data["submissions"][str(single)]
    assert set(worked) == {"submission", "source", "earned", "possible", "questions", "cell_errors"}
    assert (worked["earned"], worked["possible"]) == (4, 9) and isinstance(worked["possible"], int)  # integer points stay integers
    assert worked["questions"]["mul"] == {"earned": 3, "possible": 3, "error": None}
    assert worked["questions"]["const"] == {"earned": 0, "possible": 1, "error": "solution cell raised ValueError: oops"}
    assert all(set(e) == {"cell", "question", "kind", "error"} for e in worked["cell_errors"])


def test_cli_release(source, tmp_path, capsys):
    assert assignments.main(["release", "--source", str(source), "--out", str(tmp_path / "rel")]) == 0
    assert capsys.readouterr().out.strip() == f"released {tmp_path / 'rel' / 'hw.ipynb'}"
    empty = tmp_path / "empty"
    empty.mkdir()
    assert assignments.main(["release", "--source", str(empty), "--out", str(tmp_path / "rel2")]) == 2
    assert capsys.readouterr().err.strip() == f"error: {empty}: no notebook has assignment cells, nothing to release"


@pytest.mark.parametrize("case, message", [
    ("missing", "absent.ipynb: no such file"),
    ("plain", "plain.ipynb: no assignment cells"),
    ("unmatched", "no instructor notebook named other.ipynb"),
    ("empty_folder", "no .ipynb files to grade"),
])
def test_cli_grade_errors_are_one_line_and_run_nothing(source, tmp_path, monkeypatch, capsys, case, message):
    monkeypatch.setattr(assignments, "grade", lambda *a, **k: pytest.fail("graded despite the error"))
    shutil.copy(source / "plain.ipynb", tmp_path / "plain.ipynb")
    shutil.copy(source / "hw.ipynb", tmp_path / "other.ipynb")
    (tmp_path / "empty_folder").mkdir()
    target = {"missing": "absent.ipynb", "plain": "plain.ipynb", "unmatched": "other.ipynb", "empty_folder": "empty_folder"}[case]
    code = assignments.main(["grade", str(tmp_path / target), "--source", str(source), "--json", str(tmp_path / "g.json")])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and err.startswith("error: ") and message in err
    assert not (tmp_path / "g.json").exists()
