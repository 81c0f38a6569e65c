// codeexec-go-build: `go build -ldflags=FLAGS -o OUT FILE...` for a job's flat directory of Go files,
// made cheaper by running the compiler and the linker directly, as `go build` itself would, without
// the go command's own start-up and staleness checks of the standard library, which the image
// holds already built and never changes.
//
// It takes that path only for the common case: one package main, in one directory, importing only
// the installed standard library (no cgo, assembly, embedding or internal packages). Anything else,
// and any compile or link error, is handed to `go build` with the same arguments, so a job sees
// exactly the go command's messages and exit status. The program built is the same: the same
// compiler and linker with the same flags, the source files in the same order and by the same
// absolute paths (as in a panic's trace), and the go command's build information, read once from a
// program it built while the image was made (see -record).
//
// Usage:
//
//	codeexec-go-build [-direct] -ldflags=FLAGS -o OUT FILE...   (-direct: never hand over to go build)
//	codeexec-go-build -record BINARY   (while the image is built: keep BINARY's build information and environment)
package main

import (
	"bytes"
	"debug/buildinfo"
	"encoding/hex"
	"errors"
	"fmt"
	"go/build"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
)

// Where the image keeps what -record made: the standard library's import configuration and the
// go command's build information.
const stateDir = "/usr/local/lib/codeexec/go"

// The markers around build information in a binary, as the go command writes them
// (cmd/go/internal/modload.ModInfoData).
var infoStart, _ = hex.DecodeString("3077af0c9274080241e1c107e6d618e6")
var infoEnd, _ = hex.DecodeString("f932433186182072008242104116d8f2")

func main() {
	args := os.Args[1:]
	if len(args) == 2 && args[0] == "-record" {
		if err := record(args[1]); err != nil {
			fmt.Fprintln(os.Stderr, "codeexec-go-build:", err)
			os.Exit(1)
		}
		return
	}
	direct := len(args) > 0 && args[0] == "-direct"
	if direct {
		args = args[1:]
	}
	err := errors.New("usage: codeexec-go-build [-direct] -ldflags=FLAGS -o OUT FILE...")
	if len(args) >= 4 && strings.HasPrefix(args[0], "-ldflags=") && args[1] == "-o" {
		err = buildDirectly(strings.TrimPrefix(args[0], "-ldflags="), args[2], args[3:])
	}
	if err == nil {
		return
	}
	if direct {
		fmt.Fprintln(os.Stderr, "codeexec-go-build:", err)
		os.Exit(1)
	}
	goBuild(args)
}

// goBuild replaces this process with `go build ARGS...`.
func goBuild(args []string) {
	goCommand, err := exec.LookPath("go")
	if err == nil {
		err = syscall.Exec(goCommand, append([]string{"go", "build"}, args...), os.Environ())
	}
	fmt.Fprintln(os.Stderr, "codeexec-go-build: cannot run go build:", err)
	os.Exit(2)
}

// buildDirectly compiles and links files into out; an error means `go build` should do it.
func buildDirectly(ldflags, out string, files []string) error {
	importcfg, err := os.ReadFile(filepath.Join(stateDir, "importcfg"))
	if err != nil {
		return err
	}
	modinfo, err := os.ReadFile(filepath.Join(stateDir, "modinfo"))
	if err != nil {
		return err
	}
	recorded, err := os.ReadFile(filepath.Join(stateDir, "environment"))
	if err != nil {
		return err
	}
	if now := environment(); string(recorded) != now {
		return fmt.Errorf("the environment is not the one recorded: %q", now)
	}
	// The build information names the linker flags; it must be that of the same flags.
	if !strings.Contains(string(modinfo), "\nbuild\t-ldflags="+ldflags+"\n") || strings.ContainsAny(ldflags, "'\"") {
		return fmt.Errorf("the build information recorded is not that of -ldflags=%s", ldflags)
	}
	pkg, paths, err := mainPackage(files)
	if err != nil {
		return err
	}
	installed := installedPackages(importcfg)
	for _, path := range pkg.Imports {
		if path != "unsafe" && !installed[path] || isInternal(path) {
			return fmt.Errorf("import %q is not an installed standard package", path)
		}
	}
	work, err := os.MkdirTemp("", "codeexec-go-build")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	compileCfg := filepath.Join(work, "importcfg")
	if err := os.WriteFile(compileCfg, importcfg, 0o600); err != nil {
		return err
	}
	linkCfg := filepath.Join(work, "importcfg.link")
	withInfo := append(append([]byte{}, importcfg...), fmt.Sprintf("modinfo %q\n", string(infoStart)+string(modinfo)+string(infoEnd))...)
	if err := os.WriteFile(linkCfg, withInfo, 0o600); err != nil {
		return err
	}
	tools := filepath.Join(runtime.GOROOT(), "pkg", "tool", runtime.GOOS+"_"+runtime.GOARCH)
	archive := filepath.Join(work, "_pkg_.a")
	compile := append([]string{"-o", archive, "-trimpath", work + "=>", "-p", "main", "-complete",
		"-goversion", runtime.Version(), "-nolocalimports", "-importcfg", compileCfg, "-pack"}, paths...)
	if err := quietly(filepath.Join(tools, "compile"), compile...); err != nil {
		return err
	}
	link := append(append([]string{"-o", out, "-importcfg", linkCfg, "-buildmode=exe"}, strings.Fields(ldflags)...), archive)
	return quietly(filepath.Join(tools, "link"), link...)
}

// mainPackage reads files as `go build` reads files named on its command line (every one counts,
// whatever its build constraints) and returns the package they make, with their absolute paths
// in the go command's order.
func mainPackage(files []string) (*build.Package, []string, error) {
	var dir string
	var entries []fs.FileInfo
	for _, file := range files {
		if !strings.HasSuffix(file, ".go") {
			return nil, nil, errors.New("not a .go file")
		}
		info, err := os.Stat(file)
		if err != nil || info.IsDir() {
			return nil, nil, errors.New("not a file")
		}
		abs, err := filepath.Abs(filepath.Dir(file))
		if err != nil || (dir != "" && abs != dir) {
			return nil, nil, errors.New("files in several directories")
		}
		dir = abs
		entries = append(entries, info)
	}
	context := build.Default
	context.UseAllFiles = true
	context.ReadDir = func(string) ([]fs.FileInfo, error) { return entries, nil }
	pkg, err := context.ImportDir(dir, 0)
	if err != nil {
		return nil, nil, err
	}
	if pkg.Name != "main" || len(pkg.GoFiles) == 0 || len(pkg.CgoFiles) > 0 || len(pkg.IgnoredGoFiles) > 0 ||
		len(pkg.InvalidGoFiles) > 0 || len(pkg.SFiles) > 0 || len(pkg.SysoFiles) > 0 || len(pkg.EmbedPatterns) > 0 ||
		len(pkg.TestGoFiles)+len(pkg.XTestGoFiles) > 0 {
		return nil, nil, errors.New("not a plain package main")
	}
	paths := make([]string, len(pkg.GoFiles))
	for i, name := range pkg.GoFiles {
		paths[i] = filepath.Join(dir, name)
	}
	return pkg, paths, nil
}

// The variables that change what the go command builds, or how; the direct way is taken only
// with the values they had when the go command's build was recorded.
var buildVariables = []string{"CGO_ENABLED", "GO111MODULE", "GOFLAGS", "GOEXPERIMENT", "GOOS",
	"GOARCH", "GOAMD64", "GOROOT", "GOTOOLCHAIN", "GOWORK"}

// environment is those variables' values, a NAME=VALUE line each.
func environment() string {
	var lines strings.Builder
	for _, name := range buildVariables {
		fmt.Fprintf(&lines, "%s=%s\n", name, os.Getenv(name))
	}
	return lines.String()
}

// installedPackages lists the packages an import configuration names.
func installedPackages(importcfg []byte) map[string]bool {
	installed := map[string]bool{}
	for _, line := range strings.Split(string(importcfg), "\n") {
		if strings.HasPrefix(line, "packagefile ") {
			path, _, _ := strings.Cut(strings.TrimPrefix(line, "packagefile "), "=")
			installed[path] = true
		}
	}
	return installed
}

// isInternal tells a path that only the standard library itself may import.
func isInternal(path string) bool {
	for _, element := range strings.Split(path, "/") {
		if element == "internal" || element == "vendor" {
			return true
		}
	}
	return false
}

// quietly runs a tool, keeping its output to itself: on failure `go build` says it all again.
func quietly(tool string, args ...string) error {
	var output bytes.Buffer
	command := exec.Command(tool, args...)
	command.Stdout = &output
	command.Stderr = &output
	return command.Run()
}

// record keeps, under stateDir, the installed standard library's import configuration, the
// build information `go build` gave binary, and the environment it was built in.
func record(binary string) error {
	info, err := buildinfo.ReadFile(binary)
	if err != nil {
		return err
	}
	// The version line is the runtime's, added when the information is read, not in the binary's.
	info.GoVersion = ""
	root := filepath.Join(runtime.GOROOT(), "pkg", runtime.GOOS+"_"+runtime.GOARCH)
	var importcfg strings.Builder
	err = filepath.WalkDir(root, func(path string, entry fs.DirEntry, err error) error {
		if err != nil || entry.IsDir() || !strings.HasSuffix(path, ".a") {
			return err
		}
		name := strings.TrimSuffix(strings.TrimPrefix(path, root+"/"), ".a")
		if strings.HasPrefix(name, "cmd/") {
			return nil // the go command's and tools' own packages, which no program may import
		}
		fmt.Fprintf(&importcfg, "packagefile %s=%s\n", name, path)
		return nil
	})
	if err != nil {
		return err
	}
	if importcfg.Len() == 0 {
		return fmt.Errorf("no installed package under %s", root)
	}
	if err := os.MkdirAll(stateDir, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(stateDir, "importcfg"), []byte(importcfg.String()), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(stateDir, "environment"), []byte(environment()), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(stateDir, "modinfo"), []byte(info.String()), 0o644)
}
