# The function-length check of scripts/tidy: no function in src/, include/
# or cli/ may be longer than MAX_LINES, counted from the line of its opening
# brace to the line of its closing brace. The functions longer than that
# today are in LONG_FUNCTIONS with their length; each may shrink, never
# grow (a ratchet: lower its number, or drop it, when it gets shorter).
import os
import re

MAX_LINES = 100

# "path:Name" -> the most lines the function may have.
LONG_FUNCTIONS = {
    "src/engine/engine_impl.cc:ExecuteBatchOnce": 105,
    "src/io/program_json.cc:ReadVersion": 102,
}

CLASS_KEYWORD = re.compile(r"\b(class|struct|union|enum)\b")
NAMESPACE_KEYWORD = re.compile(r'\bnamespace\b|\bextern\s*"C"')
NAME_BEFORE_PAREN = re.compile(r"(~?[A-Za-z_]\w*|operator\s*\S+?)\s*(<[^()]*>)?\s*$")


def blank_out(text):
    """The text with comments, string and character literals and preprocessor
    lines replaced by spaces (newlines kept, so line numbers hold)."""
    out, i, n = [], 0, len(text)
    line_start = True
    while i < n:
        c = text[i]
        if line_start and c == "#":
            end = i
            while end < n and (text[end] != "\n" or text[end - 1] == "\\"):
                end += 1
            out.append(re.sub(r"[^\n]", " ", text[i:end]))
            i = end
            continue
        if c == "\n":
            line_start = True
            out.append(c)
            i += 1
            continue
        if not c.isspace():
            line_start = False
        if text.startswith("//", i):
            end = text.find("\n", i)
            end = n if end < 0 else end
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            end = n if end < 0 else end + 2
        elif c == "R" and text.startswith('R"', i) and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")):
            delimiter = text[i + 2:text.find("(", i)]
            end = text.find(")" + delimiter + '"', i) + len(delimiter) + 2
        elif c in "\"'" and not (c == "'" and i > 0 and text[i - 1].isalnum()):
            end = i + 1
            while end < n and text[end] != c:
                end += 2 if text[end] == "\\" else 1
            end += 1
        else:
            out.append(c)
            i += 1
            continue
        out.append(re.sub(r"[^\n]", " ", text[i:end]))
        i = end
    return "".join(out)


def kind_of_block(header):
    """What a brace opens, judged by the text since the last ; { or }."""
    header = " ".join(header.split())
    if NAMESPACE_KEYWORD.search(header):
        return "namespace"
    if ")" in header and not CLASS_KEYWORD.match(header):
        return "function"
    if CLASS_KEYWORD.search(header):
        return "class"
    return "other"


def function_name(header):
    head = header.split("(")[0] if "operator" not in header else header[:header.rfind("(")]
    match = NAME_BEFORE_PAREN.search(head)
    return match.group(1).replace(" ", "") if match else "?"


def functions(text):
    """Yields (name, first line, line count) for each function body at
    namespace or class scope."""
    code = blank_out(text)
    stack = []  # (kind, line of the brace, header)
    header, line, depth = [], 1, 0
    for c in code:
        if c == "\n":
            line += 1
        if c == "{":
            if stack and stack[-1][0] in ("function", "other"):
                stack.append(("inner", line, ""))
                continue
            text_before = "".join(header)
            kind = kind_of_block(text_before) if depth == 0 else "other"
            stack.append((kind, line, text_before))
            if kind != "other":
                header = []
            continue
        if c == "}" and stack:
            kind, first, text_before = stack.pop()
            if kind == "function":
                yield function_name(" ".join(text_before.split())), first, line - first + 1
            if kind in ("function", "namespace", "class"):
                header = []
            elif kind == "other" and (not stack or stack[-1][0] in ("namespace", "class")):
                header.append("{}")
            continue
        if stack and stack[-1][0] in ("function", "other", "inner"):
            continue
        if c == "(":
            depth += 1
        elif c == ")":
            depth = max(0, depth - 1)
        if c == ";" and depth == 0:
            header = []
        else:
            header.append(c)


def source_files(root):
    for top in ("src", "include", "cli"):
        for folder, _, names in os.walk(os.path.join(root, top)):
            for name in sorted(names):
                if name.endswith((".h", ".cc")):
                    yield os.path.relpath(os.path.join(folder, name), root)


def check(root):
    """Returns (errors, warnings, long ones): lists of messages."""
    errors, warnings, long_ones, seen = [], [], [], set()
    for path in sorted(source_files(root)):
        with open(os.path.join(root, path), encoding="utf-8") as f:
            text = f.read()
        for name, first, count in functions(text):
            if count <= MAX_LINES:
                continue
            key = f"{path}:{name}"
            seen.add(key)
            limit = LONG_FUNCTIONS.get(key)
            where = f"{path}:{first}: {name} has {count} lines"
            if limit is None:
                errors.append(f"{where}, more than {MAX_LINES}")
            elif count > limit:
                errors.append(f"{where}, more than the {limit} it is allowed; split it")
            else:
                long_ones.append(f"{where} (allowed {limit})")
                if count < limit:
                    warnings.append(f"{key}: {count} lines; lower its entry in LONG_FUNCTIONS from {limit}")
    for key in sorted(set(LONG_FUNCTIONS) - seen):
        warnings.append(f"{key}: no longer over {MAX_LINES} lines (or gone); remove it from LONG_FUNCTIONS")
    return errors, warnings, long_ones
