"""The two transaction styles stay equivalent: every resource's `services.flush-commit.py` and
`services.begin-context.py` define the same units of work, with the same signatures, making the
same calls in the same order. Only how the transaction is marked differs (`session.commit()`
against `session.begin()` blocks), so editing one style and forgetting the other fails here."""

import ast
from pathlib import Path

import pytest

from .variants import TEMPLATE

PACKAGE = next(next(TEMPLATE.glob("*cookiecutter.project_slug*")).joinpath("src").glob("*"))
STYLE_CALLS = {"session.commit", "session.begin"}
RESOURCES = sorted(path.parent for path in PACKAGE.glob("*/services.flush-commit.py"))


class CallsInOrder(ast.NodeVisitor):
    """The calls of a function, by their dotted name, in source order."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def visit_Call(self, node: ast.Call) -> None:
        self.calls.append(ast.unparse(node.func))
        self.generic_visit(node)


def shape(source: str) -> dict[str, object]:
    """What a unit-of-work module does, apart from how it marks its transactions."""
    tree = ast.parse(source)
    functions: dict[str, object] = {}
    imports: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.ImportFrom):
            imports.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.AsyncFunctionDef | ast.FunctionDef):
            visitor = CallsInOrder()
            for statement in node.body:
                visitor.visit(statement)
            calls = [call for call in visitor.calls if call not in STYLE_CALLS]
            returns = ast.unparse(node.returns) if node.returns else None
            functions[node.name] = (ast.unparse(node.args), returns, calls)
    return {"imports": imports, "functions": functions}


def differences(flush_commit: str, begin_context: str) -> list[str]:
    one, other = shape(flush_commit), shape(begin_context)
    found = []
    if one["imports"] != other["imports"]:
        found.append(f"imports differ: {one['imports']} != {other['imports']}")
    functions, other_functions = one["functions"], other["functions"]
    assert isinstance(functions, dict) and isinstance(other_functions, dict)
    if list(functions) != list(other_functions):
        found.append(f"functions differ: {list(functions)} != {list(other_functions)}")
    for name in functions.keys() & other_functions.keys():
        if functions[name] != other_functions[name]:
            found.append(f"{name} differs: {functions[name]} != {other_functions[name]}")
    return found


def read(resource: Path, style: str) -> str:
    return (resource / f"services.{style}.py").read_text(encoding="utf-8")


def test_every_resource_has_both_styles() -> None:
    assert RESOURCES, f"no unit of work found under {PACKAGE}"
    for resource in RESOURCES:
        assert (resource / "services.begin-context.py").is_file(), resource.name


@pytest.mark.parametrize("resource", RESOURCES, ids=lambda path: path.name)
def test_both_styles_do_the_same_work(resource: Path) -> None:
    assert differences(read(resource, "flush-commit"), read(resource, "begin-context")) == []


@pytest.mark.parametrize(
    ("old", "new"),
    [
        pytest.param("await repository.delete_item(session, item)\n", "\n", id="call-forgotten"),
        pytest.param(
            "offset = offset_of(page, page_size)",
            "offset = offset_of(page, page_size)\n    len([])",
            id="call-added",
        ),
        pytest.param("*, page: int, page_size: int", "*, page: int", id="signature-changed"),
        pytest.param("async def delete_item(", "async def remove_item(", id="function-renamed"),
    ],
)
def test_an_edit_to_one_style_alone_is_found(old: str, new: str) -> None:
    resource = PACKAGE / "items"
    flush_commit = read(resource, "flush-commit")
    assert old in flush_commit

    found = differences(flush_commit.replace(old, new, 1), read(resource, "begin-context"))

    assert found, f"replacing {old!r} went unnoticed"
