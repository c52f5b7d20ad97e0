"""Adding a choice touches the places CONTRIBUTING.md names, and no more.

For each option the files that vary by it are computed from the template's file names; they
must be exactly the guide's list. Then the guide is followed on a copy of the template for a
fourth database: the choice is added to cookiecutter.json, the listed files are made (copies of
SQLite's: it has no server, so no file "where it applies" is needed), and the variant bakes
into a service in which every import resolves. Leaving out any one listed module makes that
check fail, so the list is also sufficient."""

import ast
import json
import re
import shutil
from pathlib import Path

import pytest

from .variants import CHOICES, TEMPLATE, Variant, bake

GUIDE = TEMPLATE / "CONTRIBUTING.md"
PROJECT = "{{cookiecutter.project_slug}}"
SECTIONS = {"database": "A database", "mode": "A mode", "transaction_style": "A transaction style"}
FAKE_DATABASE = "oracle"
COPIED_FROM = "sqlite"
# The fake database's variant, in the default mode and transaction style.
FAKE_VARIANT = Variant(FAKE_DATABASE, CHOICES["mode"][0], CHOICES["transaction_style"][0])


def guide_list(option: str) -> list[str]:
    """The lines of the guide's list for adding a choice to `option`."""
    text = GUIDE.read_text(encoding="utf-8")
    section = text.split(f"### {SECTIONS[option]}\n", 1)[1]
    block = re.search(r"```text\n(.*?)```", section, re.DOTALL)
    assert block, f"no list under '### {SECTIONS[option]}' in {GUIDE.name}"
    return block[1].splitlines()


def guide_files(option: str) -> set[str]:
    """The files of the guide's list: those with a `<option>` placeholder."""
    return {line for line in guide_list(option) if f"<{option}>" in line and ":" not in line}


def files_varying_by(template: Path, option: str) -> set[str]:
    """Every family of variant files that has one file for each choice of `option`: a new choice
    needs its own member. Returned as paths with a `<option>` placeholder."""
    choices = set(CHOICES[option])
    families: dict[str, set[str]] = {}
    for path in template.rglob("*"):
        relative = path.relative_to(template)
        if not path.is_file() or {".git", ".venv"} & set(relative.parts):
            continue
        parts = path.name.split(".")
        for index, part in enumerate(parts[1:-1], 1):
            if part in choices:
                name = ".".join([*parts[:index], f"<{option}>", *parts[index + 1 :]])
                families.setdefault((relative.parent / name).as_posix(), set()).add(part)
    readmes = template / "templates" / "readme"
    if option == "database":
        covered = {path.stem for path in readmes.glob("*.md")} & choices
        families["templates/readme/<database>.md"] = covered
    return {family for family, covered in families.items() if covered == choices}


@pytest.mark.parametrize("option", list(SECTIONS))
def test_the_guide_names_every_file_that_varies_by_the_option(option: str) -> None:
    assert set(SECTIONS) == set(CHOICES), "an option without a section in the guide"

    assert guide_files(option) == files_varying_by(TEMPLATE, option)


def test_the_guide_names_the_tables_of_a_database() -> None:
    places = "\n".join(guide_list("database"))

    assert '"_databases" row' in places and "DATABASES row" in places


def unresolved_imports(project: Path, slug: str) -> list[str]:
    """Relative imports, and imports of the service's own package, that name no module."""
    problems = []
    for path in sorted(project.rglob("*.py")):
        if ".venv" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.ImportFrom):
                continue
            if node.level:
                base = path.parent
                for _ in range(node.level - 1):
                    base = base.parent
            elif node.module and node.module.split(".")[0] == slug:
                base = project / "src"
            else:
                continue
            target = base.joinpath(*(node.module or "").split(".")) if node.module else base
            candidates = [target.with_suffix(".py"), target / "__init__.py"]
            if node.module is None:
                candidates = [base / f"{alias.name}.py" for alias in node.names]
                candidates += [base / alias.name / "__init__.py" for alias in node.names]
            if not any(candidate.is_file() for candidate in candidates):
                problems.append(f"{path.relative_to(project)}:{node.lineno}: {ast.unparse(node)}")
    return problems


def add_fake_database(template: Path, skip: str | None = None) -> None:
    """Follow the guide's list for a new database, copying SQLite's files."""
    config_path = template / "cookiecutter.json"
    config = json.loads(config_path.read_text(encoding="utf-8"))
    config["database"].append(FAKE_DATABASE)
    config["__prompts__"]["database"][FAKE_DATABASE] = "Oracle (a test of the guide)"
    config["_databases"][FAKE_DATABASE] = {**config["_databases"][COPIED_FROM], "label": "Oracle"}
    config_path.write_text(json.dumps(config, indent=2), encoding="utf-8")
    for pattern in guide_files("database"):
        if pattern == skip:
            continue
        source = template / pattern.replace("<database>", COPIED_FROM)
        shutil.copy(source, template / pattern.replace("<database>", FAKE_DATABASE))


def bake_fake_database(template: Path, output: Path) -> Path:
    # Baked only: the fake database has no driver to install.
    return bake(FAKE_VARIANT, output, template=template, install=False)


def copy_template(tmp_path: Path) -> Path:
    ignore = shutil.ignore_patterns(".git", ".venv", "*_cache", "__pycache__", "uv.lock", "bench")
    return Path(shutil.copytree(TEMPLATE, tmp_path / "template", ignore=ignore))


def test_following_the_guide_for_a_new_database_bakes_a_whole_service(tmp_path: Path) -> None:
    template = copy_template(tmp_path)
    add_fake_database(template)

    project = bake_fake_database(template, tmp_path / "out")

    assert (project / "src" / FAKE_VARIANT.slug / "database" / "dialect.py").is_file()
    assert (project / "compose.yaml").is_file()
    assert unresolved_imports(project, FAKE_VARIANT.slug) == []


@pytest.mark.parametrize(
    "skipped",
    sorted(path for path in guide_files("database") if path.endswith(".py")),
)
def test_leaving_out_a_listed_module_leaves_an_import_unresolved(
    tmp_path: Path, skipped: str
) -> None:
    template = copy_template(tmp_path)
    add_fake_database(template, skip=skipped)

    project = bake_fake_database(template, tmp_path / "out")

    assert unresolved_imports(project, FAKE_VARIANT.slug), f"nothing needed {skipped}"
