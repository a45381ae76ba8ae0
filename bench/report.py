"""What a run reports: per scenario a summary (medians, ratios to the baseline, targets
PASS/FAIL), printed as a table and written with the tool versions to the results JSON
(bench/results/latest.json by default; its schema is described in bench/README.md)."""

from __future__ import annotations

import datetime
import json
import os
import platform
import shlex
from pathlib import Path
from typing import Any

from harness import PYTHON, ROOT, Scenario, log
from tools import ZOO, Tools, module_version, version

# --------------------------------------------------------------------------- summaries


def summarize(s: Scenario) -> dict[str, Any]:
    by_name = {p.name: p for p in s.peers}
    base = by_name[s.baseline].median
    subject = by_name[s.subject]
    rows = [{
        "peer": p.name,
        "baseline": p.name == s.baseline,
        "command": shlex.join(p.argv),
        "median_s": p.median,
        "ratio": p.median / base if p.median is not None and base else None,
        "peak_rss_mib": max(p.rss_mib) if p.rss_mib and not p.error else None,
        "times_s": p.times,
        "rss_mib": p.rss_mib,
        "error": p.error,
    } for p in s.peers]

    def ratio(versus: str) -> float | None:
        other = by_name[versus].median if versus in by_name else None
        return subject.median / other if subject.median is not None and other else None

    targets = []
    for t in s.targets:
        alt_value = None
        if t.versus is None:
            value = max(subject.rss_mib) if subject.rss_mib and not subject.error else None
        else:
            value = ratio(t.versus)
        passed = None if value is None else value <= t.limit
        if t.alternative is not None:  # met when either ratio is within its limit
            alt_value = ratio(t.alternative[1])
            if alt_value is not None:
                passed = bool(passed) or alt_value <= t.alternative[0]
        targets.append({"target": t.label, "limit": t.limit, "versus": t.versus,
                        "unit": "MiB" if t.versus is None else "ratio", "value": value,
                        "alternative": t.alternative, "alternative_value": alt_value,
                        "pass": passed})
    return {"key": s.key, "title": s.title, "baseline": s.baseline, "subject": s.subject,
            "peers": rows, "targets": targets, "notes": s.notes,
            "rss_floor_mib": s.rss_floor_mib, **s.extra}


def skipped(key: str, title: str, reason: str) -> dict[str, Any]:
    """The summary of a scenario that could not run at all."""
    log(f"# {title}: skipped: {reason}")
    return {"key": key, "title": title, "skipped": reason, "peers": [], "targets": [],
            "notes": []}


# --------------------------------------------------------------------------- tables


def print_header(commit: str, runs: int) -> None:
    print(f"zoo-vcs benchmark ({commit}, {os.cpu_count()} CPUs): median of {runs} runs, "
          "peers interleaved run by run;\nx base = ratio to the baseline (*); "
          "peak RSS = max over runs")


def print_table(summary: dict[str, Any]) -> None:
    print(f"\n## {summary['title']}")
    if summary.get("skipped"):
        print(f"  skipped: {summary['skipped']}")
        return
    print(f"{'peer':<28} {'median s':>9} {'x base':>7} {'peak RSS MiB':>13}")
    for row in summary["peers"]:
        name = row["peer"] + (" *" if row["baseline"] else "")
        if row["error"]:
            print(f"{name:<28} FAILED: {row['error'][:200]}")
            continue
        print(f"{name:<28} {row['median_s']:>9.3f} {row['ratio']:>7.2f} "
              f"{row['peak_rss_mib']:>13.1f}")
    print(f"targets for {summary['subject']}:")
    for t in summary["targets"]:
        if t["pass"] is None:
            value, verdict = "n/a", "n/a"
        elif t["value"] is None:
            value, verdict = "-", "PASS" if t["pass"] else "FAIL"
        else:
            value = f"{t['value']:.1f} MiB" if t["unit"] == "MiB" else f"{t['value']:.2f}x"
            verdict = "PASS" if t["pass"] else "FAIL"
        print(f"  {t['target']:<50} {value:>10}  {verdict}")
    for note in summary["notes"]:
        print(f"  note: {note}")
    print(f"  note: peak RSS floor {summary['rss_floor_mib']:.1f} MiB (`true`); "
          "rows at the floor used less (README)")


# --------------------------------------------------------------------------- results


def versions(tools: Tools, commit: str, info: dict[str, Any]) -> dict[str, str]:
    dvc = tools.dvc
    http = info.get("http_server")
    return {
        "zoo-vcs": version([ZOO, "--version"]),
        "zoo-vcs commit": commit,
        "zoo-vcs code": info.get("zoo_vcs_code", "?"),
        "git": version(["git", "--version"]),
        "git-lfs": version(["git", "lfs", "version"]) if tools.lfs else "not available",
        "sha1sum": version(["sha1sum", "--version"]),
        "openssl": version(["openssl", "version"]),
        "curl": version(["curl", "--version"]),
        "pooch": module_version(tools.pooch_bin and tools.pooch_bin / "python", "pooch"),
        "dvc": version([dvc, "--version"]) if dvc else "not available",
        "dvc-s3": module_version(tools.dvc_bin / "python", "dvc-s3")
        if tools.dvc_bin and tools.dvc_s3 else "not available",
        "moto": module_version(tools.moto_python, "moto"),
        "boto3": module_version(tools.moto_python, "boto3"),
        "s3fs (zoo-vcs)": module_version(PYTHON, "s3fs"),
        "http server": http["version"] if http else "not used",
    }


def write_results(path: Path, args: dict[str, Any], tools: Tools, commit: str,
                  info: dict[str, Any], summaries: list[dict[str, Any]]) -> int:
    """Write the results JSON, print the versions line and the failures; the exit status
    (1 when a run failed or a scenario was skipped; missed targets do not count)."""
    report: dict[str, Any] = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "args": args,
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(),
                    "python": platform.python_version()},
        "versions": versions(tools, commit, info),
        "scenarios": summaries,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2) + "\n")
    shown = ["zoo-vcs", "dvc", "dvc-s3", "git-lfs", "moto", "boto3", "s3fs (zoo-vcs)", "pooch",
             "http server"]
    print("\nversions: " + "; ".join(f"{k}: {report['versions'][k]}" for k in shown))
    shown_path = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
    print(f"results written to {shown_path}")
    failed = [f"{s['key']}: {row['peer']}" for s in summaries for row in s["peers"]
              if row["error"]]
    failed += [f"{s['key']}: skipped" for s in summaries if s.get("skipped")]
    if failed:
        print(f"runs failed (see above): {', '.join(failed)}")
    return 1 if failed else 0
