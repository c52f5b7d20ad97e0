"""The dialect modules keep one interface: what a database means is written once per database,
and every module that asks its dialect for a name finds it in the dialect of every database it is
baked for.

The service's `database/dialect.<database>.py` declare their interface in `__all__`, the same in
each; the tests' `dialect.<database>.py` have none (a database without a server lacks what only
server tests ask), so for both the rule is read off the imports: a module that exists in the
postgres and mysql variants may import from its dialect only names that both of theirs define.
"""

import ast
import re
import sys
from pathlib import Path

import pytest

from .hook_modules import post_gen
from .variants import CHOICES, TEMPLATE

PROJECT = TEMPLATE / "{{cookiecutter.project_slug}}"
SERVICE_DIALECTS = PROJECT / "src" / "{{cookiecutter.project_slug}}" / "database"
SLUG = "{{ cookiecutter.project_slug }}"
JINJA = re.compile(r"\{\{.*?\}\}")


def parse(path: Path) -> ast.Module:
    """A template module as Python: the package name for the slug, 0 for any other value."""
    source = path.read_text(encoding="utf-8").replace(SLUG, "slug")
    return ast.parse(JINJA.sub("0", source), filename=str(path))


def defined_names(path: Path) -> set[str]:
    names: set[str] = set()
    for node in parse(path).body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(target.id for target in node.targets if isinstance(target, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
        elif isinstance(node, ast.ImportFrom):
            names.update(alias.asname or alias.name for alias in node.names)
    return names


def declared_interface(path: Path) -> list[str]:
    for node in parse(path).body:
        if (
            isinstance(node, ast.Assign)
            and isinstance(node.value, ast.List)
            and any(
                isinstance(target, ast.Name) and target.id == "__all__" for target in node.targets
            )
        ):
            return [ast.literal_eval(element) for element in node.value.elts]
    return []


def databases_of(path: Path) -> list[str]:
    """The databases whose variants contain this file (by its name's markers)."""
    return [
        database
        for database in CHOICES["database"]
        if any(
            post_gen.variant_name(
                path.name,
                {"database": database, "mode": mode, "transaction_style": style},
                CHOICES,
            )
            is not None
            for mode in CHOICES["mode"]
            for style in CHOICES["transaction_style"]
        )
    ]


def dialect_directory(importer: Path, node: ast.ImportFrom) -> Path | None:
    """The folder of the dialect modules an import reads, or None if it reads none."""
    module = node.module or ""
    if module.split(".")[-1] != "dialect":
        return None
    if node.level == 0:
        parts = module.split(".")
        if parts[0] != "slug":
            return None
        return PROJECT / "src" / "{{cookiecutter.project_slug}}" / Path(*parts[1:-1])
    directory = importer.parent
    for _ in range(node.level - 1):
        directory = directory.parent
    return directory / Path(*module.split(".")[:-1]) if module != "dialect" else directory


def dialect_imports() -> list[tuple[Path, Path, str]]:
    """(importing module, dialect folder, name) for every name imported from a dialect."""
    found = []
    for path in sorted(PROJECT.rglob("*.py")):
        if path.name.startswith("dialect."):
            continue
        for node in ast.walk(parse(path)):
            if isinstance(node, ast.ImportFrom):
                directory = dialect_directory(path, node)
                if directory is not None:
                    found.extend((path, directory, alias.name) for alias in node.names)
    return found


def test_the_service_dialects_declare_one_interface() -> None:
    interfaces = {
        path.name: declared_interface(path)
        for path in sorted(SERVICE_DIALECTS.glob("dialect.*.py"))
    }

    assert len(interfaces) == len(CHOICES["database"])
    assert all(interfaces.values()), f"a dialect module without __all__: {interfaces}"
    assert len({tuple(sorted(names)) for names in interfaces.values()}) == 1, interfaces
    for path in SERVICE_DIALECTS.glob("dialect.*.py"):
        assert set(declared_interface(path)) <= defined_names(path), path.name


def test_every_name_asked_of_a_dialect_is_in_it_for_every_database() -> None:
    imports = dialect_imports()
    missing = [
        f"{importer.relative_to(PROJECT)} imports {name} from {directory.name}/dialect, "
        f"which dialect.{database}.py does not define"
        for importer, directory, name in imports
        for database in databases_of(importer)
        if name not in defined_names(directory / f"dialect.{database}.py")
    ]

    assert len(imports) >= 10, "found too few dialect imports to mean anything"
    assert missing == []


def test_the_service_imports_only_the_declared_interface() -> None:
    interface = set(declared_interface(next(SERVICE_DIALECTS.glob("dialect.*.py"))))
    outside = sorted(
        f"{importer.relative_to(PROJECT)}: {name}"
        for importer, directory, name in dialect_imports()
        if directory == SERVICE_DIALECTS and name not in interface
    )

    assert outside == []


@pytest.mark.parametrize("database", CHOICES["database"])
def test_the_check_sees_a_dialect_that_drops_a_name(
    database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The negative control: a dialect module without `failure_for` fails the rule."""
    real = defined_names

    def without_failure_for(path: Path) -> set[str]:
        names = real(path)
        return names - {"failure_for"} if path.name == f"dialect.{database}.py" else names

    monkeypatch.setattr(sys.modules[__name__], "defined_names", without_failure_for)

    with pytest.raises(AssertionError, match="failure_for"):
        test_every_name_asked_of_a_dialect_is_in_it_for_every_database()
