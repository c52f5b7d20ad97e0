"""Each baked service's own convention guard (tests/test_convention_static.py) catches a breach
of the session convention and names the file and line of it."""

import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from .mutations.catalogue import MUTATIONS
from .mutations.harness import mutate, run_guard
from .variants import Variant


def insert_after(path: Path, anchor: str, new_line: str) -> int:
    """Insert `new_line` after the first line containing `anchor`, indented like it; its number."""
    lines = path.read_text(encoding="utf-8").splitlines()
    index = next(i for i, line in enumerate(lines) if anchor in line)
    indent = lines[index][: len(lines[index]) - len(lines[index].lstrip())]
    lines.insert(index + 1, indent + new_line)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return index + 2


def append(path: Path, block: str) -> int:
    """Append a block of code; the number of its last line."""
    text = path.read_text(encoding="utf-8").rstrip("\n") + "\n\n\n" + block
    path.write_text(text, encoding="utf-8")
    return len(text.splitlines())


def commit_in_repository(variant: Variant, package: Path) -> tuple[str, int]:
    statement = "await session.commit()" if variant.mode == "async" else "session.commit()"
    module = "items/repository.py"
    return module, insert_after(package / module, "session.add(item)", statement)


def engine_in_routes(variant: Variant, package: Path) -> tuple[str, int]:
    block = 'from sqlalchemy import create_engine\n\nreport_engine = create_engine("db://")\n'
    return "items/routes.py", append(package / "items/routes.py", block)


def other_style_in_services(variant: Variant, package: Path) -> tuple[str, int]:
    anchor = "await repository.delete_item(session, item)"
    other_style = {"flush-commit": "begin", "begin-context": "commit"}[variant.transaction_style]
    statement = f"session.{other_style}()"
    if variant.mode == "sync":
        anchor = anchor.removeprefix("await ")
    else:
        statement = "await " + statement
    return "items/services.py", insert_after(package / "items/services.py", anchor, statement)


def get_session_line(package: Path) -> int:
    lines = (package / "database/session.py").read_text(encoding="utf-8").splitlines()
    return next(number for number, line in enumerate(lines, 1) if "def get_session(" in line)


def session_not_closed(variant: Variant, package: Path) -> tuple[str, int]:
    (mutation,) = [mutation for mutation in MUTATIONS if mutation.name == "rollback-without-close"]
    mutate(mutation, variant, package.parent.parent)
    return "database/session.py", get_session_line(package)


def rollback_not_on_the_error_path(variant: Variant, package: Path) -> tuple[str, int]:
    path = package / "database/session.py"
    source = path.read_text(encoding="utf-8")
    handler = "        except Exception as error:\n"
    assert handler in source
    path.write_text(source.replace(handler, "        finally:\n"), "utf-8")
    return "database/session.py", get_session_line(package)


def commit_in_orders_repository(variant: Variant, package: Path) -> tuple[str, int]:
    statement = "await session.commit()" if variant.mode == "async" else "session.commit()"
    module = "orders/repository.py"
    return module, insert_after(package / module, "session.flush()", statement)


def http_exception_in_orders_services(variant: Variant, package: Path) -> tuple[str, int]:
    module = "orders/services.py"
    path = package / module
    statement = 'raise HTTPException(409, "Order already cancelled.")'
    line = insert_after(path, "raise OrderAlreadyCancelledError(", statement)
    path.write_text("from fastapi import HTTPException\n" + path.read_text("utf-8"), "utf-8")
    return module, line + 1


def relationship_without_a_loading_strategy(variant: Variant, package: Path) -> tuple[str, int]:
    module = "orders/models.py"
    path = package / module
    lines = path.read_text(encoding="utf-8").splitlines()
    number = next(
        i for i, line in enumerate(lines) if 'relationship(back_populates="lines"' in line
    )
    lines[number] = lines[number].replace(', lazy="raise"', "")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return module, number + 1


BREACHES: dict[str, Callable[[Variant, Path], tuple[str, int]]] = {
    "commit-in-orders-repository": commit_in_orders_repository,
    "http-exception-in-orders-services": http_exception_in_orders_services,
    "relationship-without-a-loading-strategy": relationship_without_a_loading_strategy,
    "session-not-closed": session_not_closed,
    "rollback-not-on-the-error-path": rollback_not_on_the_error_path,
    "commit-in-repository": commit_in_repository,
    "engine-in-routes": engine_in_routes,
    "other-style-in-services": other_style_in_services,
}


def copy_project(baked: Path, destination: Path) -> Path:
    ignore = shutil.ignore_patterns(".venv", "*_cache", "__pycache__")
    return Path(shutil.copytree(baked, destination / baked.name, ignore=ignore))


@pytest.mark.parametrize("breach", BREACHES)
def test_the_guard_names_the_file_and_line_of_a_breach(
    variant: Variant, baked: Path, tmp_path: Path, breach: str
) -> None:
    project = copy_project(baked, tmp_path)
    module, line = BREACHES[breach](variant, project / "src" / variant.slug)

    failures = run_guard(project)

    assert failures, f"[{variant.id}] {breach}: the guard did not fail"
    where = f"src/{variant.slug}/{module}:{line}"
    output = "\n".join(failures)
    assert re.search(rf"{re.escape(where)}(?!\d)", output), (
        f"[{variant.id}] {breach}: {where} not named\n{output}"
    )
