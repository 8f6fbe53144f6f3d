"""What the property tests (hypothesis) of the parsers share: example budgets with a deadline (a
hang fails), the one-line check of a refusal, temporary input files, and strategies for JSON values
and CSV tables around a good row. The tests themselves are in each folder's test_properties.py."""

import contextlib
import csv
import io
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st

from bench.errors import UsageError
from bench.measure.results import COLUMNS, ResultsDir


def examples(n: int):
    """n generated examples, each within 5 s (a hang fails), whatever the machine's load."""
    return settings(max_examples=n, deadline=5000, suppress_health_check=[HealthCheck.too_slow])


def one_line(e: UsageError) -> bool:
    event("refused with one line")
    return "\n" not in str(e) and str(e).strip() != ""


@contextlib.contextmanager
def file_with(name: str, content):
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / name
        path.parent.mkdir(parents=True, exist_ok=True)
        (path.write_bytes if isinstance(content, bytes) else path.write_text)(content)
        yield path


json_values = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=6)),
                           lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                   st.dictionaries(st.text(max_size=6), inner, max_size=3)),
                           max_leaves=12)
cells = st.one_of(st.text(max_size=6), st.floats().map(str), st.integers().map(str), st.just(""))


def csv_text(columns, rows) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(rows)
    return out.getvalue()


@st.composite
def mutated_tables(draw, good: dict, cell_values, all_columns=(), vary: str | None = None):
    """CSV text: the columns of `good` (one dropped now and then, some of `all_columns` added), rows of
    good values (column `vary` different in each) with a few cells replaced by generated ones, now
    and then a torn row."""
    columns = list(dict.fromkeys(list(good) + draw(st.lists(st.sampled_from(list(all_columns) or ["extra"]), max_size=4))))
    if draw(st.integers(0, 3)) == 0:
        columns.remove(draw(st.sampled_from(columns)))
    rows = []
    for _ in range(draw(st.integers(0, 4))):
        row = [good.get(c, "") if c != vary else str(4 * (len(rows) + 1)) for c in columns]
        for i in draw(st.lists(st.integers(0, len(columns) - 1), max_size=3)):
            row[i] = draw(cell_values)
        rows.append(row if draw(st.integers(0, 9)) else row[:-1])
    return csv_text(columns, rows)


GOOD = {"board": "b", "core": "a73", "cpus": "4", "bits": "8", "algo": "f4", "transform": "static", "h": "8",
        "w": "8", "cin": "16", "cout": "16", "input_ms": "0.1", "gemm_ms": "0.5", "output_ms": "0.1",
        "total_ms": "0.8", "status": "ok", "threads": "1", "emulated": "False", "total_p90_ms": "0.9"}
latency_cells = st.one_of(st.sampled_from(["", "0", "1", "8", "32", "-1", "nan", "inf", "1e400", "ok", "error",
                                           "True", "False", "1_0", " 8", "\x00"]), cells)


def latency_tables():
    return mutated_tables(GOOD, latency_cells, COLUMNS, vary="h")  # one case per row, as `bench run` writes


def loaded_or_refused(directory):
    """The results in `directory`, or None after checking that the refusal is one line."""
    try:
        results = ResultsDir.load(directory)
    except UsageError as e:
        assert one_line(e), str(e)
        return None
    event("accepted")
    return results
