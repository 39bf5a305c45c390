"""Issue 21: no product file over 400 lines and no function over 60, except where a comment says
why. A file opts out with ``# size: <reason>`` among its first comment lines; a function with
``# size: <reason>`` on its ``def`` line or the line above it (or above its first decorator).
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = ("reverse_etl", "pipelines")
MAX_FILE_LINES = 400
MAX_FUNCTION_LINES = 60
SIZE_COMMENT = "# size:"

KNOWN_EXCEPTIONS: set[str] = set()  # none left: a long file or function says why with "# size:"


def _top_comments(lines: list[str]) -> list[str]:
    top = []
    for line in lines:
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            break
        top.append(stripped)
    return top


def _says_why(lines: list[str], *line_numbers: int) -> bool:
    """Whether any of these 1-based lines carries a ``# size:`` comment."""
    return any(1 <= n <= len(lines) and SIZE_COMMENT in lines[n - 1] for n in line_numbers)


def oversized(path: Path, name: str) -> list[str]:
    """One line per size rule ``path`` breaks without a ``# size:`` comment saying why."""
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    found = []
    if len(lines) > MAX_FILE_LINES and not any(
        c.startswith(SIZE_COMMENT) for c in _top_comments(lines)
    ):
        found.append(f"{name}: {len(lines)} lines (over {MAX_FILE_LINES})")
    for node in ast.walk(ast.parse(text, filename=str(path))):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        length = (node.end_lineno or node.lineno) - node.lineno + 1
        first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
        if length > MAX_FUNCTION_LINES and not _says_why(
            lines, node.lineno, node.lineno - 1, first - 1
        ):
            found.append(
                f"{name}:{node.lineno} {node.name}: {length} lines (over {MAX_FUNCTION_LINES})"
            )
    return found


def oversized_in(root: Path, packages: tuple[str, ...]) -> list[str]:
    found = []
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            name = path.relative_to(root).as_posix()
            if name not in KNOWN_EXCEPTIONS:
                found += oversized(path, name)
    return found


def test_no_product_file_or_function_is_over_size_without_saying_why():
    found = oversized_in(ROOT, PRODUCT)
    assert not found, "Split these (or say why with '# size: <reason>'):\n" + "\n".join(found)


def test_the_known_exceptions_still_exist():
    """An exception outliving its file would silently exempt a new file of that name."""
    assert all((ROOT / name).is_file() for name in KNOWN_EXCEPTIONS)


def _module(lines: int, indent: str = "    ") -> str:
    return "\n".join(f"{indent}x{i} = {i}" for i in range(lines))


def test_an_over_long_function_and_file_are_named(tmp_path: Path):
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "long_function.py").write_text(f"def too_long():\n{_module(60)}\n")
    (package / "short_function.py").write_text(f"def fits():\n{_module(59)}\n")
    (package / "long_file.py").write_text(_module(401, indent="") + "\n")

    found = oversized_in(tmp_path, ("pkg",))

    assert found == [
        "pkg/long_file.py: 401 lines (over 400)",
        "pkg/long_function.py:1 too_long: 61 lines (over 60)",
    ]


def test_a_size_comment_exempts_a_function_or_file(tmp_path: Path):
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "on_def.py").write_text(f"def a():  # size: one table\n{_module(70)}\n")
    (package / "above.py").write_text(
        f"# size: one table\n@staticmethod\ndef b():\n{_module(70)}\n"
    )
    (package / "file.py").write_text(
        "#!/usr/bin/env python\n# size: generated\n" + _module(500, indent="") + "\n"
    )
    (package / "late.py").write_text(_module(500, indent="") + "\n# size: too late\n")

    assert oversized_in(tmp_path, ("pkg",)) == ["pkg/late.py: 501 lines (over 400)"]
