"""The dialect modules keep one interface: what a database means is written once per database,
and every module that asks its dialect for a name finds it in the dialect of every database it is
baked for.

The service's `database/dialect.<database>.py` declare their interface in `__all__`, the same in
each, and each function of it takes the same parameters in each; the tests'
`dialect.<database>.py` have none (a database without a server lacks what only server tests
ask), so for both the rule is read off the imports: a module that exists in the postgres and
mysql variants may import from its dialect only names that both of theirs define.
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
    """The module's top-level names: its functions, classes, values and what it imports."""
    return set(shapes(path))


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


def shapes(path: Path) -> dict[str, str]:
    """What each top-level name of a module is: a function with its parameters (names, kinds,
    which have defaults; async or not), a class, or a value."""
    found: dict[str, str] = {}
    for node in parse(path).body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            arguments = node.args
            positional = [*arguments.posonlyargs, *arguments.args]
            defaults = len(arguments.defaults)
            # A leading underscore says a dialect does not use the parameter; it is the same one.
            parameters = [
                f"{argument.arg.lstrip('_')}{'=' if index >= len(positional) - defaults else ''}"
                for index, argument in enumerate(positional)
            ]
            if arguments.vararg:
                parameters.append(f"*{arguments.vararg.arg}")
            elif arguments.kwonlyargs:
                parameters.append("*")
            parameters += [
                f"{argument.arg.lstrip('_')}{'=' if default is not None else ''}"
                for argument, default in zip(
                    arguments.kwonlyargs, arguments.kw_defaults, strict=True
                )
            ]
            if arguments.kwarg:
                parameters.append(f"**{arguments.kwarg.arg}")
            kind = "async def" if isinstance(node, ast.AsyncFunctionDef) else "def"
            found[node.name] = f"{kind}({', '.join(parameters)})"
        elif isinstance(node, ast.ClassDef):
            found[node.name] = "class"
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            found.update({target.id: "value" for target in targets if isinstance(target, ast.Name)})
        elif isinstance(node, ast.ImportFrom):
            source = sibling_module(path, node)
            of_source = shapes(source) if source else {}
            found.update(
                {
                    alias.asname or alias.name: of_source.get(alias.name, "imported")
                    for alias in node.names
                }
            )
    return found


def sibling_module(importer: Path, node: ast.ImportFrom) -> Path | None:
    """The file of the same folder that `from .module import ...` reads in the importer's
    variants (`budget.postgres+mysql.py` for `dialect.postgres.py`), if there is one."""
    if node.level != 1 or not node.module or "." in node.module:
        return None
    databases = set(databases_of(importer))
    candidates = [
        path
        for path in importer.parent.glob(f"{node.module}*.py")
        if path.name.split(".")[0] == node.module and databases <= set(databases_of(path))
    ]
    return candidates[0] if len(candidates) == 1 else None


def test_the_service_dialects_interface_has_one_shape() -> None:
    """The same names are not enough: each function of the interface takes the same parameters
    in every dialect, so a caller written against one database's works against the others'."""
    dialects = sorted(SERVICE_DIALECTS.glob("dialect.*.py"))
    interface = declared_interface(dialects[0])
    by_dialect = {path.name: shapes(path) for path in dialects}
    differing = {
        name: {dialect: found.get(name) for dialect, found in by_dialect.items()}
        for name in interface
        if len({found.get(name) for found in by_dialect.values()}) > 1
    }

    assert any(shape.startswith("def(") for shape in by_dialect[dialects[0].name].values())
    assert differing == {}


def test_the_shape_check_sees_a_dialect_whose_function_takes_other_parameters(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The negative control: one dialect's `failure_for` with a parameter of its own fails."""
    real = shapes

    def with_an_extra_parameter(path: Path) -> dict[str, str]:
        found = real(path)
        if path.name == "dialect.mysql.py":
            found["failure_for"] = found["failure_for"].replace(")", ", strict=)")
        return found

    monkeypatch.setattr(sys.modules[__name__], "shapes", with_an_extra_parameter)

    with pytest.raises(AssertionError, match="failure_for"):
        test_the_service_dialects_interface_has_one_shape()
