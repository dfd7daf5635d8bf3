"""SQL lives in ``alvh.warehouse`` only (issue 19 item 3): no module of the pipeline, the flows or
the CLI holds a SQL statement in a string or calls a connection's ``execute``/``sql``; what they
need of the warehouse is a named read or write there. The check reads each file's syntax tree
(docstrings and comments are prose, left alone) and names the file and line of what it finds; the
tests below show it finds a planted ``con.sql("SELECT 1")``, in literal sources and in a copy of a
pipeline module."""

from __future__ import annotations

import ast
import re
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SQL_FREE = ("pipeline", "flows", "cli")  # packages of src/alvh that must hold no SQL

# a connection's (or the duckdb module's) statement runners
SQL_CALLS = frozenset({"execute", "executemany", "sql", "query"})
# SQL as this code base writes it: keywords in capitals …
SQL_KEYWORD = re.compile(
    r"\b(SELECT|INSERT|DELETE|UPDATE|CREATE|DROP|ALTER|MERGE|COPY|PRAGMA|ATTACH|DETACH|CHECKPOINT|VACUUM)\b"
)
# … and, in any case, the shapes of a statement (prose such as "update the file" is not one)
SQL_STATEMENT = re.compile(
    r"\bselect\b.+\bfrom\b|\binsert\s+(or\s+\w+\s+)?into\b|\bdelete\s+from\b|\bupdate\s+\S+\s+set\b"
    r"|\bcreate\s+(or\s+replace\s+)?(temp\w*\s+)?(table|view|schema|index|sequence|macro)\b"
    r"|\bdrop\s+(table|view|schema|index)\b|\balter\s+table\b",
    re.I | re.S,
)


def _docstrings(tree: ast.AST) -> set[int]:
    """The ids of the docstring nodes of the module, its classes and functions."""
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                out.add(id(body[0].value))
    return out


def sql_in_source(source: str, name: str = "<source>") -> list[str]:
    """Where ``source`` holds SQL: each finding is ``name:line: what``. A string literal (an
    f-string read with ``{}`` for its fields) with a capitalised SQL keyword or a statement's shape,
    or a call of ``.execute``/``.executemany``/``.sql``/``.query``."""
    tree = ast.parse(source)
    skip = _docstrings(tree)
    found = []
    for node in ast.walk(tree):
        text = None
        if isinstance(node, ast.JoinedStr):
            text = "".join(v.value if isinstance(v, ast.Constant) else "{}" for v in node.values)
            skip.update(id(v) for v in node.values)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip:
            text = node.value
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in SQL_CALLS:
            found.append(f"{name}:{node.lineno}: call of .{node.func.attr}()")
        if text is not None and (SQL_KEYWORD.search(text) or SQL_STATEMENT.search(text)):
            found.append(f"{name}:{node.lineno}: SQL in a string: {text.strip()[:60]!r}")
    return sorted(found)


def sql_in_tree(root: Path) -> list[str]:
    """Every finding of :func:`sql_in_source` in the ``.py`` files under ``root``."""
    return [f for path in sorted(root.rglob("*.py")) for f in sql_in_source(path.read_text(), str(path))]


def test_pipeline_flows_and_cli_hold_no_sql() -> None:
    for package in SQL_FREE:
        assert sql_in_tree(ROOT / "src" / "alvh" / package) == [], "move it to a named function in alvh.warehouse"


@pytest.mark.parametrize(
    "source",
    [
        'con.sql("SELECT 1")',
        'duckdb.sql("select 1").pl()',
        'rows = con.execute("SELECT count(*) FROM marts.hedge_order WHERE session_date = ?", [d])',
        'q = "select session_date from marts.hedge_signal_daily"\nrun(q)',
        'q = f"DELETE FROM {table} WHERE run_id = ?"',
        'q = "insert or replace into t " "values (1)"',
        'q = f"update {t} set x = 1"',
        'q = "create or replace view marts.v AS ..."',
        "con.executemany(statement, rows)",
    ],
    ids=["sql-call", "duckdb-sql", "execute", "lowercase-select", "f-string", "concatenated", "update", "view", "many"],
)
def test_the_check_names_planted_sql(source: str) -> None:
    found = sql_in_source(source, "planted.py")
    assert found and all(f.startswith("planted.py:") for f in found), found


def test_the_check_leaves_prose_and_dataframes_alone() -> None:
    source = (
        '"""Reads SELECT * FROM marts.x through alvh.warehouse (a docstring is prose)."""\n'
        "def f(df, settings):\n"
        '    """Select the rows from the frame; UPDATE nothing."""\n'
        '    out = df.select("session_date").filter(df["x"] > 0)\n'
        '    msg = f"update the file {settings.path} or select another"\n'
        '    return out, settings.model_copy(update={"source_dir": None}), msg\n'
    )
    assert sql_in_source(source) == []


def test_a_query_planted_in_a_copy_of_the_pipeline_is_found(tmp_path: Path) -> None:
    copy = tmp_path / "pipeline"
    shutil.copytree(ROOT / "src" / "alvh" / "pipeline", copy, ignore=shutil.ignore_patterns("__pycache__"))
    assert sql_in_tree(copy) == []
    orders = copy / "orders.py"
    text = orders.read_text()
    orders.write_text(text + '\n\ndef _planted(con):\n    return con.sql("SELECT 1")\n')
    line = text.count("\n") + 4
    assert sql_in_tree(copy) == [
        f"{orders}:{line}: SQL in a string: 'SELECT 1'",
        f"{orders}:{line}: call of .sql()",
    ]
