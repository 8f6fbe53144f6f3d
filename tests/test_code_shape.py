"""Small functions for the next engineer: no function in bench/ longer than MAX_LINES lines
(decorators and docstring included) or taking more than MAX_PARAMS parameters (self and cls aside;
settings that travel together go in a dataclass)."""

import ast

from tests.support import ROOT

MAX_LINES = 60
MAX_PARAMS = 6


def functions():
    for path in sorted((ROOT / "bench").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                yield f"{path.relative_to(ROOT)}:{node.lineno} {node.name}", node


def test_no_function_is_too_long():
    long = {}
    for where, node in functions():
        start = node.decorator_list[0].lineno if node.decorator_list else node.lineno
        if node.end_lineno - start + 1 > MAX_LINES:
            long[where] = node.end_lineno - start + 1
    assert not long, f"functions over {MAX_LINES} lines: {long}"


def test_no_function_takes_too_many_parameters():
    many = {}
    for where, node in functions():
        a = node.args
        names = [x.arg for x in a.posonlyargs + a.args + a.kwonlyargs if x.arg not in ("self", "cls")]
        names += [x.arg for x in (a.vararg, a.kwarg) if x is not None]
        if len(names) > MAX_PARAMS:
            many[where] = names
    assert not many, f"functions over {MAX_PARAMS} parameters: {many}"
