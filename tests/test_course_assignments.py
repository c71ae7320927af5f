"""CI checks of the course's real assignments (the instructor notebooks in notebooks/; see docs/assignments.md).

(a) every required question has a solution cell and a tests cell; (b) the release is deterministic and gives
nothing away; (c) graded with ``SAT_COURSE_GRADING=1`` (which ``grade`` sets; the notebooks skip their long
training under it), the instructor notebooks score full marks without a single error, and the student
versions fail the tests of their stubs and nothing else.
"""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import nbformat
import pytest

from sat_course.assignments import BEGIN_HIDDEN, BEGIN_SOLUTION, END_HIDDEN, END_SOLUTION, STUB, assignment_notebooks, grade, questions, release

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
REQUIRED = {
    "soft_attention": "the soft attention forward pass",
    "doubly_stochastic": "the doubly stochastic regularisation loss",
    "reinforce": "the REINFORCE estimator with a baseline",
    "beam_search": "beam search",
    "bleu": "BLEU",
}
ASSIGNMENT_NOTEBOOKS = assignment_notebooks(NOTEBOOKS)
NONE_YET = (f"no assignment cells yet in notebooks/ ({', '.join(p.name for p in sorted(NOTEBOOKS.glob('*.ipynb'))) or 'no notebooks'}): "
            "no cell has 'sat_assignment' metadata")


def needs_assignments() -> None:
    if not ASSIGNMENT_NOTEBOOKS:
        pytest.skip(NONE_YET)


def test_every_required_question_has_a_solution_and_a_tests_cell():
    needs_assignments()
    where: dict[str, tuple[str, object]] = {}
    for path in ASSIGNMENT_NOTEBOOKS:
        for qid, question in questions(path).items():  # a malformed notebook fails here with its one-line reason
            assert qid not in where, f"question {qid!r} is in both {where[qid][0]} and {path.name}; ids must be unique in the course"
            where[qid] = (path.name, question)
    problems = []
    for qid, what in REQUIRED.items():
        if qid not in where:
            problems.append(f"{qid} ({what}): in no notebook")
            continue
        name, q = where[qid]
        if not q.solution_cells or not q.test_cells or q.points <= 0:
            problems.append(f"{qid} in {name}: {q.solution_cells} solution cell(s), {q.test_cells} tests cell(s), {q.points} point(s)")
    assert not problems, "required questions:\n" + "\n".join(problems)


def test_release_is_deterministic_and_gives_nothing_away(tmp_path):
    needs_assignments()
    first, second = release(NOTEBOOKS, tmp_path / "a"), release(NOTEBOOKS, tmp_path / "b")
    assert [p.name for p in first] == [p.name for p in second] == [p.name for p in ASSIGNMENT_NOTEBOOKS]
    for a, b in zip(first, second):
        assert a.read_bytes() == b.read_bytes(), f"{a.name}: two releases differ"
        text = a.read_text(encoding="utf-8")
        for marker in (BEGIN_SOLUTION, END_SOLUTION, BEGIN_HIDDEN, END_HIDDEN):
            assert marker not in text, f"{a.name}: {marker!r} left in the student version"
        nb = nbformat.read(a, as_version=4)
        for cell in nb.cells:
            if cell.cell_type == "code":
                assert cell.outputs == [] and cell.execution_count is None, f"{a.name}: outputs left in the student version"
            if cell.metadata.get("sat_assignment", {}).get("kind") == "solution":
                assert STUB in cell.source


@pytest.mark.slow
@pytest.mark.parametrize("name", [p.name for p in ASSIGNMENT_NOTEBOOKS] or ["(none)"])
def test_instructor_solutions_pass_and_student_versions_fail_only_their_stubs(name, tmp_path):
    needs_assignments()
    if name.startswith("05_") and (shutil.which("java") is None or importlib.util.find_spec("pycocoevalcap") is None):
        pytest.skip("notebook 05 runs the coco-caption scorers: they need pycocoevalcap and Java")
    source = NOTEBOOKS / name
    full = grade(source, NOTEBOOKS)
    assert full.cell_errors == [], f"the instructor notebook has errors:\n{full.table()}\n" + "\n".join(map(str, full.cell_errors))
    assert full.earned == full.possible, full.table()

    student = grade(release(NOTEBOOKS, tmp_path, [name])[0], NOTEBOOKS)
    spec = questions(source)
    for qid, score in student.questions.items():
        expected = 0 if spec[qid].solution_cells else score.possible  # tests-only questions need no answer
        assert score.earned == expected, f"{qid}: {score.earned} / {score.possible} for the untouched student version\n{student.table()}"
    crashes = [e for e in student.cell_errors if e.kind != "tests" and not e.error.startswith("NotImplementedError")]
    assert not crashes, "cells of the student version that fail for another reason than a stub:\n" + "\n".join(map(str, crashes))
