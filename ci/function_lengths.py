#!/usr/bin/python3
"""Function lengths in harness/: lists every C++ function over 80 lines and fails (exit 1)
when one passes 120 lines, except in generated files (their first lines say "Generated ...
do not edit"). The rule and its reason are in CONTRIBUTING.md.

Uses Universal Ctags (its `end:` field gives each definition's last line). A lambda counts
toward the function it is written in and is also listed on its own when it is long.

  ci/function_lengths.py             list those over 80, exit 1 if any passes 120
  ci/function_lengths.py --report    the same list and the counts, always exit 0
  ci/function_lengths.py DIR...      check other directories instead of harness/
"""
import argparse
import json
import os
import shutil
import subprocess
import sys

LIST_OVER = 80
FAIL_OVER = 120
SOURCE_SUFFIXES = (".cpp", ".cc", ".hpp", ".h")


def is_generated(path):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            head = "".join(f.readline() for _ in range(5)).lower()
    except OSError:
        return False
    return "generated" in head and "do not edit" in head


def source_files(roots):
    for root in roots:
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames.sort()
            for name in sorted(filenames):
                if name.endswith(SOURCE_SUFFIXES):
                    yield os.path.join(dirpath, name)


def display_name(tag):
    """`scope::name`, with anonymous namespaces dropped and lambdas named after their home."""
    parts = [p for p in tag.get("scope", "").split("::") if p and not p.startswith("__anon")]
    name = tag["name"]
    if name.startswith("__anon"):
        return "lambda in " + ("::".join(parts) or "?")
    return "::".join(parts + [name])


def function_lengths(files):
    """[(lines, path, first_line, name)] for every function definition ctags finds."""
    if not files:
        return []
    ctags = shutil.which("ctags")
    if ctags is None:
        sys.exit("function_lengths: Universal Ctags (`ctags`) is not installed (apt-get install universal-ctags)")
    out = subprocess.run(
        [ctags, "--output-format=json", "--languages=C++", "--language-force=C++",
         "--kinds-C++=f", "--fields=+ne", "-o", "-", *files],
        check=True, capture_output=True, text=True).stdout
    seen = set()
    result = []
    for row in out.splitlines():
        tag = json.loads(row)
        if tag.get("_type") != "tag" or tag.get("kind") != "function":
            continue
        if "end" not in tag:
            sys.exit("function_lengths: this ctags gives no end: field for " + tag["path"] +
                     "; Universal Ctags >= 5.9 is needed")
        key = (tag["path"], tag["line"], tag["name"])
        if key in seen:
            continue
        seen.add(key)
        result.append((tag["end"] - tag["line"] + 1, tag["path"], tag["line"], display_name(tag)))
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--report", action="store_true", help="list and count only; exit 0")
    parser.add_argument("dirs", nargs="*", help="directories to check (default: harness/)")
    args = parser.parse_args()
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    os.chdir(repo)
    roots = args.dirs or ["harness"]
    for root in roots:
        if not os.path.isdir(root):
            sys.exit(f"function_lengths: {root}: no such directory")

    files = list(source_files(roots))
    lengths = function_lengths(files)
    long_ones = sorted((f for f in lengths if f[0] > LIST_OVER), key=lambda f: (-f[0], f[1], f[2]))
    failing = []
    for lines, path, line, name in long_ones:
        generated = is_generated(path)
        mark = "generated" if generated else ("FAIL" if lines > FAIL_OVER else "")
        if mark == "FAIL":
            failing.append(name)
        print(f"{lines:5d}  {path}:{line}  {name}" + (f"  [{mark}]" if mark else ""))
    over_fail = sum(1 for f in long_ones if f[0] > FAIL_OVER)
    print(f"{len(lengths)} functions in {len(files)} files; {len(long_ones)} over {LIST_OVER} lines, "
          f"{over_fail} over {FAIL_OVER} ({len(failing)} of them outside generated files)")
    if failing and not args.report:
        print(f"function_lengths: {len(failing)} function(s) pass {FAIL_OVER} lines; split them "
              "(see CONTRIBUTING.md)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
