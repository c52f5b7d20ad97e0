"""The session convention's static guard: these tests read the service's own source with `ast`
(what the running service does is tested in test_convention_behaviour.py).

They fail, naming the file and line, when
- code outside `database/session.py` creates an engine or a session: it is the one session
  module;
- code outside a resource's `services.py`, its unit of work, commits, rolls back or begins a
  transaction. The exceptions: `get_session` and `job_session` roll back when a request or a
  job fails, and the idempotency key's claim takes a SAVEPOINT inside its caller's unit of work;
- the transaction style is mixed: a `begin()` block in a flush-commit service, or a bare
  `commit()` in a begin-context service;
- `get_session` (or `job_session`, its twin for units of work outside requests) does not take
  its session from a `with session_factory() as session:` block (which closes it whatever
  happens), or its `rollback()` is not in an `except` handler of that block that re-raises.

Calls are matched by name (`create_engine(...)`, `x.commit()`, ...), whatever they are called on.
"""

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

# Its own, not support/'s: the guard imports nothing but the standard library, so the
# template's suite can load this file alone from a mutated copy and run it there.
PROJECT_ROOT = Path(__file__).resolve().parent.parent
PACKAGE = PROJECT_ROOT / "src" / "{{ cookiecutter.project_slug }}"
TRANSACTION_STYLE = "{{ cookiecutter.transaction_style }}"

SESSION_MODULE = "database/session.py"
# Units of work are found by their role: every resource package's `services.py`.
UNIT_OF_WORK = "services.py"
ENGINE_OR_SESSION_MAKERS = frozenset(
    {
        "create_engine",
        "create_async_engine",
        "sessionmaker",
        "async_sessionmaker",
        "Session",
        "AsyncSession",
        "scoped_session",
        "session_factory",
    }
)
TRANSACTION_CALLS = frozenset({"commit", "rollback", "begin", "begin_nested"})
# (module, function, call) allowed outside the unit of work.
ALLOWED_OUTSIDE_UNIT_OF_WORK = frozenset(
    {
        (SESSION_MODULE, "get_session", "rollback"),
        (SESSION_MODULE, "job_session", "rollback"),
        # A SAVEPOINT in the caller's transaction, which a duplicate key rolls back alone.
        ("idempotency/claims.py", "claim", "begin_nested"),
    }
)
# The functions that hand out sessions: a request's, and a job's (a unit of work outside one).
SESSION_SOURCES = ("get_session", "job_session")
# The calls that belong to the other style; SAVEPOINTs (`begin_nested`) suit both.
OTHER_STYLE_CALLS = {"flush-commit": frozenset({"begin"}), "begin-context": frozenset({"commit"})}


@dataclass(frozen=True)
class Call:
    module: str
    line: int
    function: str
    name: str

    @property
    def where(self) -> str:
        path = (PACKAGE / self.module).relative_to(PROJECT_ROOT)
        return f"{path.as_posix()}:{self.line}"


class CallCollector(ast.NodeVisitor):
    """Every call in a module with the name it calls and the function it is made in."""

    def __init__(self, module: str) -> None:
        self.module = module
        self.functions: list[str] = []
        self.calls: list[Call] = []

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self.visit_function(node)

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> None:
        self.visit_function(node)

    def visit_function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        self.functions.append(node.name)
        self.generic_visit(node)
        self.functions.pop()

    def visit_Call(self, node: ast.Call) -> None:
        name = None
        if isinstance(node.func, ast.Name):
            name = node.func.id
        elif isinstance(node.func, ast.Attribute):
            name = node.func.attr
        if name is not None:
            function = self.functions[-1] if self.functions else "<module>"
            self.calls.append(Call(self.module, node.lineno, function, name))
        self.generic_visit(node)


def calls() -> Iterator[Call]:
    for path in sorted(PACKAGE.rglob("*.py")):
        module = path.relative_to(PACKAGE).as_posix()
        collector = CallCollector(module)
        collector.visit(ast.parse(path.read_text(encoding="utf-8"), filename=str(path)))
        yield from collector.calls


def is_unit_of_work(module: str) -> bool:
    return module.split("/")[-1] == UNIT_OF_WORK


def report(problem: str, offenders: list[Call]) -> str:
    lines = [f"  {call.where}: {call.name}() in {call.function}" for call in offenders]
    return "\n".join([f"{problem}:", *lines])


def test_only_the_session_module_creates_engines_and_sessions() -> None:
    offenders = [
        call
        for call in calls()
        if call.name in ENGINE_OR_SESSION_MAKERS and call.module != SESSION_MODULE
    ]
    assert not offenders, report(
        f"engines and sessions are created in {SESSION_MODULE} only; use get_session", offenders
    )


def test_only_the_unit_of_work_commits_rolls_back_or_begins() -> None:
    offenders = [
        call
        for call in calls()
        if call.name in TRANSACTION_CALLS
        and not is_unit_of_work(call.module)
        and (call.module, call.function, call.name) not in ALLOWED_OUTSIDE_UNIT_OF_WORK
    ]
    assert not offenders, report(
        f"transactions are begun, committed and rolled back in */{UNIT_OF_WORK} only", offenders
    )


def test_the_transaction_style_is_not_mixed() -> None:
    other_style = OTHER_STYLE_CALLS[TRANSACTION_STYLE]
    offenders = [call for call in calls() if call.name in other_style]
    names = "/".join(f"{name}()" for name in sorted(other_style))
    problem = f"this is a {TRANSACTION_STYLE} service: {names} belongs to the other style"
    assert not offenders, report(problem, offenders)


def session_source(name: str) -> ast.FunctionDef | ast.AsyncFunctionDef:
    tree = ast.parse((PACKAGE / SESSION_MODULE).read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == name:
            return node
    raise AssertionError(f"{SESSION_MODULE} has no {name}")


def is_call_to(node: ast.AST, name: str) -> bool:
    return isinstance(node, ast.Call) and (
        (isinstance(node.func, ast.Name) and node.func.id == name)
        or (isinstance(node.func, ast.Attribute) and node.func.attr == name)
    )


def assert_closes_and_rolls_back(name: str) -> None:
    function = session_source(name)
    where = f"{(PACKAGE / SESSION_MODULE).relative_to(PROJECT_ROOT).as_posix()}:{function.lineno}"
    blocks = [
        node
        for node in ast.walk(function)
        if isinstance(node, ast.With | ast.AsyncWith)
        and any(is_call_to(item.context_expr, "session_factory") for item in node.items)
    ]
    assert blocks, f"{where}: {name} must open its session in `with session_factory()`"
    handlers = [
        handler
        for node in ast.walk(blocks[0])
        if isinstance(node, ast.Try)
        for handler in node.handlers
    ]
    rolls_back = [
        handler
        for handler in handlers
        if any(is_call_to(node, "rollback") for node in ast.walk(handler))
        and isinstance(handler.body[-1], ast.Raise)
        and handler.body[-1].exc is None
    ]
    assert rolls_back, (
        f"{where}: {name} must roll back in an `except` handler inside its session block, "
        "and re-raise"
    )


def test_sessions_always_close_and_roll_back_on_error() -> None:
    for name in SESSION_SOURCES:
        assert_closes_and_rolls_back(name)


def test_the_guard_sees_the_convention() -> None:
    """The checks above read real code: they find what the convention puts where."""
    found = {(call.module, call.name) for call in calls()}
    style_call = "commit" if TRANSACTION_STYLE == "flush-commit" else "begin"
    assert any(is_unit_of_work(module) and name == style_call for module, name in found)
    assert (SESSION_MODULE, "rollback") in found
    assert any(module == SESSION_MODULE and name.endswith("sessionmaker") for module, name in found)


# Modules of the HTTP layer (routes, the error handlers, the header readers of kit/http.py and
# idempotency/http.py): only they may know HTTPException. Units of work raise domain
# errors (each resource's errors.py, on kit/errors.py), which errors.py maps to statuses.
HTTP_LAYER_ROLES = ("routes.py", "errors.py", "http.py")


def is_http_layer(module: str) -> bool:
    return module.split("/")[-1] in HTTP_LAYER_ROLES


def http_exception_uses() -> Iterator[tuple[str, int]]:
    """Every import or mention of HTTPException: (where, line)."""
    for path in sorted(PACKAGE.rglob("*.py")):
        module = path.relative_to(PACKAGE).as_posix()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
            named = (
                (isinstance(node, ast.Name) and node.id == "HTTPException")
                # The web framework's; http.client.HTTPException is the standard library's
                # (a peer that does not speak HTTP), no answer of this service.
                or (
                    isinstance(node, ast.Attribute)
                    and node.attr == "HTTPException"
                    and ast.unparse(node.value) != "http.client"
                )
                or (
                    isinstance(node, ast.ImportFrom)
                    and any(alias.name == "HTTPException" for alias in node.names)
                )
            )
            if named:
                yield module, getattr(node, "lineno", 0)


def test_http_exception_stays_in_the_http_layer() -> None:
    offenders = sorted({(module, line) for module, line in http_exception_uses()})
    offenders = [(module, line) for module, line in offenders if not is_http_layer(module)]
    where = [
        f"  {(PACKAGE / module).relative_to(PROJECT_ROOT).as_posix()}:{line}"
        for module, line in offenders
    ]
    assert not offenders, "\n".join(
        [
            "HTTPException belongs to */routes.py and errors.py; raise a domain error instead:",
            *where,
        ]
    )


def relationships_without_lazy() -> Iterator[str]:
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if (
                is_call_to(node, "relationship")
                and isinstance(node, ast.Call)
                and not any(keyword.arg == "lazy" for keyword in node.keywords)
            ):
                yield f"  {path.relative_to(PROJECT_ROOT).as_posix()}:{node.lineno}"


def test_every_relationship_declares_its_loading() -> None:
    """A relationship without `lazy=` loads lazily: a hidden query per row, and an error in
    async code. Declare lazy="raise" (or another explicit strategy) and load it in the query."""
    offenders = list(relationships_without_lazy())
    assert not offenders, "\n".join(["relationship() without an explicit lazy=:", *offenders])


def test_the_layer_guards_see_the_code() -> None:
    """The checks above read real code: errors.py uses HTTPException, and models declare
    relationships."""
    assert any(module == "errors.py" for module, _ in http_exception_uses())
    relationships = [
        node
        for path in PACKAGE.rglob("models.py")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if is_call_to(node, "relationship")
    ]
    assert relationships


# The broker's client libraries. Only messaging/broker.py imports them, and only the relay and
# the worker import it (a `forbidden` contract in pyproject.toml): a request records its events
# in the outbox, in its own transaction, and never publishes; publishing after the commit loses
# the event when the process dies in between, and before it announces data that may roll back.
BROKER_CLIENTS = frozenset({"aio_pika", "aiormq", "pamqp", "pika"})
BROKER_MODULE = "messaging/broker.py"


def broker_client_imports() -> Iterator[tuple[str, int]]:
    for path in sorted(PACKAGE.rglob("*.py")):
        module = path.relative_to(PACKAGE).as_posix()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            if any(name.split(".")[0] in BROKER_CLIENTS for name in names):
                yield module, node.lineno


def test_only_the_broker_module_imports_the_brokers_client() -> None:
    importers = sorted(set(broker_client_imports()))
    assert {module for module, _ in importers} == {BROKER_MODULE}, "\n".join(
        [
            f"Only {BROKER_MODULE} talks to the broker; record events with outbox.repository:",
            *(f"  {module}:{line}" for module, line in importers),
        ]
    )
