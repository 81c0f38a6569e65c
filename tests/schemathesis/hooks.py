"""Schemathesis hooks for codeexec: rules of POST /api/v2/execute that JSON Schema cannot state.

The description narrows every field it can (names, limits, file-name rules per language), but
some rules hold across the files of one request, and JSON Schema has no words for them: file
names are unique, at most one file is marked as the entry point, the entry point's code is not
blank, Java's entry point is a .java file (its class is the file's name) and TypeScript's a .ts
file (Node.js runs the .js that tsc makes of it), and no name is both a
file and the folder of another. And the service bounds names and arguments in bytes of UTF-8,
where JSON Schema's maxLength counts characters (the description states the bytes in words): a
name over 255 bytes, an argument over 64 KiB, or arguments over 256 KiB in all. A body breaking
one of them is schema-valid yet rightly answered 400, so it is not generated as positive data.

Judge0's submission POSTs (at the root and under /judge0) have one such rule too: with the query
parameter base64_encoded=true, source_code, stdin and expected_output must be Base64, a rule
that ties a parameter to the body and so has no words in JSON Schema either; the service rightly
answers 422 to a schema-valid body that is not Base64 there.

Piston's execute (under /piston/api/v2 and /api/v2/piston) has such rules too: its `version` must
match the version the engine probes from the image once it runs (so positive bodies ask for `*`
or none), base64 and hex contents must decode to UTF-8 text, the first utf8 file is the one run
(it must exist and not be blank), a language that compiles its sources needs one (the entry
point's default name is one, but which file is the entry point depends on the files' order), and
the cross-file and byte rules of /api/v2/execute hold with Piston's names (`name`, `content`).
Nothing else is filtered: negative data and every other operation reach the service as generated.
"""

import base64
import binascii
import re

import schemathesis

# Rust's char::is_whitespace (Unicode White_Space): what the service trims to decide blankness.
WHITE_SPACE = "".join(
    chr(c)
    for c in [*range(0x09, 0x0E), 0x20, 0x85, 0xA0, 0x1680, *range(0x2000, 0x200B), 0x2028, 0x2029, 0x202F, 0x205F, 0x3000]
)
# The service's byte limits (src/api/request.rs: MAX_ARG_BYTES, MAX_ARGS_TOTAL_BYTES;
# codeexec_engine::FILESYSTEM_NAME_MAX).
MAX_ARG_BYTES = 64 * 1024
MAX_ARGS_TOTAL_BYTES = 256 * 1024
MAX_NAME_BYTES = 255
# Languages whose entry point is run by its stem, by every name and alias (config/default.toml),
# and the extensions their sources take.
ENTRY_BY_STEM = {"java": (".java",), "typescript": (".ts",), "ts": (".ts",), "tsc": (".ts",)}


def utf8_length(text):
    return len(text.encode("utf-8", "surrogatepass"))


def breaks_a_byte_limit(body):
    if not isinstance(body, dict):
        return False
    args = body.get("args")
    if isinstance(args, list) and all(isinstance(arg, str) for arg in args):
        lengths = [utf8_length(arg) for arg in args]
        if any(length > MAX_ARG_BYTES for length in lengths) or sum(lengths) > MAX_ARGS_TOTAL_BYTES:
            return True
    files = body.get("files")
    if isinstance(files, list):
        for file in files:
            name = file.get("filename") if isinstance(file, dict) else None
            if isinstance(name, str) and utf8_length(name) > MAX_NAME_BYTES:
                return True
    return False


def breaks_a_cross_file_rule(body):
    if not isinstance(body, dict) or not isinstance(body.get("files"), list):
        return False
    files = [file for file in body["files"] if isinstance(file, dict)]
    if len(files) != len(body["files"]):
        return False
    names = [file.get("filename") for file in files]
    if len(set(map(repr, names))) != len(names):
        return True
    text_names = {name for name in names if isinstance(name, str)}
    for name in text_names:
        parts = name.split("/")
        if any("/".join(parts[:end]) in text_names for end in range(1, len(parts))):
            return True
    marked = [index for index, file in enumerate(files) if file.get("isEntryPoint") is True]
    if len(marked) > 1:
        return True
    entry = files[marked[0] if marked else 0] if files else None
    if entry is None:
        return False
    code = entry.get("code")
    if isinstance(code, str) and not code.strip(WHITE_SPACE):
        return True
    extensions = ENTRY_BY_STEM.get(str(body.get("language", "")).lower())
    name = entry.get("filename")
    return bool(extensions) and isinstance(name, str) and not name.endswith(extensions)


@schemathesis.hook("filter_case").apply_to(path="/api/v2/execute", method="POST")
def only_bodies_the_schema_would_admit_if_it_could(context, case):
    meta = case.meta
    if meta is not None and not meta.generation.mode.is_positive:
        return True
    return not breaks_a_cross_file_rule(case.body) and not breaks_a_byte_limit(case.body)


@schemathesis.hook("filter_case").apply_to(path="/api/v1/execute", method="POST")
def only_arguments_within_the_byte_limits(context, case):
    meta = case.meta
    if meta is not None and not meta.generation.mode.is_positive:
        return True
    return not breaks_a_byte_limit(case.body)


def asks_for_base64(case):
    return isinstance(case.query, dict) and case.query.get("base64_encoded") == "true"


@schemathesis.hook("filter_case").apply_to(path_regex=r"^(/judge0)?/submissions(/batch)?$", method="POST")
def only_base64_bodies_when_base64_is_asked(context, case):
    meta = case.meta
    if meta is not None and not meta.generation.mode.is_positive:
        return True
    return not asks_for_base64(case)


# Piston's names and aliases of the languages whose entry point is run by its stem.
PISTON_ENTRY_BY_STEM = {"java": (".java",), "typescript": (".ts",), "ts": (".ts",), "tsc": (".ts",), "node-ts": (".ts",)}
# Piston's names and aliases (src/piston/runtimes.rs) of the languages whose compile command takes
# every source file ({sources} in config/default.toml), with their source extensions: a job needs
# one. (Java and TypeScript are held to it by their entry point's rule above.)
PISTON_COMPILES_SOURCES = {
    **{name: (".go",) for name in ("go", "golang")},
    **{name: (".cpp", ".cc", ".cxx") for name in ("c++", "cpp", "g++")},
    **{name: (".c",) for name in ("c", "gcc")},
    **{name: (".f90", ".f95", ".f03", ".f08", ".f") for name in ("fortran", "f90")},
    **{name: (".ml",) for name in ("ocaml", "ml")},
}


def piston_decoded(file):
    """The file's text as the service decodes it, or None when it would refuse it. Only canonical
    base64 and hex are taken here, stricter than the service, so no body it refuses passes."""
    content, encoding = file.get("content"), file.get("encoding")
    if not isinstance(content, str):
        return None
    try:
        if encoding == "base64":
            raw = base64.b64decode(content, validate=True)
            if base64.b64encode(raw).decode() != content:
                return None
        elif encoding == "hex":
            if not re.fullmatch(r"(?:[0-9a-fA-F]{2})*", content):
                return None
            raw = bytes.fromhex(content)
        else:
            return content
        return raw.decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None


def breaks_a_piston_rule(body):
    if not isinstance(body, dict):
        return False
    if body.get("version") not in (None, "*"):
        return True
    files = body.get("files")
    if not isinstance(files, list) or not all(isinstance(file, dict) for file in files):
        return False
    texts = [piston_decoded(file) for file in files]
    if any(text is None for text in texts):
        return True
    code = [index for index, file in enumerate(files) if file.get("encoding") in (None, "utf8")]
    if not code or not texts[code[0]].strip(WHITE_SPACE):
        return True
    entry = code[0]
    names = [file.get("name") or (None if index == entry else f"file{index}.code") for index, file in enumerate(files)]
    language = str(body.get("language", "")).lower()
    extensions = PISTON_ENTRY_BY_STEM.get(language)
    if extensions and names[entry] is not None and not names[entry].endswith(extensions):
        return True
    sources = PISTON_COMPILES_SOURCES.get(language)
    if sources and names[entry] is not None and not any(isinstance(name, str) and name.endswith(sources) for name in names):
        return True
    given = [name for name in names if isinstance(name, str)]
    if len(set(given)) != len(given):
        return True
    for name in given:
        parts = name.split("/")
        if any(utf8_length(part) > MAX_NAME_BYTES - 1 for part in parts) or utf8_length(name) > MAX_NAME_BYTES:
            return True
        if any("/".join(parts[:end]) in given for end in range(1, len(parts))):
            return True
    return breaks_a_byte_limit({"args": body.get("args")})


@schemathesis.hook("filter_case").apply_to(path_regex=r"^(/piston/api/v2|/api/v2/piston)/execute$", method="POST")
def only_piston_jobs_the_service_can_run(context, case):
    meta = case.meta
    if meta is not None and not meta.generation.mode.is_positive:
        return True
    return not breaks_a_piston_rule(case.body)
