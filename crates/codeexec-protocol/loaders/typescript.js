// codeexec's pre-started TypeScript compiler: started as `node THIS OPTIONS...` before the job
// arrives, where OPTIONS are the compile command's own (less its source files), it deletes its
// own file, loads tsc's code (the `tsc` command's lib/tsc.js, whose closing call that compiles
// at once is left out) and compiles a small program with OPTIONS in a temporary directory, which
// it then deletes: the standard library's declaration files are now parsed and bound, and stay
// so for the job. It says `ready` and a newline on file descriptor 4, then serves one compile:
//  1. on file descriptor 3 the compile command: the count of arguments, then each argument,
//     every one ending with a NUL byte; the first is the command's name, the rest go to tsc;
//  2. tsc's own command line runs on them, as the `tsc` command would, with one difference: a
//     declaration file of the standard library parsed for the warm-up is not parsed again when
//     the job's options are the warm-up's (tsc binds a file once, by its first options);
//  3. on file descriptor 4 the outcome: tsc's exit code and a newline, then what the `tsc`
//     command would have printed on stdout and on stderr (nothing), each as its byte length, a
//     newline and those bytes.
// Then it ends: the program runs in another Node.js (the one pre-started beside this one, or a
// fresh one), as it would after the `tsc` command.
'use strict';
{
  const fs = require('fs');
  const os = require('os');
  const path = require('path');
  const vm = require('vm');
  fs.unlinkSync(__filename);

  const tscPath = require.resolve('typescript/lib/tsc.js');
  const source = fs.readFileSync(tscPath, 'utf8');
  const launch = 'ts.executeCommandLine(ts.sys, ts.noop, ts.sys.args);';
  const at = source.lastIndexOf(launch);
  if (at < 0 || source.slice(at + launch.length).trim() !== '') {
    throw new Error(`${tscPath} does not end by running its command line as codeexec expects`);
  }
  const wrapped = `(function (require, module, exports, __filename, __dirname) {${source.slice(0, at)}\nreturn ts;\n})`;
  const ts = vm.runInThisContext(wrapped, { filename: tscPath })(
    require, { exports: {} }, {}, tscPath, path.dirname(tscPath));

  // The standard library's declaration files, parsed (and, by the first program that uses them,
  // bound) once, while the options are the warm-up's.
  const libraryDir = path.dirname(tscPath) + path.sep;
  const parsed = new Map();
  let reuseParsed = false;
  const createSourceFile = ts.createSourceFile;
  ts.createSourceFile = function (fileName, text, languageVersion, setParentNodes, scriptKind) {
    if (!reuseParsed || !fileName.startsWith(libraryDir)) {
      return createSourceFile.apply(this, arguments);
    }
    const key = JSON.stringify([fileName, languageVersion, String(languageVersion && languageVersion.setExternalModuleIndicator), !!setParentNodes, scriptKind]);
    let file = parsed.get(key);
    if (file === undefined || file.text !== text) {
      file = createSourceFile.apply(this, arguments);
      parsed.set(key, file);
    }
    return file;
  };

  // Runs tsc's command line on `args` (without the command's name): its exit code and what it
  // printed on stdout.
  const compile = (args) => {
    let printed = '';
    const exited = {};
    let exitCode;
    const system = Object.assign(Object.create(ts.sys), {
      write: (text) => { printed += text; },
      writeOutputIsTTY: () => false,
      exit: (code) => { exitCode = code; throw exited; },
    });
    ts.Debug.loggingHost = { log: (_level, text) => system.write(`${text || ''}${system.newLine}`) };
    try {
      ts.executeCommandLine(system, ts.noop, args);
    } catch (thrown) {
      if (thrown !== exited) throw thrown;
    }
    return { exitCode: exitCode === undefined ? 0 : exitCode, stdout: printed };
  };
  const optionsOf = (args) => JSON.stringify(ts.parseCommandLine(args).options);

  const warmUpOptions = process.argv.slice(2);
  const warmUpDir = fs.mkdtempSync(path.join(os.tmpdir(), '.codeexec-warm-up-'));
  try {
    const file = path.join(warmUpDir, 'warm_up.ts');
    fs.writeFileSync(file, [
      'class Point { constructor(readonly x: number, readonly y: number) {} }',
      'const points: Point[] = [1, 2, 3].map((n) => new Point(n, n * 2));',
      'const byX = new Map<number, Point>(points.map((p) => [p.x, p]));',
      'async function sum(): Promise<number> { return points.reduce((s, p) => s + p.y, 0); }',
      'sum().then((total) => console.log(`${byX.size} ${total} ${JSON.stringify(points)}`));',
      '',
    ].join('\n'));
    reuseParsed = true;
    compile([...warmUpOptions, file]);
  } finally {
    fs.rmSync(warmUpDir, { recursive: true, force: true });
  }

  fs.writeSync(4, 'ready\n');
  const args = readCommand(3).slice(1);
  reuseParsed = optionsOf(args) === optionsOf(warmUpOptions);
  let outcome;
  try {
    outcome = compile(args);
  } catch (error) {
    // tsc itself failed: its error on stderr and exit code 1, as Node ends on an uncaught one.
    outcome = { exitCode: 1, stdout: '', stderr: `${error && error.stack || error}\n` };
  }
  const stdout = Buffer.from(outcome.stdout);
  const stderr = Buffer.from(outcome.stderr || '');
  fs.writeSync(4, Buffer.concat([
    Buffer.from(`${outcome.exitCode}\n${stdout.length}\n`), stdout,
    Buffer.from(`${stderr.length}\n`), stderr,
  ]));
  fs.closeSync(4);

  // The compile command on `fd`: a count, then that many arguments, each ending with a NUL byte.
  function readCommand(fd) {
    const chunk = Buffer.alloc(65536);
    let pending = Buffer.alloc(0);
    const fields = [];
    let wanted;
    while (wanted === undefined || fields.length < wanted + 1) {
      const read = fs.readSync(fd, chunk, 0, chunk.length, null);
      if (read === 0) throw new Error('the control pipe ended early');
      pending = Buffer.concat([pending, chunk.subarray(0, read)]);
      for (let end = pending.indexOf(0); end >= 0; end = pending.indexOf(0)) {
        fields.push(pending.subarray(0, end).toString('utf8'));
        pending = pending.subarray(end + 1);
        if (wanted === undefined) wanted = Number(fields[0]);
      }
    }
    return fields.slice(1);
  }
}
