"""Library-defaults reference for bench/load.py: the generated service as it would be without
the template's load settings.

A copy of the baked package, patched so `get_session` no longer takes a database slot (no
slot limit: every request goes straight to the pool) and the pool no longer checks
connections on checkout (no liveness check), run with SQLAlchemy's own pool defaults: QueuePool
5 + 10 overflow, 30 s timeout, no pre-ping. The template is never touched; only the copy in the
benchmark's work directory is.
"""

import re
import shutil
from pathlib import Path

SLOT_PARAMETER = "    _slot: Annotated[None, Depends(database_slot)],\n"
# The call that installs the pool's liveness check (server databases only).
LIVENESS_CHECK = re.compile(r"^    replace_dead_connections\(.*\)\n", re.MULTILINE)

ENVIRONMENT = {
    "POOL_SIZE": "5",
    "MAX_OVERFLOW": "10",
    "POOL_TIMEOUT": "30",
}


def make_copy(project: Path, slug: str, destination: Path) -> Path:
    """Copy the package under `destination` and drop the database slot and the liveness check;
    returns the directory to put first on PYTHONPATH."""
    target = destination / slug
    shutil.rmtree(destination, ignore_errors=True)
    shutil.copytree(project / "src" / slug, target)
    session = target / "database" / "session.py"
    source = session.read_text()
    if SLOT_PARAMETER not in source:
        raise RuntimeError(f"{session}: the database slot parameter of get_session is not there")
    session.write_text(source.replace(SLOT_PARAMETER, ""))
    dialect = target / "database" / "dialect.py"
    source, removed = LIVENESS_CHECK.subn("    pass\n", dialect.read_text())
    if "import replace_dead_connections" in source and removed != 1:
        raise RuntimeError(f"{dialect}: the call installing the liveness check is not there")
    dialect.write_text(source)
    return destination
