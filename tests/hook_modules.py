"""The hooks as modules: imported from their template source (hooks/ is no package, and only
their `__main__` blocks read a rendered context), for the tests that call their functions."""

import importlib.util
from types import ModuleType

from .variants import TEMPLATE


def load_hook(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, TEMPLATE / "hooks" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


post_gen = load_hook("post_gen_project")
pre_gen = load_hook("pre_gen_project")
