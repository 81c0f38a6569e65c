# codeexec's pre-started Python: started with `python3 -u -c` before the job arrives, it says
# `ready` on file descriptor 4 and closes it, waits for its program's argv on file descriptor 3
# (NUL-separated, ending at EOF), then runs the entry file as `python3 -u ENTRY ARGS...` would: as
# `__main__`, with the same sys.argv, sys.path[0], sys.orig_argv and main-module attributes, and
# uncaught exceptions printed without this loader's frames. It imports nothing that the interpreter
# has not loaded at start-up, and leaves no name behind (it imports inside its one function, which
# deletes its own name).


def _codeexec_run():
    import os
    import sys
    os.write(4, b"ready\n")
    os.close(4)
    with open(3, "rb") as control:
        argv = [os.fsdecode(part) for part in control.read().split(b"\0")]
    entry = argv[0]
    path = os.path.abspath(entry)
    main = sys.modules["__main__"]
    names = main.__dict__
    for name in list(names):
        if name not in ("__name__", "__builtins__", "__annotations__", "_show_command_line"):
            del names[name]
    names.update(
        __doc__=None,
        __package__=None,
        __spec__=None,
        __file__=path,
        __cached__=None,
        __loader__=sys.modules["_frozen_importlib_external"].SourceFileLoader("__main__", path),
    )
    sys.argv[:] = argv
    sys.orig_argv[:] = sys.orig_argv[: sys.orig_argv.index("-c")] + argv
    names.pop("_show_command_line")(sys.orig_argv)
    sys.path[0] = os.path.dirname(path)
    with open(path, "rb") as source:
        code = compile(source.read(), path, "exec")
    try:
        exec(code, names)
    except SystemExit:
        raise
    except BaseException as error:
        # As the interpreter reports an uncaught exception, less this frame.
        error = error.with_traceback(error.__traceback__.tb_next)
        sys.excepthook(type(error), error, error.__traceback__)
        sys.exit(1)


def _show_command_line(argv):
    # What /proc/self/cmdline (and ps) show: the plain command, written over this process's
    # own argument area, the loader's text, when it fits; the area keeps its length, so NUL
    # bytes follow it.
    with open("/proc/self/stat", "rb") as stat:
        fields = stat.read().rsplit(b")", 1)[1].split()
    # arg_start and arg_end are fields 48 and 49 of proc(5); the split begins at field 3.
    start, end = int(fields[45]), int(fields[46])
    shown = b"\0".join(part.encode("utf-8", "surrogateescape") for part in argv) + b"\0"
    if len(shown) <= end - start:
        with open("/proc/self/mem", "r+b", buffering=0) as memory:
            memory.seek(start)
            memory.write(shown.ljust(end - start, b"\0"))


_codeexec_run()
