"""What a load run prints and writes: its tables, bench/RESULTS.md's sections, ratios.png."""

import argparse
import json
import os
import platform
import re
import subprocess
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

from bench import BENCH
from bench.model import POOL_SIZE, WORKERS, Result
from bench.targets import check_targets
from tests.variants import VARIANTS, Variant


def table(results: list[Result], variant: str) -> str:
    rows = [r for r in results if r.variant == variant]
    header = (
        "| app | scenario | req/s | ratio to raw | CPU µs/req | p50 ms | p99 ms | max ms "
        "| errors | non-2xx | pool timeouts | db conns opened | RSS MB | cold start s |"
    )
    lines = [f"**{variant}**", "", header, "|" + "---|" * 14]
    for r in rows:
        ratio = f"{100 * r.ratio:.0f} %" if r.ratio is not None else ""
        conns = "n/a" if r.db_connections is None else str(r.db_connections)
        rps = f"{r.rps:.0f}"
        if r.round_rps:
            rps += f" ({min(r.round_rps):.0f}-{max(r.round_rps):.0f})"
        lines.append(
            f"| {r.app} | {r.scenario}@{r.connections} | {rps} | {ratio} | {r.cpu_us:.0f} "
            f"| {r.p50_ms:.1f} "
            f"| {r.p99_ms:.1f} | {r.max_ms:.0f} | {r.errors} | {r.non_2xx} | {r.pool_timeouts} "
            f"| {conns} | {r.rss_mb:.0f} | {r.cold_start_s:.2f} |"
        )
    return "\n".join(lines)


def chart(results: list[Result], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    variants = list(dict.fromkeys(r.variant for r in results))
    series = [
        (app, scenario)
        for app in ("template", "defaults")
        for scenario in list(dict.fromkeys(f"{r.scenario}@{r.connections}" for r in results))
    ]
    fig, ax = plt.subplots(figsize=(max(8, 1.3 * len(variants) + 3), 5.5))
    width = 0.8 / max(1, len(series))
    for i, (app, scenario) in enumerate(series):
        values = []
        for variant in variants:
            match = [
                r.ratio
                for r in results
                if r.variant == variant
                and r.app == app
                and f"{r.scenario}@{r.connections}" == scenario
            ]
            values.append(100 * (match[0] or 0) if match else 0)
        positions = [v + (i - len(series) / 2 + 0.5) * width for v in range(len(variants))]
        ax.bar(
            positions,
            values,
            width,
            label=f"{app} {scenario}",
            hatch="//" if app == "defaults" else None,
            alpha=0.9 if app == "template" else 0.6,
        )
    ax.axhline(22, color="red", linestyle="--", linewidth=0.8, label="target: async GET 22 %")
    ax.axhline(12, color="orange", linestyle="--", linewidth=0.8, label="target: sync 12 %")
    ax.set_xticks(range(len(variants)))
    ax.set_xticklabels(variants, rotation=35, ha="right", fontsize=8)
    ax.set_ylabel("requests/s, % of raw Starlette + async driver")
    ax.set_title("Throughput relative to the raw reference (same scenario, back to back)")
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def machine() -> str:
    cpu = re.search(r"model name\s*:\s*(.*)", Path("/proc/cpuinfo").read_text())
    memory = re.search(r"MemTotal:\s+(\d+) kB", Path("/proc/meminfo").read_text())
    wrk_version = subprocess.run(["wrk", "--version"], capture_output=True, text=True).stdout
    return (
        f"{os.cpu_count()} cores ({cpu.group(1) if cpu else '?'}), "
        f"{int(memory.group(1)) // 1024 // 1024 if memory else '?'} GiB RAM, "
        f"{platform.platform()}, Python {platform.python_version()}, "
        f"{wrk_version.split(' Copyright')[0].strip()}"
    )


def report(results: list[Result], variants: list[Variant], args: argparse.Namespace) -> str:
    lines = [
        f"Run of {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {machine()}.",
        "",
        f"Command: `{args.command}`",
        "",
        "Ratios are requests/s over the raw reference's in the same scenario, measured back to "
        "back; `template` is the generated service as shipped"
        + "".join(f"; {APP_NOTES[app]}" for app in args.apps if app in APP_NOTES)
        + (f". The mixes: the median of {args.mix_rounds} rounds" if args.mix_rounds > 1 else "")
        + f". GET, POST and orders alone: the median of {args.rounds} rounds (range in brackets;"
        " errors summed over all rounds"
        + ("; `defaults` one round" if "defaults" in args.apps else "")
        + "). Latencies are wrk's (uncorrected). CPU µs/req: the server's user + system time "
        "over the requests it answered."
        + ("" if args.section else " Chart: [ratios.png](ratios.png)."),
        "",
    ]
    for variant in variants:
        lines += [table(results, variant.id), ""]
    lines += ["### Targets (template app)", ""]
    lines += ["| variant | target | met | evidence |", "|---|---|---|---|"]
    for variant in variants:
        for target, met, evidence in check_targets(results, variant):
            lines.append(f"| {variant.id} | {target} | {'yes' if met else '**no**'} | {evidence} |")
    return "\n".join(lines) + "\n"


APP_NOTES = {
    "defaults": "`defaults` the same service without the database slot and the pool's liveness "
    "check, on QueuePool 5 + 10",
    "workers2": f"`workers2` the template with {WORKERS} uvicorn workers (WEB_CONCURRENCY)",
    "pgbouncer": "`pgbouncer` the template through PgBouncer (transaction pool mode, "
    f"{POOL_SIZE} server connections, DATABASE_POOLER=pgbouncer)",
    "unobserved": "`unobserved` the template with METRICS_ENABLED=false, LOG_LEVEL=WARNING",
    "baseline": "`baseline` the service baked from the --baseline revision of the template",
}


def markers(section: str) -> tuple[str, str]:
    if section == "main":  # the full run's, named as it always was
        return (
            "<!-- bench/load.py: generated section begins -->",
            "<!-- bench/load.py: generated section ends -->",
        )
    return (
        f"<!-- bench/load.py: section {section} begins -->",
        f"<!-- bench/load.py: section {section} ends -->",
    )


def record(text: str, section: str) -> None:
    """Replace the section's generated text in bench/RESULTS.md (appended when it is new)."""
    begin, end = markers(section)
    path = BENCH / "RESULTS.md"
    current = path.read_text() if path.exists() else "# Load benchmark results\n"
    if begin not in current:
        current = f"{current.rstrip()}\n\n{begin}\n{end}\n"
    before, _, rest = current.partition(begin)
    _, _, after = rest.partition(end)
    path.write_text(f"{before}{begin}\n{text}{end}{after}")


def write_outputs(
    results: list[Result], variants: list[Variant], args: argparse.Namespace, wall: float
) -> None:
    """bench/results.json and ratios.png for a full run, results-<section>.json for a section;
    bench/RESULTS.md's section when recorded."""
    # A run of some variants keeps the full run's files (results.json, ratios.png) as they are;
    # with --section it writes results-<section>.json beside them.
    full_run = len(variants) == len(VARIANTS)
    if full_run or args.section:
        suffix = f"-{args.section}" if args.section else ""
        (BENCH / f"results{suffix}.json").write_text(
            json.dumps(
                {
                    "command": args.command,
                    "machine": machine(),
                    "results": [asdict(r) for r in results],
                },
                indent=1,
            )
            + "\n"
        )
    if "raw" in args.apps and full_run and not args.section:
        chart(results, BENCH / "ratios.png")
    if args.record or (args.record is None and (full_run or args.section)):
        text = report(results, variants, args) + f"\nWall time of the run: {wall / 60:.1f} min.\n"
        record(text, args.section or "main")
        print(f"wrote bench/RESULTS.md ({args.section or 'main'} section)")
