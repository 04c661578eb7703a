package protocol_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/gorilla/websocket"
)

// closeCodes are gorilla/websocket's close code constants by name.
var closeCodes = map[string]int{
	"CloseNormalClosure":           websocket.CloseNormalClosure,
	"CloseGoingAway":               websocket.CloseGoingAway,
	"CloseProtocolError":           websocket.CloseProtocolError,
	"CloseUnsupportedData":         websocket.CloseUnsupportedData,
	"CloseNoStatusReceived":        websocket.CloseNoStatusReceived,
	"CloseAbnormalClosure":         websocket.CloseAbnormalClosure,
	"CloseInvalidFramePayloadData": websocket.CloseInvalidFramePayloadData,
	"ClosePolicyViolation":         websocket.ClosePolicyViolation,
	"CloseMessageTooBig":           websocket.CloseMessageTooBig,
	"CloseMandatoryExtension":      websocket.CloseMandatoryExtension,
	"CloseInternalServerErr":       websocket.CloseInternalServerErr,
	"CloseServiceRestart":          websocket.CloseServiceRestart,
	"CloseTryAgainLater":           websocket.CloseTryAgainLater,
	"CloseTLSHandshake":            websocket.CloseTLSHandshake,
}

// codeValue is what an error code looks like (not CodeAlphabet).
var codeValue = regexp.MustCompile(`^[a-z][a-z_]*$`)

// TestDocumentsEverythingTheAgentSends reads the agent's source (register/,
// without tests and the load-test tools) for every close code it writes and
// every error code it can send, and checks that docs/protocol.md has a table
// row for each. gorilla/websocket itself closes with 1009 over the read
// limit, which the agent sets.
func TestDocumentsEverythingTheAgentSends(t *testing.T) {
	doc, err := os.ReadFile("../../docs/protocol.md")
	if err != nil {
		t.Fatal(err)
	}
	// Error code constants, by package and name: Code* = "value".
	values := map[string]string{}
	sent := map[string]string{}                                      // error code → where
	closes := map[int]string{1009: "gorilla/websocket's read limit"} // close code → where
	fset := token.NewFileSet()
	var files []*ast.File
	err = filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "loadtest" || d.Name() == "testdata" || strings.HasSuffix(d.Name(), "test") && d.Name() != "..") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		files = append(files, f)
		for _, decl := range f.Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok || gd.Tok != token.CONST {
				continue
			}
			for _, spec := range gd.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, name := range vs.Names {
					if !strings.HasPrefix(name.Name, "Code") || i >= len(vs.Values) {
						continue
					}
					if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
						if v, _ := strconv.Unquote(lit.Value); codeValue.MatchString(v) {
							values[f.Name.Name+"."+name.Name] = v
						}
					}
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		ast.Inspect(f, func(n ast.Node) bool {
			var pkg, name string
			switch x := n.(type) {
			case *ast.SelectorExpr:
				id, ok := x.X.(*ast.Ident)
				if !ok {
					return true
				}
				pkg, name = id.Name, x.Sel.Name
			case *ast.Ident:
				pkg, name = f.Name.Name, x.Name
			default:
				return true
			}
			where := fset.Position(n.Pos()).String()
			if pkg == "websocket" {
				if c, ok := closeCodes[name]; ok {
					closes[c] = where
				}
				return true
			}
			if v, ok := values[pkg+"."+name]; ok && strings.HasPrefix(name, "Code") {
				sent[v] = where
			}
			return true
		})
	}
	if len(sent) < 12 || len(closes) < 4 {
		t.Fatalf("found %d error codes and %d close codes in the source; the scan is broken", len(sent), len(closes))
	}
	var missing []string
	for code, where := range sent {
		if !regexp.MustCompile("(?m)^\\| `" + regexp.QuoteMeta(code) + "` \\|").Match(doc) {
			missing = append(missing, "error code "+code+" (used at "+where+")")
		}
	}
	for code, where := range closes {
		if !regexp.MustCompile(`(?m)^\| ` + strconv.Itoa(code) + ` \|`).Match(doc) {
			missing = append(missing, "close code "+strconv.Itoa(code)+" (used at "+where+")")
		}
	}
	sort.Strings(missing)
	for _, m := range missing {
		t.Errorf("docs/protocol.md has no table row for %s", m)
	}
}
