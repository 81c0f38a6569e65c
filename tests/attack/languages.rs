//! The languages added after the original six, one entry each: the programs their tests run
//! (`tests/sandbox/languages.rs`) and the attacks the hostile suite runs in them. Adding a
//! language to the tests is adding its entry here.

/// One language's programs. Each prints exactly what its test expects, so that a wrong
/// toolchain, a wrong command line or a lost stream shows as a wrong output.
pub struct LanguageCase {
    /// The language's name in the config.
    pub language: &'static str,
    /// Prints `hello` and a newline.
    pub hello: &'static str,
    /// Reads stdin and arguments: see [`Echo`].
    pub echo: Echo,
    /// Files of a program in two (or more) files printing `hi there`, and which one is the entry.
    /// `None` where the language has no modules of its own files.
    pub two_files: Option<TwoFiles>,
    /// A program the compiler refuses, and a part of the compiler's message about it. `None` for
    /// languages without a compile stage.
    pub compile_error: Option<(&'static str, &'static str)>,
    /// Fails with the exit code given and, on stderr, the text given (`before` where the program
    /// chooses its message).
    pub runtime_error: (&'static str, i64, &'static str),
    /// Starts processes without end, ignoring every failure.
    pub fork_bomb: &'static str,
    /// Loops without end.
    pub endless_loop: &'static str,
    /// Allocates and touches memory without end.
    pub memory_bomb: &'static str,
}

/// A program reading its stdin (`from-stdin` and a newline) and its arguments.
pub struct Echo {
    pub code: &'static str,
    pub args: &'static [&'static str],
    pub output: &'static str,
}

impl Echo {
    /// Prints the first line of stdin, then each of the arguments `first` and `two words`,
    /// separated by single spaces.
    const fn standard(code: &'static str) -> Echo {
        Echo {
            code,
            args: &["first", "two words"],
            output: "from-stdin first two words\n",
        }
    }
}

pub struct TwoFiles {
    pub files: &'static [(&'static str, &'static str)],
    pub entry: &'static str,
}

pub const CASES: &[LanguageCase] = &[
    LanguageCase {
        language: "c",
        hello: "#include <stdio.h>\nint main(void) { puts(\"hello\"); return 0; }\n",
        echo: Echo::standard("#include <stdio.h>\n#include <string.h>\nint main(int c, char **v) {\n  char s[100] = \"\"; fgets(s, sizeof s, stdin); s[strcspn(s, \"\\n\")] = 0;\n  printf(\"%s\", s); for (int i = 1; i < c; i++) printf(\" %s\", v[i]); printf(\"\\n\"); return 0; }\n"),
        two_files: Some(TwoFiles {
            files: &[
                ("main.c", "#include <stdio.h>\n#include \"greet.h\"\nint main(void) { printf(\"%s\\n\", greet()); return 0; }\n"),
                ("greet.h", "const char *greet(void);\n"),
                ("greet.c", "#include \"greet.h\"\nconst char *greet(void) { return \"hi there\"; }\n"),
            ],
            entry: "main.c",
        }),
        compile_error: Some(("int main(void) { return missing_name; }\n", "missing_name")),
        runtime_error: ("#include <stdio.h>\nint main(void) { fprintf(stderr, \"before\\n\"); return 3; }\n", 3, "before"),
        fork_bomb: "#include <unistd.h>\nint main(void) { for (;;) fork(); }\n",
        endless_loop: "int main(void) { for (;;) { } }\n",
        memory_bomb: "#include <stdlib.h>\n#include <string.h>\nint main(void) { for (;;) { char *p = malloc(10000000); if (p) memset(p, 1, 10000000); } }\n",
    },
    LanguageCase {
        language: "bash",
        hello: "echo hello\n",
        echo: Echo::standard("read -r line\necho \"$line\" \"$@\"\n"),
        two_files: Some(TwoFiles {
            files: &[
                ("main.sh", "source ./greet.sh\ngreet\n"),
                ("greet.sh", "greet() { echo 'hi there'; }\n"),
            ],
            entry: "main.sh",
        }),
        compile_error: None,
        runtime_error: ("echo before >&2\nexit 3\n", 3, "before"),
        fork_bomb: "while :; do sleep 600 & done 2>/dev/null\n",
        endless_loop: "while :; do :; done\n",
        memory_bomb: "x=xxxxxxxxxxxxxxxx\nwhile :; do x=$x$x; done\n",
    },
    LanguageCase {
        language: "lua",
        hello: "print('hello')\n",
        echo: Echo::standard("local line = io.read('l')\nprint(table.concat({line, ...}, ' '))\n"),
        two_files: Some(TwoFiles {
            files: &[
                ("main.lua", "local greet = require('greet')\nprint(greet())\n"),
                ("greet.lua", "return function() return 'hi there' end\n"),
            ],
            entry: "main.lua",
        }),
        compile_error: None,
        runtime_error: ("io.stderr:write('before\\n')\nos.exit(3)\n", 3, "before"),
        fork_bomb: "while true do pcall(io.popen, 'sleep 600') end\n",
        endless_loop: "while true do end\n",
        memory_bomb: "local t = {}\nwhile true do t[#t + 1] = string.rep('x', 10000000) .. #t end\n",
    },
    LanguageCase {
        language: "perl",
        hello: "print \"hello\\n\";\n",
        echo: Echo::standard("my $line = <STDIN>;\nchomp $line;\nprint join(' ', $line, @ARGV), \"\\n\";\n"),
        two_files: Some(TwoFiles {
            files: &[
                ("main.pl", "use strict;\nuse Greet;\nprint Greet::greet(), \"\\n\";\n"),
                ("Greet.pm", "package Greet;\nsub greet { return 'hi there'; }\n1;\n"),
            ],
            entry: "main.pl",
        }),
        compile_error: None,
        runtime_error: ("print STDERR \"before\\n\";\nexit 3;\n", 3, "before"),
        fork_bomb: "while (1) { fork(); }\n",
        endless_loop: "while (1) { }\n",
        memory_bomb: "my @chunks;\nwhile (1) { push @chunks, 'x' x 10_000_000; }\n",
    },
    LanguageCase {
        language: "php",
        hello: "<?php\necho \"hello\\n\";\n",
        echo: Echo::standard("<?php\n$line = trim(fgets(STDIN));\necho implode(' ', array_merge([$line], array_slice($argv, 1))), \"\\n\";\n"),
        two_files: Some(TwoFiles {
            files: &[
                ("main.php", "<?php\nrequire __DIR__ . '/greet.php';\necho greet(), \"\\n\";\n"),
                ("greet.php", "<?php\nfunction greet() { return 'hi there'; }\n"),
            ],
            entry: "main.php",
        }),
        compile_error: None,
        runtime_error: ("<?php\nfwrite(STDERR, \"before\\n\");\nexit(3);\n", 3, "before"),
        fork_bomb: "<?php\nwhile (true) { @proc_open('sleep 600', [], $pipes); }\n",
        endless_loop: "<?php\nwhile (true) { }\n",
        memory_bomb: "<?php\n$chunks = [];\nwhile (true) { $chunks[] = str_repeat('x', 10000000) . count($chunks); }\n",
    },
    LanguageCase {
        language: "sqlite",
        hello: "SELECT 'hello';\n",
        // SQL reads no stdin: the script's own shell command does. The sqlite3 shell runs its
        // arguments after the database's name as SQL, after the script.
        echo: Echo {
            code: ".shell read -r line; echo \"$line\"\n",
            args: &["SELECT 'first' || ' ' || 'two words';"],
            output: "from-stdin\nfirst two words\n",
        },
        two_files: Some(TwoFiles {
            files: &[
                ("main.sql", ".read greet.sql\nSELECT greeting FROM greetings;\n"),
                ("greet.sql", "CREATE TABLE greetings (greeting TEXT);\nINSERT INTO greetings VALUES ('hi there');\n"),
            ],
            entry: "main.sql",
        }),
        compile_error: None,
        runtime_error: ("SELECT * FROM missing_table;\n", 1, "no such table: missing_table"),
        // Through bash: dash, the sqlite3 shell's /bin/sh, exits at the first fork that fails.
        fork_bomb: ".shell bash -c 'while :; do sleep 600 & done' 2>/dev/null\n",
        endless_loop: "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c;\n",
        memory_bomb: "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT group_concat(randomblob(1000000)) FROM c;\n",
    },
    LanguageCase {
        language: "typescript",
        hello: "const greeting: string = 'hello';\nconsole.log(greeting);\n",
        echo: Echo::standard("declare const process: any;\ndeclare function require(name: string): any;\nconst line: string = require('fs').readFileSync(0, 'utf8').split('\\n')[0];\nconsole.log([line, ...process.argv.slice(2)].join(' '));\n"),
        two_files: Some(TwoFiles {
            files: &[
                ("main.ts", "import { greet } from './greet';\nconsole.log(greet());\n"),
                ("greet.ts", "export function greet(): string { return 'hi there'; }\n"),
            ],
            entry: "main.ts",
        }),
        compile_error: Some(("const n: number = 'not a number';\nconsole.log(n);\n", "not assignable to type 'number'")),
        runtime_error: ("declare const process: any;\nconsole.error('before');\nprocess.exit(3);\n", 3, "before"),
        fork_bomb: "declare function require(name: string): any;\ndeclare function setImmediate(callback: () => void): void;\nconst { spawn } = require('child_process');\nfunction bomb(): void {\n  try { spawn('sleep', ['600'], { stdio: 'ignore' }).on('error', () => {}); } catch (e) {}\n  setImmediate(bomb);\n}\nbomb();\n",
        endless_loop: "while (true) {}\n",
        memory_bomb: "declare const Buffer: any;\nconst chunks: unknown[] = [];\nwhile (true) chunks.push(Buffer.alloc(10_000_000, 1));\n",
    },
    LanguageCase {
        language: "rust",
        hello: "fn main() {\n    println!(\"hello\");\n}\n",
        echo: Echo::standard("use std::io::BufRead;\nfn main() {\n    let mut line = String::new();\n    std::io::stdin().lock().read_line(&mut line).unwrap();\n    let mut words = vec![line.trim_end().to_string()];\n    words.extend(std::env::args().skip(1));\n    println!(\"{}\", words.join(\" \"));\n}\n"),
        two_files: Some(TwoFiles {
            files: &[
                ("main.rs", "mod greet;\nfn main() {\n    println!(\"{}\", greet::greet());\n}\n"),
                ("greet.rs", "pub fn greet() -> &'static str {\n    \"hi there\"\n}\n"),
            ],
            entry: "main.rs",
        }),
        compile_error: Some(("fn main() {\n    let n: i32 = \"text\";\n}\n", "mismatched types")),
        runtime_error: ("fn main() {\n    eprintln!(\"before\");\n    std::process::exit(3);\n}\n", 3, "before"),
        fork_bomb: "fn main() {\n    loop {\n        let _ = std::process::Command::new(\"sleep\").arg(\"600\").spawn();\n    }\n}\n",
        endless_loop: "fn main() {\n    loop {}\n}\n",
        memory_bomb: "fn main() {\n    let mut chunks = Vec::new();\n    loop {\n        chunks.push(vec![1u8; 10_000_000]);\n    }\n}\n",
    },
    LanguageCase {
        language: "fortran",
        hello: "program hello\n  print '(a)', 'hello'\nend program hello\n",
        echo: Echo::standard("program echo\n  character(len=100) :: line, arg\n  character(len=400) :: out\n  integer :: i\n  read (*, '(a)') line\n  out = trim(line)\n  do i = 1, command_argument_count()\n    call get_command_argument(i, arg)\n    out = trim(out) // ' ' // trim(arg)\n  end do\n  print '(a)', trim(out)\nend program echo\n"),
        two_files: Some(TwoFiles {
            files: &[
                ("greet.f90", "module greet\ncontains\n  function greeting() result(text)\n    character(len=8) :: text\n    text = 'hi there'\n  end function greeting\nend module greet\n"),
                ("main.f90", "program main\n  use greet\n  print '(a)', greeting()\nend program main\n"),
            ],
            entry: "main.f90",
        }),
        compile_error: Some(("program broken\n  integer :: n\n  n = 'text'\nend program broken\n", "Cannot convert")),
        runtime_error: ("program fails\n  use iso_fortran_env, only: error_unit\n  write (error_unit, '(a)') 'before'\n  error stop 3\nend program fails\n", 3, "before"),
        fork_bomb: "program bomb\n  integer :: exit_status, command_status\n  do\n    call execute_command_line('sleep 600', wait=.false., exitstat=exit_status, cmdstat=command_status)\n  end do\nend program bomb\n",
        endless_loop: "program spin\n  integer(8) :: n\n  n = 0\n  do\n    n = n + 1\n    if (n < 0) print *, n\n  end do\nend program spin\n",
        memory_bomb: "program hog\n  type chunk\n    integer(1), allocatable :: bytes(:)\n  end type chunk\n  type(chunk) :: chunks(100000)\n  integer :: i\n  do i = 1, size(chunks)\n    allocate(chunks(i)%bytes(10000000))\n    chunks(i)%bytes = 1\n  end do\n  print *, chunks(1)%bytes(1)\nend program hog\n",
    },
    LanguageCase {
        language: "pascal",
        hello: "program Hello;\nbegin\n  WriteLn('hello');\nend.\n",
        echo: Echo::standard("program Echo;\nvar line: string; i: integer;\nbegin\n  ReadLn(line);\n  Write(line);\n  for i := 1 to ParamCount do Write(' ', ParamStr(i));\n  WriteLn;\nend.\n"),
        two_files: Some(TwoFiles {
            files: &[
                ("main.pas", "program Main;\nuses Greet;\nbegin\n  WriteLn(Greeting);\nend.\n"),
                ("greet.pas", "unit Greet;\ninterface\nfunction Greeting: string;\nimplementation\nfunction Greeting: string;\nbegin\n  Greeting := 'hi there';\nend;\nend.\n"),
            ],
            entry: "main.pas",
        }),
        compile_error: Some(("program Broken;\nbegin\n  MissingName;\nend.\n", "MissingName")),
        runtime_error: ("program Fails;\nbegin\n  WriteLn(StdErr, 'before');\n  Halt(3);\nend.\n", 3, "before"),
        fork_bomb: "program Bomb;\nuses BaseUnix;\nbegin\n  while true do FpFork;\nend.\n",
        endless_loop: "program Spin;\nbegin\n  while true do ;\nend.\n",
        memory_bomb: "program Hog;\nvar p: Pointer;\nbegin\n  while true do\n  begin\n    GetMem(p, 10000000);\n    FillChar(p^, 10000000, 1);\n  end;\nend.\n",
    },
    LanguageCase {
        language: "ocaml",
        hello: "let () = print_endline \"hello\"\n",
        echo: Echo::standard("let () =\n  let line = input_line stdin in\n  let args = List.tl (Array.to_list Sys.argv) in\n  print_endline (String.concat \" \" (line :: args))\n"),
        two_files: Some(TwoFiles {
            files: &[
                ("greet.ml", "let greeting () = \"hi there\"\n"),
                ("main.ml", "let () = print_endline (Greet.greeting ())\n"),
            ],
            entry: "main.ml",
        }),
        compile_error: Some(("let () = print_endline 42\n", "has type int")),
        runtime_error: ("let () =\n  prerr_endline \"before\";\n  exit 3\n", 3, "before"),
        fork_bomb: "let () =\n  while true do\n    ignore (Sys.command \"sleep 600 &\")\n  done\n",
        endless_loop: "let () =\n  let n = ref 0 in\n  while true do incr n done\n",
        memory_bomb: "let () =\n  let chunks = ref [] in\n  while true do chunks := Bytes.make 10_000_000 'x' :: !chunks done\n",
    },
    LanguageCase {
        language: "erlang",
        hello: "main(_) ->\n    io:format(\"hello~n\").\n",
        echo: Echo::standard("main(Args) ->\n    Line = string:trim(io:get_line(\"\"), trailing, \"\\n\"),\n    io:format(\"~s~n\", [lists:join(\" \", [Line | Args])]).\n"),
        two_files: Some(TwoFiles {
            files: &[
                ("main.erl", "main(_) ->\n    io:format(\"~s~n\", [greet:greeting()]).\n"),
                ("greet.erl", "-module(greet).\n-export([greeting/0]).\ngreeting() -> \"hi there\".\n"),
            ],
            entry: "main.erl",
        }),
        compile_error: None,
        runtime_error: ("main(_) ->\n    io:format(standard_error, \"before~n\", []),\n    halt(3).\n", 3, "before"),
        fork_bomb: "main(_) -> bomb().\nbomb() ->\n    catch open_port({spawn, \"sleep 600\"}, []),\n    bomb().\n",
        endless_loop: "main(_) -> spin(0).\nspin(N) -> spin(N + 1).\n",
        memory_bomb: "main(_) -> hog([]).\nhog(Chunks) -> hog([binary:copy(<<1>>, 10000000) | Chunks]).\n",
    },
    LanguageCase {
        language: "haskell",
        hello: "main :: IO ()\nmain = putStrLn \"hello\"\n",
        echo: Echo::standard("import System.Environment (getArgs)\nmain :: IO ()\nmain = do\n  line <- getLine\n  args <- getArgs\n  putStrLn (unwords (line : args))\n"),
        two_files: Some(TwoFiles {
            files: &[
                ("main.hs", "import Greet (greeting)\nmain :: IO ()\nmain = putStrLn greeting\n"),
                ("Greet.hs", "module Greet (greeting) where\ngreeting :: String\ngreeting = \"hi there\"\n"),
            ],
            entry: "main.hs",
        }),
        compile_error: Some(("main :: IO ()\nmain = putStrLn (1 + True)\n", "Couldn't match type")),
        runtime_error: ("import System.Exit\nimport System.IO\nmain :: IO ()\nmain = do\n  hPutStrLn stderr \"before\"\n  exitWith (ExitFailure 3)\n", 3, "before"),
        fork_bomb: "import Control.Exception\nimport Control.Monad\nimport System.Process\nmain :: IO ()\nmain = forever (try (spawnCommand \"sleep 600\") :: IO (Either SomeException ProcessHandle))\n",
        endless_loop: "main :: IO ()\nmain = loop 0\n  where\n    loop :: Int -> IO ()\n    loop n = n `seq` loop (n + 1)\n",
        memory_bomb: "import qualified Data.ByteString as B\nimport Control.Monad\nmain :: IO ()\nmain = go []\n  where\n    go chunks = do\n      let chunk = B.replicate 10000000 (fromIntegral (length chunks))\n      B.length chunk `seq` go (chunk : chunks)\n",
    },
    LanguageCase {
        language: "elixir",
        hello: "IO.puts(\"hello\")\n",
        echo: Echo::standard("line = IO.gets(\"\") |> String.trim_trailing(\"\\n\")\nIO.puts(Enum.join([line | System.argv()], \" \"))\n"),
        two_files: Some(TwoFiles {
            files: &[
                ("main.exs", "Code.require_file(\"greet.exs\", __DIR__)\nIO.puts(Greet.greeting())\n"),
                ("greet.exs", "defmodule Greet do\n  def greeting, do: \"hi there\"\nend\n"),
            ],
            entry: "main.exs",
        }),
        compile_error: None,
        runtime_error: ("IO.puts(:stderr, \"before\")\nSystem.halt(3)\n", 3, "before"),
        fork_bomb: "Stream.repeatedly(fn -> try do Port.open({:spawn, \"sleep 600\"}, []) rescue _ -> nil end end) |> Stream.run()\n",
        endless_loop: "defmodule Spin do\n  def loop(n), do: loop(n + 1)\nend\nSpin.loop(0)\n",
        memory_bomb: "Stream.iterate([], fn chunks -> [:binary.copy(<<1>>, 10_000_000) | chunks] end) |> Stream.run()\n",
    },
    LanguageCase {
        language: "r",
        hello: "cat(\"hello\\n\")\n",
        echo: Echo::standard("line <- readLines(file(\"stdin\"), n = 1)\ncat(paste(c(line, commandArgs(trailingOnly = TRUE)), collapse = \" \"), \"\\n\", sep = \"\")\n"),
        two_files: Some(TwoFiles {
            files: &[
                ("main.R", "source(\"greet.R\")\ncat(greeting(), \"\\n\", sep = \"\")\n"),
                ("greet.R", "greeting <- function() \"hi there\"\n"),
            ],
            entry: "main.R",
        }),
        compile_error: None,
        runtime_error: ("cat(\"before\\n\", file = stderr())\nquit(status = 3)\n", 3, "before"),
        fork_bomb: "repeat try(system(\"sleep 600\", wait = FALSE), silent = TRUE)\n",
        endless_loop: "n <- 0\nrepeat n <- n + 1\n",
        memory_bomb: "chunks <- list()\nrepeat chunks[[length(chunks) + 1]] <- runif(1250000)\n",
    },
];

/// The entry of `language` in [`CASES`].
pub fn case(language: &str) -> Option<&'static LanguageCase> {
    CASES.iter().find(|case| case.language == language)
}
