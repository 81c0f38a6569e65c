"""Drives the real Judge0 Python SDK (PyPI judge0==0.0.8) against a codeexec service.

Usage: python sdk_check.py ENDPOINT [--quick]. --quick: the client and one run only. Every request the SDK sends is checked to go to ENDPOINT's
host, so it can never fall back to Judge0's hosted service. Exits non-zero naming the first
check that failed; prints one line per check that passed.
"""

import sys

import httpx

ENDPOINT = sys.argv[1]
HOST = httpx.URL(ENDPOINT).host
_send = httpx.Client.send


def _send_to_our_service_only(self, request, *args, **kwargs):
    if request.url.host != HOST:
        raise AssertionError(f"the SDK tried to reach {request.url}, not {ENDPOINT}")
    return _send(self, request, *args, **kwargs)


httpx.Client.send = _send_to_our_service_only

import judge0  # noqa: E402  (after the guard, so that nothing it does escapes it)
from judge0 import LanguageAlias, Status  # noqa: E402

client = judge0.Client(ENDPOINT)
assert client.version == "1.13.1", client.version
assert client.config.max_submission_batch_size >= 2, client.config
print("client: constructed, /languages, /config_info and /about read")
if "--quick" in sys.argv:
    result = judge0.run(client=client, source_code='print("hello")', language=LanguageAlias.PYTHON)
    assert result.status == Status.ACCEPTED and result.stdout == "hello\n", repr(result)
    print("all SDK checks passed")
    sys.exit(0)

HELLO = {
    LanguageAlias.PYTHON: (71, 'print("hello")'),
    LanguageAlias.JAVASCRIPT: (63, 'console.log("hello")'),
    LanguageAlias.RUBY: (72, 'puts "hello"'),
    LanguageAlias.JAVA: (
        62,
        'public class Main { public static void main(String[] a) { System.out.println("hello"); } }',
    ),
    LanguageAlias.GO: (60, 'package main\nimport "fmt"\nfunc main() { fmt.Println("hello") }'),
    LanguageAlias.CPP: (54, '#include <iostream>\nint main() { std::cout << "hello" << std::endl; }'),
}


def check(result, status, what):
    assert result.status == status, f"{what}: {result.status} {result!r}"


for alias, (language_id, code) in HELLO.items():
    for language in (alias, language_id):
        result = judge0.run(client=client, source_code=code, language=language)
        check(result, Status.ACCEPTED, f"hello in {language!r}")
        assert result.stdout == "hello\n", f"{language!r}: {result.stdout!r}"
        assert result.time is not None and result.memory is not None, repr(result)
        assert result.created_at is not None and result.finished_at is not None, repr(result)
    print(f"run: {alias.name} by alias and by id {language_id}: Accepted, hello")

results = judge0.run(
    client=client,
    source_code="print(int(input()) * 2)",
    language=LanguageAlias.PYTHON,
    test_cases=[("2", "4"), ("3", "7"), ("5", "10\n\n")],
)
statuses = [result.status for result in results]
assert statuses == [Status.ACCEPTED, Status.WRONG_ANSWER, Status.ACCEPTED], statuses
print("batch: test cases give Accepted, Wrong Answer, Accepted")

result = judge0.run(client=client, source_code="int main( {", language=LanguageAlias.CPP)
check(result, Status.COMPILATION_ERROR, "compile error")
assert result.compile_output and "error" in result.compile_output, repr(result)
print("compile error: Compilation Error with the compiler's output")

result = judge0.run(
    client=client,
    source_code="while True:\n    pass",
    language=LanguageAlias.PYTHON,
    cpu_time_limit=1,
)
check(result, Status.TIME_LIMIT_EXCEEDED, "endless loop")
print("time limit: Time Limit Exceeded")

result = judge0.run(
    client=client, source_code="raise SystemExit(3)", language=LanguageAlias.PYTHON
)
check(result, Status.RUNTIME_ERROR_NZEC, "exit 3")
assert result.exit_code == 3, repr(result)
print("runtime error: Runtime Error (NZEC), exit code 3")

result = judge0.run(
    client=client,
    source_code="data = 'a' * (400 * 1024 * 1024)\nprint(len(data))",
    language=LanguageAlias.PYTHON,
    memory_limit=65536,
)
check(result, Status.RUNTIME_ERROR_NZEC, "memory bomb")
assert result.exit_code == 137, repr(result)
print("memory limit: Runtime Error (NZEC), exit code 137")
print("all SDK checks passed")
