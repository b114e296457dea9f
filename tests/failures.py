#!/usr/bin/env python3
"""Prints every failed test of the TRX files under a directory, with its message and the start of its stack.

`make test` calls it when `dotnet test` fails, so that the end of a long run's output (all a CI log may keep)
names what failed and why, not only how many.
"""
import glob
import sys
import xml.etree.ElementTree as ET

NS = {"t": "http://microsoft.com/schemas/VisualStudio/TeamTest/2010"}


def head(text, lines):
    rows = (text or "").strip().splitlines()
    return "\n".join(rows[:lines] + ([f"... ({len(rows) - lines} more lines)"] if len(rows) > lines else []))


def main(directory):
    failed = 0
    for path in sorted(glob.glob(f"{directory}/**/*.trx", recursive=True)):
        for result in ET.parse(path).getroot().iterfind(".//t:UnitTestResult", NS):
            if result.get("outcome") != "Failed":
                continue
            failed += 1
            print(f"\n=== FAILED {result.get('testName')} ({result.get('duration')})")
            info = result.find("t:Output/t:ErrorInfo", NS)
            if info is not None:
                print(head(info.findtext("t:Message", "", NS), 80))
                print(head(info.findtext("t:StackTrace", "", NS), 12))
    print(f"\n{failed} failed test(s) in {directory}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
