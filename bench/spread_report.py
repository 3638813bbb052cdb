#!/usr/bin/env python3
"""Run-to-run spread per challenge and rules version, from the score
records of a playground's SQLite database (bench/spread.sh keeps one with
SPREAD_DATA). Only official runs scored under every listed rules version
are compared, so each version is judged on the same samples.

Usage: bench/spread_report.py DATA_DIR/chaos.db [run_id ...]
"""
import sqlite3
import statistics
import sys


def main() -> None:
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    db = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)
    only = set(sys.argv[2:])
    rows = db.execute(
        """SELECT r.id, r.challenge, s.rules_version, s.score, s.official, s.outcome, s.scored_at
             FROM score_records s JOIN runs r ON r.id = s.run_id
            ORDER BY s.scored_at"""
    ).fetchall()
    newest = {}  # (run, rules) -> (challenge, score, official, outcome)
    for run, challenge, rules, score, official, outcome, _ in rows:
        if only and run not in only:
            continue
        newest[(run, rules)] = (challenge, score, official, outcome)
    versions = sorted({rules for (_, rules) in newest})
    runs = {run for (run, _) in newest}
    print("| challenge | rules | runs | min | median | max | spread |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for challenge in ("robust-service", "graceful-degradation", "longest-upkeep"):
        complete = sorted(
            run
            for run in runs
            if all(
                (run, v) in newest
                and newest[(run, v)][0] == challenge
                and newest[(run, v)][2] == 1
                and newest[(run, v)][3] == "scored"
                for v in versions
            )
        )
        if not complete:
            continue
        for v in versions:
            xs = [newest[(run, v)][1] for run in complete]
            m = statistics.median(xs)
            spread = (max(xs) - min(xs)) / m * 100 if m else float("nan")
            print(
                f"| {challenge} | v{v} | {len(xs)} | {min(xs):,.2f} | {m:,.2f} | {max(xs):,.2f} | {spread:.1f} % |"
            )
    for challenge in ("robust-service", "graceful-degradation", "longest-upkeep"):
        for v in versions:
            xs = [
                (run, newest[(run, v)][1], newest[(run, v)][3])
                for run in sorted(runs)
                if (run, v) in newest and newest[(run, v)][0] == challenge
            ]
            if xs:
                print(f"{challenge} v{v}: " + ", ".join(
                    f"{score if score is not None else outcome}" for _, score, outcome in xs))


if __name__ == "__main__":
    main()
