#!/usr/bin/python3
"""The dependency arrows between harness/ parts point one way: fleet -> ike -> common, and
dataplane -> ike. Fails (exit 1) when a file in a part includes a header of a part it must not
know, listing each such line as file:line: what it includes. The rule is in CONTRIBUTING.md.

  ci/include_arrows.py          check harness/ (run from the repository root or anywhere)
"""
import os
import re
import sys

# part (folder under harness/) -> parts whose headers it must not include
FORBIDDEN = {
    # The IKEv2/ESP protocol core knows nothing of runs, scenarios, fleets or the data plane.
    "ike": ("fleet", "run", "scenario", "cli", "dataplane"),
    # The data plane rides on the protocol core; runs drive it, it does not know them.
    "dataplane": ("run", "scenario", "cli"),
}
SOURCE_SUFFIXES = (".cpp", ".cc", ".hpp", ".h")
INCLUDE = re.compile(r'^\s*#\s*include\s*"([^"]+)"')


def violations(repo):
    harness_dir = os.path.join(repo, "harness")
    for part, forbidden in sorted(FORBIDDEN.items()):
        root = os.path.join(harness_dir, part)
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames.sort()
            for name in sorted(filenames):
                if not name.endswith(SOURCE_SUFFIXES):
                    continue
                path = os.path.join(dirpath, name)
                with open(path, encoding="utf-8", errors="replace") as f:
                    for number, line in enumerate(f, 1):
                        m = INCLUDE.match(line)
                        if m and m.group(1).split("/", 1)[0] in forbidden:
                            yield f"{os.path.relpath(path, repo)}:{number}: {part}/ includes {m.group(1)}"


def main():
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    found = list(violations(repo))
    for v in found:
        print(v)
    if found:
        print(f"include_arrows: {len(found)} include(s) against the arrows (CONTRIBUTING.md, Layout)",
              file=sys.stderr)
        return 1
    print("include_arrows: ok (" + ", ".join(f"{p}/ includes no {'/, '.join(f)}/" for p, f in sorted(FORBIDDEN.items())) + ")")
    return 0


if __name__ == "__main__":
    sys.exit(main())
