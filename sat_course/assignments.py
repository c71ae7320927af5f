"""Course assignments: release student versions of the notebooks and grade what students hand back.

The instructor notebooks in ``notebooks/`` carry the solutions. They follow nbgrader's markers, read
here with nbformat alone (docs/assignments.md is the instructor's guide):

- a *solution* cell has the metadata ``{"sat_assignment": {"id": "soft_attention", "kind": "solution"}}``
  and its answer between the lines ``### BEGIN SOLUTION`` and ``### END SOLUTION``;
- a *tests* cell has ``{"sat_assignment": {"id": "soft_attention", "kind": "tests", "points": 2}}``;
  checks the students see are written outside any region, hidden ones between
  ``### BEGIN HIDDEN TESTS`` and ``### END HIDDEN TESTS``.

``release`` writes the student versions (each solution region becomes ``raise NotImplementedError()``,
hidden tests are removed, outputs cleared; byte-identical when run twice). ``grade`` puts a student's
solution cells into the instructor's notebook (hidden tests restored), runs it with a fresh kernel in
the notebooks folder with ``SAT_COURSE_GRADING=1`` set, and scores each question by its tests cells.

    python -m sat_course.assignments release [--source notebooks] [--out build/release]
    python -m sat_course.assignments grade SUBMISSION... [--source notebooks] [--json build/grades.json]
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

METADATA_KEY = "sat_assignment"
SOLUTION, TESTS = "solution", "tests"
BEGIN_SOLUTION, END_SOLUTION = "### BEGIN SOLUTION", "### END SOLUTION"
BEGIN_HIDDEN, END_HIDDEN = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
STUB = "raise NotImplementedError()"
GRADING_ENV = "SAT_COURSE_GRADING"
KERNEL = "python3"

_MARKER_WORDS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS")
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_ARROW = re.compile(r"^-+>\s*\d+\s?(.*)$", re.MULTILINE)


class AssignmentError(Exception):
    """A problem with a notebook or a path, reported as one line (the CLI prints it without a traceback)."""


@dataclass(frozen=True)
class Question:
    """One question of an instructor notebook: its id, its points and how many cells of each kind it has."""

    id: str
    points: float
    solution_cells: int
    test_cells: int


class QuestionScore(NamedTuple):
    earned: float
    possible: float
    error: str | None  # one line: why points were lost; None with full marks


@dataclass(frozen=True)
class CellError:
    """A cell of the grading copy that raised (or never ran because the kernel died)."""

    cell: int  # 0-based index in the grading copy (the instructor notebook's cell order)
    question: str | None
    kind: str | None  # "solution", "tests" or None for the notebook's other cells
    error: str


@dataclass
class GradeReport:
    submission: Path
    source: Path  # the instructor notebook
    questions: dict[str, QuestionScore]
    cell_errors: list[CellError] = field(default_factory=list)
    executed: Any = field(default=None, repr=False, compare=False)  # the executed grading copy (NotebookNode)

    @property
    def earned(self) -> float:
        return sum(score.earned for score in self.questions.values())

    @property
    def possible(self) -> float:
        return sum(score.possible for score in self.questions.values())

    @property
    def total(self) -> tuple[float, float]:
        return self.earned, self.possible

    def to_dict(self) -> dict[str, Any]:
        return {
            "submission": str(self.submission),
            "source": str(self.source),
            "earned": self.earned,
            "possible": self.possible,
            "questions": {qid: {"earned": s.earned, "possible": s.possible, "error": s.error} for qid, s in self.questions.items()},
            "cell_errors": [{"cell": e.cell, "question": e.question, "kind": e.kind, "error": e.error} for e in self.cell_errors],
        }

    def table(self) -> str:
        width = max([len("question"), len("total"), *map(len, self.questions)])
        lines = [f"{self.submission}  (graded against {self.source})", f"  {'question':<{width}}  points"]
        for qid, score in self.questions.items():
            note = f"  {score.error}" if score.error else ""
            lines.append(f"  {qid:<{width}}  {_num(score.earned)} / {_num(score.possible)}{note}")
        lines.append(f"  {'total':<{width}}  {_num(self.earned)} / {_num(self.possible)}")
        return "\n".join(lines)


def _num(x: float) -> str:
    return f"{x:g}"


# --------------------------------------------------------------------------- reading and checking


def read_notebook(path: Path):
    """Read a notebook; cells without an id get one derived from their position, so output is deterministic."""
    import nbformat

    path = Path(path)
    if not path.is_file():
        raise AssignmentError(f"{path}: no such file")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("nbformat") == 4 and data.get("nbformat_minor", 0) >= 5:
            taken = {c.get("id") for c in data.get("cells", [])}
            for index, cell in enumerate(data.get("cells", [])):
                if not cell.get("id"):
                    new = hashlib.sha1(f"{index}".encode()).hexdigest()[:8]
                    while new in taken:
                        new = hashlib.sha1(new.encode()).hexdigest()[:8]
                    cell["id"] = new
                    taken.add(new)
        return nbformat.reads(json.dumps(data), as_version=4)
    except (ValueError, AttributeError, TypeError, KeyError) as exc:
        raise AssignmentError(f"{path}: not a readable notebook ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})") from None


def _meta(cell) -> dict | None:
    meta = cell.get("metadata", {}).get(METADATA_KEY)
    return meta if isinstance(meta, dict) else None


def _markers(lines: list[str], where: str) -> list[tuple[int, str]]:
    """(line index, marker) for each marker line; a comment that looks like a misspelt marker is an error."""
    found = []
    for number, line in enumerate(lines):
        text = line.strip()
        if text in (BEGIN_SOLUTION, END_SOLUTION, BEGIN_HIDDEN, END_HIDDEN):
            found.append((number, text))
        elif text.startswith("#") and any(word in text.upper() for word in _MARKER_WORDS):
            raise AssignmentError(f"{where}, line {number + 1}: {text!r} is not a marker; write exactly {BEGIN_SOLUTION!r}, {END_SOLUTION!r}, "
                                  f"{BEGIN_HIDDEN!r} or {END_HIDDEN!r}")
    return found


def _regions(lines: list[str], begin: str, end: str, where: str) -> list[tuple[int, int]]:
    """(first, last) line indices, inclusive of the markers, of each begin/end region."""
    regions, start = [], None
    for number, marker in _markers(lines, where):
        if marker not in (begin, end):
            continue
        if marker == begin:
            if start is not None:
                raise AssignmentError(f"{where}, line {number + 1}: {begin!r} inside another region (missing {end!r}?)")
            start = number
        else:
            if start is None:
                raise AssignmentError(f"{where}, line {number + 1}: {end!r} without {begin!r}")
            regions.append((start, number))
            start = None
    if start is not None:
        raise AssignmentError(f"{where}, line {start + 1}: {begin!r} is never closed by {end!r}")
    return regions


def _check_cells(nb, path: Path) -> list[tuple[int, str, str, float]]:
    """Check the markers and metadata of every cell; returns (index, id, kind, points) of each assignment cell."""
    cells = []
    for index, cell in enumerate(nb.cells):
        where = f"{path}: cell {index + 1}"
        raw = cell.get("metadata", {}).get(METADATA_KEY)
        lines = cell.source.splitlines(keepends=True) if cell.cell_type == "code" else []
        markers = {marker for _, marker in _markers(lines, where)}
        if raw is None:
            if markers:
                raise AssignmentError(f"{where} has {sorted(markers)[0]!r} but no {METADATA_KEY!r} metadata (its solution would reach the students)")
            continue
        if not isinstance(raw, dict) or not isinstance(raw.get("id"), str) or not raw["id"].strip() or raw.get("kind") not in (SOLUTION, TESTS):
            raise AssignmentError(f"{where}: {METADATA_KEY} must be {{\"id\": \"<question>\", \"kind\": \"solution\" | \"tests\"[, \"points\": N]}}, got {raw!r}")
        qid, kind = raw["id"], raw["kind"]
        where = f"{where} ({qid} {kind})"
        if cell.cell_type != "code":
            raise AssignmentError(f"{where} is a {cell.cell_type} cell; assignment cells must be code cells")
        points = 0
        if kind == SOLUTION:
            if not _regions(lines, BEGIN_SOLUTION, END_SOLUTION, where):
                raise AssignmentError(f"{where} has no {BEGIN_SOLUTION!r} ... {END_SOLUTION!r} region")
            if BEGIN_HIDDEN in markers or END_HIDDEN in markers:
                raise AssignmentError(f"{where}: hidden tests belong in the tests cell")
        else:
            points = raw.get("points")
            if isinstance(points, bool) or not isinstance(points, (int, float)) or points < 0:
                raise AssignmentError(f"{where} needs \"points\": a number >= 0, got {points!r}")
            if BEGIN_SOLUTION in markers or END_SOLUTION in markers:
                raise AssignmentError(f"{where}: solution regions belong in a solution cell")
            _regions(lines, BEGIN_HIDDEN, END_HIDDEN, where)
        cells.append((index, qid, kind, points))
    return cells


def _questions(nb, path: Path) -> dict[str, Question]:
    found: dict[str, list] = {}
    for _, qid, kind, points in _check_cells(nb, path):
        entry = found.setdefault(qid, [0, 0, 0])
        entry[0] += points
        entry[1 if kind == SOLUTION else 2] += 1
    for qid, (_, solutions, tests) in found.items():
        if solutions and not tests:
            raise AssignmentError(f"{path}: question {qid!r} has a solution cell but no tests cell")
    return {qid: Question(qid, points, solutions, tests) for qid, (points, solutions, tests) in found.items()}


def questions(notebook: Path) -> dict[str, Question]:
    """The questions of an instructor notebook, in order of appearance; raises AssignmentError on a malformed one."""
    notebook = Path(notebook)
    return _questions(read_notebook(notebook), notebook)


def has_assignment_cells(notebook: Path) -> bool:
    """Whether any cell carries ``sat_assignment`` metadata or a marker line (so a forgotten metadata entry is
    caught, not skipped). Tolerant: an unreadable notebook counts when its text mentions either."""
    def marked(source) -> bool:
        text = "".join(source) if isinstance(source, list) else str(source)
        return BEGIN_SOLUTION in text or BEGIN_HIDDEN in text

    try:
        data = json.loads(Path(notebook).read_text(encoding="utf-8"))
        return any(METADATA_KEY in cell.get("metadata", {}) or (cell.get("cell_type") == "code" and marked(cell.get("source", "")))
                   for cell in data.get("cells", []))
    except (OSError, ValueError, AttributeError):
        try:
            return marked(Path(notebook).read_text(encoding="utf-8", errors="replace")) or METADATA_KEY in Path(notebook).read_text(encoding="utf-8", errors="replace")
        except OSError:
            return False


def assignment_notebooks(source_dir: Path) -> list[Path]:
    """The notebooks of ``source_dir`` that have assignment cells, sorted by name."""
    return [p for p in sorted(Path(source_dir).glob("*.ipynb")) if has_assignment_cells(p)]


# --------------------------------------------------------------------------- release


def _replace_regions(source: str, begin: str, end: str, where: str, stub: bool) -> str:
    lines = source.splitlines(keepends=True)
    regions = _regions(lines, begin, end, where)
    if not regions:
        return source
    out, previous = [], 0
    for first, last in regions:
        out += lines[previous:first]
        if stub:
            begin_line = lines[first]
            indent = begin_line[: len(begin_line) - len(begin_line.lstrip())]
            out.append(indent + STUB + ("\n" if lines[last].endswith("\n") else ""))
        previous = last + 1
    out += lines[previous:]
    text = "".join(out)
    return text if stub else text.rstrip("\n")


def _clear(cell) -> None:
    if cell.cell_type == "code":
        cell.outputs = []
        cell.execution_count = None
    cell.metadata.pop("execution", None)  # nbclient's timestamps


def student_version(nb, path: Path = Path("<notebook>")):
    """The student version of an instructor notebook (a new NotebookNode; ``nb`` is left as it is)."""
    _check_cells(nb, path)
    student = copy.deepcopy(nb)
    for index, cell in enumerate(student.cells):
        _clear(cell)
        meta = _meta(cell)
        if meta is None:
            continue
        where = f"{path}: cell {index + 1}"
        if meta["kind"] == SOLUTION:
            cell.source = _replace_regions(cell.source, BEGIN_SOLUTION, END_SOLUTION, where, stub=True)
            cell.metadata["deletable"] = False
        else:
            cell.source = _replace_regions(cell.source, BEGIN_HIDDEN, END_HIDDEN, where, stub=False)
            cell.metadata["deletable"] = False
            cell.metadata["editable"] = False
    return student


def _resolve(source_dir: Path, name: str) -> Path:
    path = source_dir / (name if name.endswith(".ipynb") else f"{name}.ipynb")
    if not path.is_file():
        raise AssignmentError(f"{path}: no such notebook")
    return path


def release(source_dir: Path, release_dir: Path, notebooks: list[str] | None = None) -> list[Path]:
    """Write the student version of each notebook with assignment cells to ``release_dir`` (same file names).

    ``notebooks``: names (with or without ``.ipynb``) to release; a named notebook without assignment cells is
    an error. Without it, every notebook of ``source_dir`` with assignment cells (the others are skipped).
    Returns the written paths; an empty list when there was nothing to release.
    """
    import nbformat

    source_dir, release_dir = Path(source_dir), Path(release_dir)
    if not source_dir.is_dir():
        raise AssignmentError(f"{source_dir}: no such folder")
    if notebooks is None:
        paths = assignment_notebooks(source_dir)
    else:
        paths = [_resolve(source_dir, name) for name in notebooks]
    students = []
    for path in paths:  # check every notebook before writing any
        nb = read_notebook(path)
        if not _questions(nb, path):
            raise AssignmentError(f"{path}: no assignment cells (no cell has {METADATA_KEY!r} metadata)")
        students.append((path, student_version(nb, path)))
    written = []
    for path, student in students:
        release_dir.mkdir(parents=True, exist_ok=True)
        target = release_dir / path.name
        nbformat.write(student, target)  # sorted keys, one-space indent, final newline: what Jupyter writes
        written.append(target)
    return written


# --------------------------------------------------------------------------- grading


def instructor_notebook(submission: Path, source_dir: Path) -> Path:
    """The instructor notebook a submission answers: same file name, or the longest notebook name that starts
    the submission's name (``02_soft_attention-alice.ipynb`` -> ``02_soft_attention.ipynb``)."""
    source_dir, submission = Path(source_dir), Path(submission)
    exact = source_dir / submission.name
    if exact.is_file():
        return exact
    candidates = [p for p in source_dir.glob("*.ipynb")
                  if len(submission.stem) > len(p.stem) and submission.stem.startswith(p.stem) and not submission.stem[len(p.stem)].isalnum()]
    if not candidates:
        raise AssignmentError(f"{submission}: no instructor notebook named {submission.name} (or a prefix of it) in {source_dir}")
    return max(candidates, key=lambda p: len(p.stem))


def _summary(content: Mapping) -> str:
    """One line from an execute reply with an error: 'Name: message', or 'Name at `failing line`' without a message."""
    ename = content.get("ename") or "Error"
    evalue = str(content.get("evalue") or "").strip()
    text = f"{ename}: {evalue.splitlines()[0]}" if evalue else ename
    if not evalue:
        frames = [_ANSI.sub("", str(frame)) for frame in content.get("traceback") or []]
        own = [f for f in frames if f.lstrip().startswith("Cell In[") or "<ipython-input" in f] or [f for f in frames if _ARROW.search(f)]
        match = _ARROW.search(own[0]) if own else None
        if match and match.group(1).strip():
            text += f" at `{match.group(1).strip()}`"
    return text if len(text) <= 200 else text[:197] + "..."


def _grading_copy(instructor, student, path: Path) -> tuple[Any, dict[str, str]]:
    """The instructor notebook with the student's solution cells in place; missing ones get the released stub."""
    by_question: dict[str, list] = {}
    for cell in student.cells:
        meta = _meta(cell)
        if meta and meta.get("kind") == SOLUTION and isinstance(meta.get("id"), str):
            by_question.setdefault(meta["id"], []).append(cell)
    stubs = student_version(instructor, path)
    graded, missing, used = copy.deepcopy(instructor), {}, {}
    for index, cell in enumerate(graded.cells):
        _clear(cell)
        meta = _meta(cell)
        if meta is None or meta["kind"] != SOLUTION:
            continue
        qid = meta["id"]
        k = used[qid] = used.get(qid, -1) + 1
        answers = by_question.get(qid, [])
        if k < len(answers):
            cell.source = answers[k].source
        else:
            cell.source = stubs.cells[index].source
            missing[qid] = "solution cell missing from the submission (deleted, or its metadata removed)"
    return graded, missing


def grade(submission: Path, source_dir: Path, timeout: int = 1800, env: Mapping[str, str] | None = None) -> GradeReport:
    """Grade one completed student notebook against its instructor notebook in ``source_dir``.

    The grading copy is the instructor notebook with the student's solution cells (matched by their
    ``sat_assignment`` id, in order) and the instructor's full tests cells; everything else the student
    changed or added is ignored. It runs in a fresh ``python3`` kernel whose working directory is
    ``source_dir`` and whose environment has ``SAT_COURSE_GRADING=1`` (plus ``env``), continuing after errors;
    ``timeout`` is per cell, in seconds (a cell running longer is interrupted and counts as failed).
    A question scores the points of each of its tests cells that ran without error, and 0 when one of its
    solution cells raised or is missing. A submission that is not a readable notebook scores 0 everywhere.
    """
    from jupyter_client.kernelspec import NoSuchKernel
    from nbclient import NotebookClient
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    submission, source_dir = Path(submission), Path(source_dir)
    if not submission.is_file():
        raise AssignmentError(f"{submission}: no such file")
    source = instructor_notebook(submission, source_dir)
    instructor = read_notebook(source)
    spec = _questions(instructor, source)
    if not spec:
        raise AssignmentError(f"{source}: no assignment cells (no cell has {METADATA_KEY!r} metadata), nothing to grade")
    try:
        student = read_notebook(submission)
    except AssignmentError as exc:
        return GradeReport(submission, source, {qid: QuestionScore(0, q.points, f"submission not graded: {exc}") for qid, q in spec.items()})

    graded, missing = _grading_copy(instructor, student, source)
    replies: dict[int, Mapping] = {}

    def on_cell_executed(cell, cell_index, execute_reply):
        replies[cell_index] = (execute_reply or {}).get("content", {})

    client = NotebookClient(graded, timeout=timeout, kernel_name=KERNEL, allow_errors=True, interrupt_on_timeout=True,
                            error_on_timeout={"ename": "CellTimeoutError", "evalue": f"cell ran longer than {timeout} s and was interrupted", "traceback": []},
                            resources={"metadata": {"path": str(source.parent.resolve())}}, on_cell_executed=on_cell_executed)
    died = None
    kernel_env = {**os.environ, GRADING_ENV: "1", **(env or {})}
    try:
        client.execute(env=kernel_env)
    except NoSuchKernel:
        raise AssignmentError(f"no Jupyter kernel named {KERNEL!r} (run: python -m ipykernel install --sys-prefix --name python3)") from None
    except (DeadKernelError, CellTimeoutError) as exc:
        died = f"{type(exc).__name__}: {str(exc).strip().splitlines()[0]}" if str(exc).strip() else type(exc).__name__

    cell_errors, failed, raised, died_at_cell = [], {}, set(), False
    for index, cell in enumerate(graded.cells):
        if cell.cell_type != "code" or not cell.source.strip():
            continue
        reply = replies.get(index)
        if reply is None:
            if client.skip_cells_with_tag in cell.metadata.get("tags", []):
                continue
            if died is None:
                error = "not run"
            elif not died_at_cell:
                error, died_at_cell = f"the kernel died running this cell ({died})", True
            else:
                error = "not run: the kernel died earlier"
        elif reply.get("status") == "error":
            error = _summary(reply)
            raised.add(index)
        else:
            continue
        meta = _meta(cell)
        cell_errors.append(CellError(index, meta["id"] if meta else None, meta["kind"] if meta else None, error))
        failed[index] = error

    scores = {}
    for qid, q in spec.items():
        solution_errors = [e for e in cell_errors if e.question == qid and e.kind == SOLUTION]
        if qid in missing:
            scores[qid] = QuestionScore(0, q.points, missing[qid])
        elif solution_errors:
            first = solution_errors[0]
            scores[qid] = QuestionScore(0, q.points, f"solution cell raised {first.error}" if first.cell in raised else f"solution cell: {first.error}")
        else:
            earned, error = 0, None
            for index, cell in enumerate(graded.cells):
                meta = _meta(cell)
                if meta and meta["id"] == qid and meta["kind"] == TESTS:
                    if index in failed:
                        error = error or (f"tests failed: {failed[index]}" if index in raised else f"tests: {failed[index]}")
                    else:
                        earned += meta["points"]
            scores[qid] = QuestionScore(earned, q.points, error)
    return GradeReport(submission, source, scores, cell_errors, graded)


def _submission_files(folder: Path) -> list[Path]:
    return sorted(p for p in Path(folder).rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)


def grade_folder(folder: Path, source_dir: Path, timeout: int = 1800, env: Mapping[str, str] | None = None) -> dict[str, GradeReport]:
    """Grade every ``.ipynb`` under ``folder`` (any depth, e.g. ``submissions/<student>/<notebook>.ipynb``).

    Keys are the paths relative to ``folder`` (POSIX style). Every file is matched to its instructor
    notebook before anything runs, so a stray file is reported at once.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise AssignmentError(f"{folder}: no such folder")
    files = _submission_files(folder)
    if not files:
        raise AssignmentError(f"{folder}: no .ipynb files to grade")
    for path in files:
        instructor_notebook(path, source_dir)
    return {path.relative_to(folder).as_posix(): grade(path, source_dir, timeout, env) for path in files}


def grades_json(reports: Mapping[str, GradeReport]) -> dict[str, Any]:
    """The machine-readable form of a set of reports (what ``grade --json`` writes)."""
    return {"version": 1, "submissions": {key: report.to_dict() for key, report in reports.items()}}


# --------------------------------------------------------------------------- command line


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sat_course.assignments", description="Release student notebooks and grade submissions.")
    commands = parser.add_subparsers(dest="command", required=True)
    rel = commands.add_parser("release", help="write the student versions of the notebooks with assignment cells")
    rel.add_argument("--source", type=Path, default=Path("notebooks"), help="instructor notebooks (default: notebooks)")
    rel.add_argument("--out", type=Path, default=Path("build/release"), help="where to write them (default: build/release)")
    rel.add_argument("--only", nargs="+", metavar="NOTEBOOK", help="release only these notebooks (names, with or without .ipynb)")
    gra = commands.add_parser("grade", help="grade completed student notebooks")
    gra.add_argument("submissions", nargs="+", type=Path, metavar="SUBMISSION", help="a student notebook, or a folder of them (searched at any depth)")
    gra.add_argument("--source", type=Path, default=Path("notebooks"), help="instructor notebooks (default: notebooks)")
    gra.add_argument("--json", type=Path, default=Path("build/grades.json"), help="machine-readable grades (default: build/grades.json)")
    gra.add_argument("--timeout", type=int, default=1800, help="seconds per cell before it is interrupted (default: 1800)")
    args = parser.parse_args(argv)
    try:
        if args.command == "release":
            written = release(args.source, args.out, args.only)
            if not written:
                raise AssignmentError(f"{args.source}: no notebook has assignment cells, nothing to release")
            for path in written:
                print(f"released {path}")
            return 0
        return _grade_command(args)
    except AssignmentError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def _grade_command(args) -> int:
    if not args.source.is_dir():
        raise AssignmentError(f"{args.source}: no such folder")
    files = []
    for given in args.submissions:
        if given.is_dir():
            found = _submission_files(given)
            if not found:
                raise AssignmentError(f"{given}: no .ipynb files to grade")
            files += found
        elif given.is_file():
            files.append(given)
        else:
            raise AssignmentError(f"{given}: no such file")
    for path in files:  # every problem we can see without running anything, before the first kernel starts
        source = instructor_notebook(path, args.source)
        if not questions(source):
            raise AssignmentError(f"{source}: no assignment cells (no cell has {METADATA_KEY!r} metadata), nothing to grade")
    reports = {}
    for path in files:
        report = grade(path, args.source, timeout=args.timeout)
        reports[str(path)] = report
        print(report.table() + "\n", flush=True)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(grades_json(reports), indent=2) + "\n", encoding="utf-8")
    earned, possible = sum(r.earned for r in reports.values()), sum(r.possible for r in reports.values())
    print(f"{len(reports)} notebook(s) graded, {_num(earned)} / {_num(possible)} points in all; grades in {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
