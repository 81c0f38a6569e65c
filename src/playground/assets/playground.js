// The codeexec playground: pick a language, edit one or more files, give stdin and arguments,
// run them through POST /api/v2/execute and show the result. The whole state lives in the URL
// fragment, so a link reproduces it.
"use strict";

(function () {
  const HELLO = {
    python: [["main.py", 'import sys\n\nname = sys.stdin.readline().strip() or "World"\nprint(f"Hello, {name}!")\n']],
    javascript: [["main.js", 'const name = require("fs").readFileSync(0, "utf8").trim() || "World";\nconsole.log(`Hello, ${name}!`);\n']],
    java: [["Main.java", 'import java.util.Scanner;\n\npublic class Main {\n    public static void main(String[] args) {\n        Scanner in = new Scanner(System.in);\n        String name = in.hasNextLine() ? in.nextLine() : "World";\n        System.out.println("Hello, " + name + "!");\n    }\n}\n']],
    go: [["main.go", 'package main\n\nimport (\n\t"bufio"\n\t"fmt"\n\t"os"\n)\n\nfunc main() {\n\tname := "World"\n\tscanner := bufio.NewScanner(os.Stdin)\n\tif scanner.Scan() && scanner.Text() != "" {\n\t\tname = scanner.Text()\n\t}\n\tfmt.Printf("Hello, %s!\\n", name)\n}\n']],
    cpp: [["main.cpp", '#include <iostream>\n#include <string>\n\nint main() {\n    std::string name;\n    if (!std::getline(std::cin, name) || name.empty()) name = "World";\n    std::cout << "Hello, " << name << "!" << std::endl;\n}\n']],
    ruby: [["main.rb", 'name = $stdin.gets&.strip\nname = "World" if name.nil? || name.empty?\nputs "Hello, #{name}!"\n']],
    // The languages added later start from a plain hello world.
    c: [["main.c", '#include <stdio.h>\n\nint main(void) {\n    printf("Hello, World!\\n");\n    return 0;\n}\n']],
    bash: [["main.sh", 'echo "Hello, World!"\n']],
    lua: [["main.lua", 'print("Hello, World!")\n']],
    perl: [["main.pl", 'print "Hello, World!\\n";\n']],
    php: [["main.php", '<?php\necho "Hello, World!\\n";\n']],
    sqlite: [["main.sql", "SELECT 'Hello, World!';\n"]],
    typescript: [["main.ts", 'const greeting: string = "Hello, World!";\nconsole.log(greeting);\n']],
    rust: [["main.rs", 'fn main() {\n    println!("Hello, World!");\n}\n']],
    fortran: [["main.f90", "program hello\n  print '(a)', 'Hello, World!'\nend program hello\n"]],
    pascal: [["main.pas", "program Hello;\nbegin\n  WriteLn('Hello, World!');\nend.\n"]],
    ocaml: [["main.ml", 'let () = print_endline "Hello, World!"\n']],
    erlang: [["main.erl", 'main(_) ->\n    io:format("Hello, World!~n").\n']],
    haskell: [["main.hs", 'main :: IO ()\nmain = putStrLn "Hello, World!"\n']],
    elixir: [["main.exs", 'IO.puts("Hello, World!")\n']],
    r: [["main.R", 'cat("Hello, World!\\n")\n']],
  };
  const MODES = {
    python: "python", javascript: "javascript", java: "text/x-java", go: "go", cpp: "text/x-c++src", ruby: "ruby",
    c: "text/x-csrc", typescript: "text/typescript",
  };
  const EXTENSIONS = {
    python: ".py", javascript: ".js", java: ".java", go: ".go", cpp: ".cpp", ruby: ".rb", c: ".c", bash: ".sh",
    lua: ".lua", perl: ".pl", php: ".php", sqlite: ".sql", typescript: ".ts", rust: ".rs", fortran: ".f90",
    pascal: ".pas", ocaml: ".ml", erlang: ".erl", haskell: ".hs", elixir: ".exs", r: ".R",
  };
  const STATUS_TEXT = {
    succeeded: "Succeeded", compile_error: "Compile error", runtime_error: "Runtime error",
    time_limit_exceeded: "Time limit exceeded", memory_limit_exceeded: "Memory limit exceeded",
    output_limit_exceeded: "Output limit exceeded", internal_error: "Internal error",
  };

  const $ = (id) => document.getElementById(id);
  const ui = {
    language: $("language"), hello: $("hello"), run: $("run"), tabs: $("tabs"), addFile: $("add-file"),
    filename: $("filename"), entry: $("entry"), removeFile: $("remove-file"), stdin: $("stdin"), args: $("args"),
    status: $("status"), error: $("error"), timings: $("timings"), compileSection: $("compile-section"),
    compileOutput: $("compile-output"), stdout: $("stdout"), stderr: $("stderr"), panel: $("editor-panel"),
  };

  let state = { language: "python", files: [], active: 0, stdin: "", args: [] };
  let languages = [];
  let retryTimer = null;
  let running = false;

  const editor = CodeMirror.fromTextArea($("code"), {
    lineNumbers: true, indentUnit: 4, matchBrackets: true, viewportMargin: Infinity,
    extraKeys: { "Ctrl-Enter": run, "Cmd-Enter": run, Tab: false, "Shift-Tab": false },
  });
  editor.getInputField().setAttribute("aria-label", "Code");
  editor.getInputField().id = "code-input";

  function helloFiles(language) {
    return (HELLO[language] || [["main" + (EXTENSIONS[language] || ".txt"), ""]]).map(([filename, code], i) => ({ filename, code, entry: i === 0 }));
  }

  // --- The URL fragment: base64url of the JSON state, so a link reproduces it. ---
  function encodeState() {
    const json = JSON.stringify({ l: state.language, f: state.files.map((f) => [f.filename, f.code, f.entry ? 1 : 0]), a: state.active, i: state.stdin, g: state.args });
    const bytes = new TextEncoder().encode(json);
    let binary = "";
    bytes.forEach((b) => { binary += String.fromCharCode(b); });
    return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  function decodeState(fragment) {
    try {
      const binary = atob(fragment.replace(/-/g, "+").replace(/_/g, "/"));
      const json = new TextDecoder().decode(Uint8Array.from(binary, (c) => c.charCodeAt(0)));
      const saved = JSON.parse(json);
      if (typeof saved.l !== "string" || !Array.isArray(saved.f) || saved.f.length === 0) return null;
      return {
        language: saved.l,
        files: saved.f.map(([filename, code, entry]) => ({ filename: String(filename), code: String(code), entry: entry === 1 })),
        active: Math.min(Math.max(0, saved.a | 0), saved.f.length - 1),
        stdin: typeof saved.i === "string" ? saved.i : "",
        args: Array.isArray(saved.g) ? saved.g.map(String) : [],
      };
    } catch (_) {
      return null;
    }
  }
  let saveTimer = null;
  function save() {
    clearTimeout(saveTimer);
    saveTimer = setTimeout(() => history.replaceState(null, "", "#" + encodeState()), 150);
  }

  // --- Files and tabs ---
  function renderTabs() {
    ui.tabs.textContent = "";
    state.files.forEach((file, index) => {
      const tab = document.createElement("button");
      tab.type = "button";
      tab.setAttribute("role", "tab");
      tab.id = "tab-" + index;
      tab.setAttribute("aria-controls", "editor-panel");
      const selected = index === state.active;
      tab.setAttribute("aria-selected", String(selected));
      tab.tabIndex = selected ? 0 : -1;
      tab.textContent = file.filename || "(unnamed)";
      if (file.entry) {
        const mark = document.createElement("span");
        mark.className = "entry-mark";
        mark.textContent = "▶";
        mark.title = "entry point";
        tab.append(mark);
        tab.setAttribute("aria-label", (file.filename || "unnamed") + ", entry point");
      }
      tab.addEventListener("click", () => selectFile(index));
      tab.addEventListener("keydown", (event) => {
        const step = { ArrowRight: 1, ArrowLeft: -1 }[event.key];
        if (step) {
          event.preventDefault();
          selectFile((index + step + state.files.length) % state.files.length);
          $("tab-" + state.active).focus();
        }
      });
      ui.tabs.append(tab);
    });
    ui.panel.setAttribute("aria-labelledby", "tab-" + state.active);
    ui.removeFile.disabled = state.files.length < 2;
  }
  function selectFile(index) {
    state.active = index;
    const file = state.files[index];
    ui.filename.value = file.filename;
    ui.entry.checked = file.entry;
    editor.setValue(file.code);
    editor.setOption("mode", MODES[state.language] || null);
    editor.clearHistory();
    renderTabs();
    save();
  }
  function loadFiles(files) {
    state.files = files;
    selectFile(Math.min(state.active, files.length - 1));
  }

  editor.on("change", () => {
    const file = state.files[state.active];
    if (file && file.code !== editor.getValue()) {
      file.code = editor.getValue();
      save();
    }
  });
  ui.filename.addEventListener("input", () => {
    state.files[state.active].filename = ui.filename.value;
    renderTabs();
    save();
  });
  ui.entry.addEventListener("change", () => {
    state.files.forEach((file, index) => { file.entry = ui.entry.checked && index === state.active; });
    if (!state.files.some((file) => file.entry)) state.files[0].entry = true;
    ui.entry.checked = state.files[state.active].entry;
    renderTabs();
    save();
  });
  ui.addFile.addEventListener("click", () => {
    const extension = EXTENSIONS[state.language] || "";
    let n = state.files.length + 1;
    while (state.files.some((f) => f.filename === "file" + n + extension)) n += 1;
    state.files.push({ filename: "file" + n + extension, code: "", entry: false });
    selectFile(state.files.length - 1);
    ui.filename.focus();
    ui.filename.select();
  });
  ui.removeFile.addEventListener("click", () => {
    if (state.files.length < 2) return;
    const removed = state.files.splice(state.active, 1)[0];
    if (removed.entry) state.files[0].entry = true;
    selectFile(Math.max(0, state.active - 1));
  });
  ui.stdin.addEventListener("input", () => { state.stdin = ui.stdin.value; save(); });
  ui.args.addEventListener("input", () => {
    state.args = ui.args.value === "" ? [] : ui.args.value.split("\n");
    save();
  });
  ui.language.addEventListener("change", () => {
    const before = helloFiles(state.language);
    const untouched = state.files.length === before.length && state.files.every((f, i) => f.filename === before[i].filename && f.code === before[i].code);
    state.language = ui.language.value;
    if (untouched) {
      state.active = 0;
      loadFiles(helloFiles(state.language));
    } else {
      editor.setOption("mode", MODES[state.language] || null);
      save();
    }
  });
  ui.hello.addEventListener("click", () => {
    state.active = 0;
    loadFiles(helloFiles(state.language));
  });
  ui.run.addEventListener("click", run);
  document.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      run();
    }
  });

  // --- Running ---
  function setStatus(text, kind) {
    ui.status.textContent = text;
    ui.status.dataset.state = kind;
  }
  function showError(text) {
    ui.error.textContent = text;
    ui.error.hidden = !text;
  }
  function clearOutput() {
    ui.stdout.textContent = "";
    ui.stderr.textContent = "";
    ui.compileOutput.textContent = "";
    ui.compileSection.hidden = true;
    ui.timings.hidden = true;
    showError("");
  }
  function seconds(value) {
    return value < 1 ? Math.round(value * 1000) + " ms" : value.toFixed(2) + " s";
  }
  function showTimings(timings) {
    const parts = [["queue", "Queue", timings.queue], ["compile", "Compile", timings.compile], ["run", "Run", timings.run]];
    const total = parts.reduce((sum, [, , value]) => sum + value, 0) || 1;
    const bar = ui.timings.querySelector(".bar");
    const legend = ui.timings.querySelector(".legend");
    bar.textContent = "";
    legend.textContent = "";
    for (const [key, label, value] of parts) {
      const span = document.createElement("span");
      span.className = key;
      span.style.width = (100 * value / total) + "%";
      span.title = label + ": " + seconds(value);
      bar.append(span);
      const item = document.createElement("div");
      const dt = document.createElement("dt");
      dt.className = key;
      dt.textContent = label;
      const dd = document.createElement("dd");
      dd.id = "timing-" + key;
      dd.textContent = seconds(value);
      item.append(dt, dd);
      legend.append(item);
    }
    const item = document.createElement("div");
    const dt = document.createElement("dt");
    dt.textContent = "Total";
    const dd = document.createElement("dd");
    dd.id = "timing-total";
    dd.textContent = seconds(timings.total);
    item.append(dt, dd);
    legend.append(item);
    ui.timings.hidden = false;
  }
  function waitAndRetry(retryAfter, what) {
    let left = Math.max(1, retryAfter | 0);
    ui.run.disabled = true;
    const tick = () => {
      if (left <= 0) {
        clearInterval(retryTimer);
        retryTimer = null;
        ui.run.disabled = false;
        setStatus(what + " You can run again now.", "refused");
        return;
      }
      setStatus(what + " You can run again in " + left + " s.", "refused");
      left -= 1;
    };
    clearInterval(retryTimer);
    tick();
    retryTimer = setInterval(tick, 1000);
  }

  async function run() {
    if (running || retryTimer || ui.run.disabled) return false;
    running = true;
    ui.run.disabled = true;
    clearOutput();
    setStatus("Running…", "running");
    const files = state.files.map((f) => ({ filename: f.filename, code: f.code, isEntryPoint: f.entry }));
    const body = { language: state.language, files, stdin: state.stdin, args: state.args };
    try {
      const response = await fetch("/api/v2/execute", {
        method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body),
      });
      const retryAfter = Number(response.headers.get("retry-after") || "1");
      let answer = null;
      try { answer = await response.json(); } catch (_) { /* not JSON: handled below */ }
      if (response.status === 200 && answer && answer.result) {
        showResult(answer.result);
      } else if (response.status === 429) {
        showError((answer && answer.errorMessage) || "Too many requests.");
        running = false;
        waitAndRetry(retryAfter, "You have sent too many programs in a short time.");
        return false;
      } else if (response.status === 503) {
        showError((answer && answer.errorMessage) || "The service is busy.");
        running = false;
        waitAndRetry(retryAfter, "The service is busy right now.");
        return false;
      } else {
        setStatus("The request was refused (" + response.status + ")", "failed");
        showError((answer && answer.errorMessage) || "The service answered " + response.status + ".");
      }
    } catch (error) {
      setStatus("The service could not be reached", "failed");
      showError(String(error));
    }
    running = false;
    ui.run.disabled = false;
    return false;
  }

  function showResult(result) {
    const label = STATUS_TEXT[result.runTimeStatus] || result.runTimeStatus;
    const details = [];
    if (result.exitCode !== null && result.exitCode !== undefined) details.push("exit code " + result.exitCode);
    if (result.signal) details.push("signal " + result.signal);
    details.push(result.memoryUsage + " peak memory");
    setStatus(label + " · " + details.join(" · "), result.runTimeStatus === "succeeded" ? "succeeded" : "failed");
    ui.status.dataset.runTimeStatus = result.runTimeStatus;
    ui.stdout.textContent = result.stdout;
    ui.stderr.textContent = result.stderr;
    const compilerSaid = result.compile ? [result.compile.stdout, result.compile.stderr].filter(Boolean).join("\n") : "";
    ui.compileOutput.textContent = compilerSaid;
    ui.compileSection.hidden = compilerSaid === "";
    if (result.runTimeStatus !== "succeeded" && result.errorMessage && result.runTimeStatus !== "compile_error") {
      showError(result.errorMessage);
    }
    if (result.truncated) showError((ui.error.textContent ? ui.error.textContent + " " : "") + "Output was cut at the limit.");
    showTimings(result.timings);
  }

  // "openjdk version "17.0.19" 2026-04-21" → "17.0.19"; the whole string stays in the title.
  function shortVersion(version) {
    const match = /\d+\.\d+(\.\d+)?/.exec(version);
    return match ? match[0] : version;
  }

  // --- Start: the languages, then the state from the fragment or a hello world. ---
  async function start() {
    const saved = decodeState(location.hash.slice(1));
    try {
      const response = await fetch("/api/v1/languages");
      const answer = await response.json();
      languages = answer.languages || [];
    } catch (error) {
      setStatus("The list of languages could not be loaded", "failed");
      showError(String(error));
      return;
    }
    ui.language.textContent = "";
    for (const language of languages) {
      const option = document.createElement("option");
      option.value = language.name;
      option.textContent = language.displayName + (language.version ? " " + shortVersion(language.version) : "");
      option.title = language.version || "version not known yet";
      ui.language.append(option);
    }
    if (saved && languages.some((l) => l.name === saved.language)) {
      state = saved;
    } else {
      state.language = languages.some((l) => l.name === "python") ? "python" : (languages[0] || {}).name;
      state.files = helloFiles(state.language);
    }
    ui.language.value = state.language;
    ui.stdin.value = state.stdin;
    ui.args.value = state.args.join("\n");
    ui.language.disabled = false;
    ui.run.disabled = false;
    loadFiles(state.files);
    document.body.dataset.ready = "true";
  }
  start();
})();
