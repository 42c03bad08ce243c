# The include-direction check of scripts/tidy: every `#include "..."` in
# src/, include/ and cli/ must point from a part to a part it may depend on
# (the table of docs' design: arrows only point down). A wrong arrow fails;
# the ones the code has today are listed in KNOWN_VIOLATIONS and only warn,
# so that no new one can appear and the list can only shrink.
import os
import re

# Which part each public header belongs to.
PUBLIC_PARTS = {
    "value.h": "core", "time.h": "core", "check.h": "core", "program.h": "core",
    "accrual.h": "core", "redemption.h": "core",
    # Commands are plain values that Decide reads and the journal records.
    # Tier qualification reads a member's counters and status.
    "ledger.h": "ledger", "command.h": "ledger", "tiers.h": "ledger", "notices.h": "ledger",
    "store.h": "store",
    "shard_map.h": "core",
    "sharded_engine.h": "engine",
    "engine.h": "engine",
    "audit.h": "audit", "distribution.h": "audit",
    "partner.h": "partner",
    "profiles.h": "profiles",
    "io.h": "io", "scenario.h": "io",
    "report_html.h": "report",
    # The umbrella header a user includes to get everything.
    "loyalty.h": "umbrella",
}

# Internal files whose part is not their folder's: the HTML report's text
# and chart primitives render values and need nothing from the audit.
FILE_PARTS = {
    "src/report/html_text.h": "report-text", "src/report/html_text.cc": "report-text",
    "src/report/svg_bar_chart.h": "report-text", "src/report/svg_bar_chart.cc": "report-text",
}

# What each part may include besides itself. Not transitive: a part lists
# every part it may name directly.
ALLOWED = {
    "core": set(),
    "ledger": {"core"},
    "journal": {"ledger", "core"},
    # Decide digests the command's record (journal/command_codec.h) to
    # recognise a retried idempotency key.
    "decide": {"journal", "ledger", "core"},
    "store": {"journal", "ledger", "core"},
    "engine": {"store", "decide", "journal", "ledger", "core"},
    # The audit uses the engine's parts, never the engine itself.
    "audit": {"store", "decide", "journal", "ledger", "core"},
    "partner": {"engine", "audit", "store", "ledger", "core"},
    "profiles": {"engine", "audit", "store", "ledger", "core"},
    "io": {"audit", "ledger", "core"},
    "report-text": {"core"},
    "report": {"report-text", "audit", "ledger", "core"},
    "umbrella": {"core", "ledger", "store", "engine", "audit", "partner", "profiles", "io", "report"},
    # The command line sees the public headers only (checked apart).
    "cli": {"umbrella", "core", "ledger", "store", "engine", "audit", "partner", "profiles", "io", "report"},
}

# Upward includes tolerated with a warning (file, included header): none.
# An entry would be a debt, with its reason beside it, to be removed.
KNOWN_VIOLATIONS = set()

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')
SOURCE_EXTENSIONS = (".h", ".cc")


def part_of_file(path):
    """The part of a file under src/, include/ or cli/ (path relative to the root)."""
    if path in FILE_PARTS:
        return FILE_PARTS[path]
    if path.startswith("include/loyalty/audit/"):
        return "audit"
    if path.startswith("include/loyalty/"):
        return PUBLIC_PARTS.get(os.path.basename(path))
    if path.startswith("src/"):
        return path.split("/")[1]
    if path.startswith("cli/"):
        return "cli"
    return None


def resolve(root, including, target):
    """The file an include names (relative to the root), or None if not ours."""
    own = os.path.join(os.path.dirname(including), target)
    for candidate in (own, os.path.join("include", target), os.path.join("src", target)):
        if os.path.isfile(os.path.join(root, candidate)):
            return os.path.normpath(candidate)
    return None


def source_files(root):
    for top in ("src", "include", "cli"):
        for folder, _, names in os.walk(os.path.join(root, top)):
            for name in sorted(names):
                if name.endswith(SOURCE_EXTENSIONS):
                    yield os.path.relpath(os.path.join(folder, name), root)


def check(root):
    """Returns (errors, warnings): lists of messages."""
    errors, warnings, seen = [], [], set()
    for path in sorted(source_files(root)):
        from_part = part_of_file(path)
        if from_part is None:
            errors.append(f"{path}: no part; add it to scripts/tidy_includes.py")
            continue
        with open(os.path.join(root, path), encoding="utf-8") as f:
            for number, line in enumerate(f, 1):
                match = INCLUDE.match(line)
                if not match:
                    continue
                message = judge(root, path, from_part, match.group(1))
                if message is None:
                    continue
                where = f"{path}:{number}: {message}"
                if (path, match.group(1)) in KNOWN_VIOLATIONS:
                    seen.add((path, match.group(1)))
                    warnings.append(where + " (known, allowlisted)")
                else:
                    errors.append(where)
    for path, target in sorted(KNOWN_VIOLATIONS - seen):
        warnings.append(f"{path}: no longer includes {target}; remove it from KNOWN_VIOLATIONS")
    return errors, warnings


def judge(root, path, from_part, target):
    """None if the include is allowed, else what is wrong with it."""
    resolved = resolve(root, path, target)
    if resolved is None:
        return None  # a system or third-party header
    to_part = part_of_file(resolved)
    if to_part is None:
        return f"includes {target}, which belongs to no part"
    public_from = path.startswith(("include/", "cli/"))
    if public_from and resolved.startswith("src/"):
        return f"{from_part} -> {to_part}: internal header {target} from a public header or the command line"
    if to_part == from_part or to_part in ALLOWED.get(from_part, set()):
        return None
    return f"{from_part} -> {to_part}: includes {target}"
