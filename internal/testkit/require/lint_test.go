package require

import (
	"bufio"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
)

// goFile is one parsed Go file of the module.
type goFile struct {
	rel  string // slash path from the module root
	fset *token.FileSet
	file *ast.File
	src  []string // lines, for the skip-ok comments
}

// moduleFiles parses every Go file of the module (testdata, hidden and
// out/ directories left out).
func moduleFiles(t *testing.T) (root string, files []goFile) {
	t.Helper()
	root = ModuleRoot(t)
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if path != root && (name == "testdata" || name == "out" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(name, ".go") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, path, b, parser.ParseComments)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		files = append(files, goFile{filepath.ToSlash(rel), fset, f, strings.Split(string(b), "\n")})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 100 {
		t.Fatalf("found only %d Go files under %s: wrong root?", len(files), root)
	}
	return root, files
}

// skipOK reports whether line (1-based) or the line above it carries a
// "skip-ok:" comment, which marks a skip that is not about a requirement.
func (g goFile) skipOK(line int) bool {
	for _, l := range []int{line - 1, line - 2} {
		if l >= 0 && l < len(g.src) && strings.Contains(g.src[l], "// skip-ok:") {
			return true
		}
	}
	return false
}

// isCall reports whether e calls pkg.name (pkg "" matches any receiver).
func isCall(e ast.Expr, pkg string, names ...string) bool {
	c, ok := e.(*ast.CallExpr)
	if !ok {
		return false
	}
	sel, ok := c.Fun.(*ast.SelectorExpr)
	if !ok || !slices.Contains(names, sel.Sel.Name) {
		return false
	}
	if pkg == "" {
		return true
	}
	id, ok := sel.X.(*ast.Ident)
	return ok && id.Name == pkg
}

// contains reports whether any node under n satisfies f.
func contains(n ast.Node, f func(ast.Node) bool) bool {
	found := false
	ast.Inspect(n, func(m ast.Node) bool {
		if found || m == nil {
			return false
		}
		if f(m) {
			found = true
		}
		return !found
	})
	return found
}

// TestSkipsGoThroughRequire keeps the rule that makes CI prove what it
// claims: a test whose requirement (root, a TAP, QEMU, a Debian tool, the
// toolchain) is missing must end through this package, which fails it
// under CI=true. Outside this package a t.Skip is allowed only under
// testing.Short() (CI never sets -short), in a benchmark (a *testing.B,
// which make test does not run), or with a "// skip-ok: why" comment on
// the line above, for a skip that is not about a requirement.
// The race detector's skips use NoRace, which make norace makes up for.
// In test files, an exec.LookPath whose failure neither fails the test
// nor goes through this package would silently drop a check, and is
// reported too.
func TestSkipsGoThroughRequire(t *testing.T) {
	_, files := moduleFiles(t)
	var bad []string
	for _, g := range files {
		if strings.HasPrefix(g.rel, "internal/testkit/require/") {
			continue
		}
		report := func(n ast.Node, msg string) {
			bad = append(bad, g.fset.Position(n.Pos()).String()+": "+msg)
		}
		// The if statements under which each node sits.
		var stack []ast.Node
		ast.Inspect(g.file, func(n ast.Node) bool {
			if n == nil {
				stack = stack[:len(stack)-1]
				return true
			}
			stack = append(stack, n)
			if e, ok := n.(ast.Expr); ok && isCall(e, "", "Skip", "Skipf", "SkipNow") {
				line := g.fset.Position(n.Pos()).Line
				if !underShort(stack) && !g.skipOK(line) && !onBenchmark(stack, e.(*ast.CallExpr)) {
					report(n, "t.Skip outside internal/testkit/require: a missing requirement must use require.Missing, Root, TUN, Commands or Toolchain (they fail under CI=true); the race detector require.NoRace; a skip that is no requirement needs a \"// skip-ok: why\" comment above it")
				}
			}
			if ifs, ok := n.(*ast.IfStmt); ok && strings.HasSuffix(g.rel, "_test.go") && lookPathIf(ifs) {
				line := g.fset.Position(n.Pos()).Line
				if !g.skipOK(line) && !contains(ifs, failsOrRequires) {
					report(n, "exec.LookPath without a failure or a require call: a missing tool would silently drop a check (use require.Commands first)")
				}
			}
			return true
		})
	}
	if len(bad) > 0 {
		t.Errorf("%d skip sites bypass internal/testkit/require:\n%s", len(bad), strings.Join(bad, "\n"))
	}
}

// onBenchmark reports whether call's receiver is a *testing.B parameter
// of an enclosing function: benchmarks are not part of make test, and
// the benchmark harness reports what it skipped itself.
func onBenchmark(stack []ast.Node, call *ast.CallExpr) bool {
	id, ok := call.Fun.(*ast.SelectorExpr).X.(*ast.Ident)
	if !ok {
		return false
	}
	for i := len(stack) - 1; i >= 0; i-- {
		var ft *ast.FuncType
		switch f := stack[i].(type) {
		case *ast.FuncLit:
			ft = f.Type
		case *ast.FuncDecl:
			ft = f.Type
		default:
			continue
		}
		for _, fld := range ft.Params.List {
			for _, name := range fld.Names {
				if name.Name != id.Name {
					continue
				}
				star, ok := fld.Type.(*ast.StarExpr)
				if !ok {
					return false
				}
				sel, ok := star.X.(*ast.SelectorExpr)
				if !ok {
					return false
				}
				pkg, ok := sel.X.(*ast.Ident)
				return ok && pkg.Name == "testing" && sel.Sel.Name == "B"
			}
		}
	}
	return false
}

// underShort reports whether the innermost node of stack sits in the body
// of an if statement whose condition calls testing.Short().
func underShort(stack []ast.Node) bool {
	for i := len(stack) - 2; i >= 0; i-- {
		ifs, ok := stack[i].(*ast.IfStmt)
		if !ok || stack[i+1] != ifs.Body {
			continue
		}
		if contains(ifs.Cond, func(n ast.Node) bool {
			e, ok := n.(ast.Expr)
			return ok && isCall(e, "testing", "Short")
		}) {
			return true
		}
	}
	return false
}

// lookPathIf reports whether the if statement's init or condition calls
// exec.LookPath.
func lookPathIf(ifs *ast.IfStmt) bool {
	isLookPath := func(n ast.Node) bool {
		e, ok := n.(ast.Expr)
		return ok && isCall(e, "exec", "LookPath")
	}
	return (ifs.Init != nil && contains(ifs.Init, isLookPath)) || contains(ifs.Cond, isLookPath)
}

// failsOrRequires matches a call that fails the test or goes through
// this package.
func failsOrRequires(n ast.Node) bool {
	e, ok := n.(ast.Expr)
	if !ok {
		return false
	}
	if isCall(e, "", "Fatal", "Fatalf", "Error", "Errorf", "FailNow") {
		return true
	}
	c, ok := e.(*ast.CallExpr)
	if !ok {
		return false
	}
	sel, ok := c.Fun.(*ast.SelectorExpr)
	if !ok {
		return false
	}
	id, ok := sel.X.(*ast.Ident)
	return ok && id.Name == "require"
}

// TestNoRaceCovered checks that the Makefile's norace target (NORACE_PKGS,
// NORACE_RUN) runs every test that calls NoRace or FullSize, and nothing
// more, so a test that skips or shrinks under the race detector cannot
// be forgotten.
func TestNoRaceCovered(t *testing.T) {
	root, files := moduleFiles(t)
	want := map[string][]string{} // package dir (./x/y) -> tests
	var bad []string
	for _, g := range files {
		if !strings.HasSuffix(g.rel, "_test.go") {
			continue
		}
		dir := "./" + filepath.ToSlash(filepath.Dir(g.rel))
		for _, d := range g.file.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || fn.Body == nil {
				continue
			}
			calls := contains(fn.Body, func(n ast.Node) bool {
				e, ok := n.(ast.Expr)
				return ok && isCall(e, "require", "NoRace", "FullSize")
			})
			if !calls {
				continue
			}
			if !strings.HasPrefix(fn.Name.Name, "Test") || fn.Recv != nil {
				bad = append(bad, g.fset.Position(fn.Pos()).String()+": require.NoRace and FullSize must be called in the test function itself, so make norace can name it")
				continue
			}
			want[dir] = append(want[dir], fn.Name.Name)
		}
	}
	pkgs, run := makeVar(t, root, "NORACE_PKGS"), makeVar(t, root, "NORACE_RUN")
	re, err := regexp.Compile(run)
	if err != nil {
		t.Fatalf("NORACE_RUN %q: %v", run, err)
	}
	listed := strings.Fields(pkgs)
	var dirs, names []string
	for dir, tests := range want {
		dirs = append(dirs, dir)
		names = append(names, tests...)
		if !slices.Contains(listed, dir) {
			bad = append(bad, "NORACE_PKGS lacks "+dir)
		}
		for _, name := range tests {
			if !re.MatchString(name) {
				bad = append(bad, "NORACE_RUN does not match "+dir+" "+name)
			}
		}
	}
	for _, dir := range listed {
		if want[dir] == nil {
			bad = append(bad, "NORACE_PKGS lists "+dir+", which has no test calling require.NoRace")
		}
	}
	if len(want) == 0 {
		t.Fatal("no test calls require.NoRace: is the parser looking at the module?")
	}
	if len(bad) > 0 {
		sort.Strings(dirs)
		sort.Strings(names)
		t.Errorf("the norace target does not match the tests that skip under the race detector:\n%s\nMakefile:\nNORACE_PKGS := %s\nNORACE_RUN := ^(%s)$$",
			strings.Join(bad, "\n"), strings.Join(dirs, " "), strings.Join(names, "|"))
	}
}

// makeVar returns the value of "NAME := value" in the Makefile at root.
func makeVar(t *testing.T, root, name string) string {
	t.Helper()
	f, err := os.Open(filepath.Join(root, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" := "); ok {
			return strings.TrimSpace(v)
		}
	}
	t.Fatalf("Makefile has no %q line", name+" := ")
	return ""
}
