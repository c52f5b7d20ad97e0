"""py-spy recordings of the template app under load, summarised by package (load --profile)."""

import argparse
import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

from bench.model import Scenario
from bench.serving import App
from bench.wrk import wrk


def profile(app: App, scenario: Scenario, args: argparse.Namespace, log: Path, out: Path) -> None:
    """Record the app under the scenario with py-spy; write a by-package summary to `out`."""
    server = app.start(log)
    port = server.port
    raw = out.with_suffix(".raw")
    try:
        wrk(port, scenario, scenario.warmup, args.threads, args.items, app.token)
        spy = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "py-spy"),
                "record",
                "--pid",
                str(server.process.pid),
                "--duration",
                str(args.profile),
                "--rate",
                "250",
                "--nonblocking",
                "--full-filenames",
                "--gil",  # only the thread holding the GIL: where the CPU goes, sync mode too
                "--format",
                "raw",
                "--output",
                str(raw),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        wrk(port, scenario, args.profile, args.threads, args.items, app.token)
        _, err = spy.communicate(timeout=60)
        if spy.returncode != 0:
            raise RuntimeError(f"py-spy failed: {err}")
    finally:
        server.stop()
    out.write_text(summarise_profile(raw.read_text()))
    shutil.move(raw, log.parent / raw.name)  # the collapsed stacks stay with the server log


def frame_package(frame: str) -> str:
    """The distribution a py-spy frame ("Class.function (/path/file.py:12)") belongs to."""
    match = re.search(r"\((.*):\d+\)$", frame)
    path = match.group(1) if match else frame
    if "site-packages/" in path:
        return path.split("site-packages/", 1)[1].split("/", 1)[0].removesuffix(".py")
    if re.search(r"/src/svc_\w+/", path) or "/defaults-src/" in path:
        return "the service's own code"
    if re.search(r"lib/python3\.\d+/", path):
        return "stdlib"
    return "other"


def summarise_profile(raw: str) -> str:
    """Self time by package (where the CPU is spent) and inclusive time of marked steps."""
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in raw.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = stack.split(";")
        total += count
        package = frame_package(frames[-1])
        if package == "stdlib":
            # the standard library's time goes to the nearest caller outside it (asyncio: the loop)
            callers = [frame_package(f) for f in frames if frame_package(f) != "stdlib"]
            package = f"{callers[-1] if callers else 'other'} (in stdlib)"
        own[package] += count
        for step, pattern in STEPS.items():
            if any(re.search(pattern, frame) for frame in frames):
                inclusive[step] += count
    lines = [
        f"{total} samples (py-spy, 250 Hz, thread holding the GIL)",
        "",
        "self time by package:",
    ]
    for package, count in own.most_common(15):
        lines.append(f"  {100 * count / max(total, 1):5.1f} %  {package}")
    lines += ["", "inclusive time of steps (a sample may count in several):"]
    for step in STEPS:
        lines.append(f"  {100 * inclusive[step] / max(total, 1):5.1f} %  {step}")
    return "\n".join(lines) + "\n"


STEPS = {
    "whole request in FastAPI (routing, dependencies, endpoint, response)": r"^FastAPI\.__call__ ",
    "dependency solving (get_session, database_slot, body)": r"^solve_dependencies ",
    "endpoint function (service + repository)": r"^(create_item|get_item|list_items|update_item) "
    r"\(.*/routes\.py",  # every resource's routes
    "session.commit / session.begin() exit": r"^(AsyncSession|Session|SessionTransaction)"
    r"\.(commit|__aexit__|__exit__) ",
    "ORM statements (get, execute, scalars, flush)": r"^(AsyncSession|Session)\."
    r"(get|execute|scalars|scalar|flush) ",
    "pool checkout": r"^_ConnectionFairy\._checkout ",
    "pre-ping": r"\.(do_ping|_do_ping_w_event) ",
    "session close / connection return": r"^(AsyncSession|Session)\.(close|__aexit__|__exit__) ",
    "response serialisation (response_model)": r"^serialize_response ",
    "database driver (asyncpg, psycopg, aiomysql, pymysql, sqlite3)": r"/site-packages/"
    r"(asyncpg|psycopg|aiomysql|pymysql|aiosqlite)/",
    "HTTP server (uvicorn, httptools)": r"/site-packages/uvicorn/protocols/",
}
