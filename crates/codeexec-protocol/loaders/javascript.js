// codeexec's pre-started Node.js: preloaded (`node --require THIS /sandbox/.codeexec-entry`) before
// the job arrives, it deletes its own file, says `ready` on file descriptor 4 and closes it, waits
// for its program's argv on file descriptor 3 (NUL-separated, ending at EOF), and makes the process
// what `node ENTRY ARGS...` would be: process.argv, an empty process.execArgv, no trace of itself
// in require.cache. Node then loads its main module, the placeholder path, which the loader's
// one-shot hooks on the module resolver turn into the entry file (each hook puts the original back
// on its first use), so require.main, stack traces and uncaught errors are Node's own.
'use strict';
{
  const fs = require('fs');
  const path = require('path');
  fs.unlinkSync(__filename);
  const Module = require('module');
  fs.writeSync(4, 'ready\n');
  fs.closeSync(4);
  const argv = fs.readFileSync(3, 'utf8').split('\0');
  fs.closeSync(3);
  const entry = path.resolve(argv[0]);
  const placeholder = process.argv[1];
  process.argv.splice(1, process.argv.length, entry, ...argv.slice(1));
  const { _findPath: findPath, _resolveFilename: resolveFilename } = Module;
  Module._findPath = function (request, ...rest) {
    if (request !== placeholder) return findPath.call(this, request, ...rest);
    Module._findPath = findPath;
    return findPath.call(this, entry, ...rest);
  };
  Module._resolveFilename = function (request, ...rest) {
    if (request !== placeholder) return resolveFilename.call(this, request, ...rest);
    Module._resolveFilename = resolveFilename;
    return resolveFilename.call(this, entry, ...rest);
  };
  process.execArgv.splice(0, process.execArgv.length);
  delete require.cache[__filename];

  // What /proc/self/cmdline (and ps) show: the plain command, written over this process's own
  // argument area when it fits; the area keeps its length, so NUL bytes follow it.
  const stat = fs.readFileSync('/proc/self/stat', 'latin1');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // arg_start and arg_end are fields 48 and 49 of proc(5); the split begins at field 3.
  const start = Number(fields[45]);
  const end = Number(fields[46]);
  const shown = Buffer.from(['node', ...argv].join('\0') + '\0');
  if (shown.length <= end - start) {
    const area = Buffer.alloc(end - start);
    shown.copy(area);
    const memory = fs.openSync('/proc/self/mem', 'r+');
    fs.writeSync(memory, area, 0, area.length, start);
    fs.closeSync(memory);
  }
}
