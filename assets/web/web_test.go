package web

import (
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"path"
	"slices"
	"strings"
	"testing"
)

func TestHandlers(t *testing.T) {
	pos := httptest.NewServer(POSHandler(true))
	defer pos.Close()
	posNoDemo := httptest.NewServer(POSHandler(false))
	defer posNoDemo.Close()
	disp := httptest.NewServer(DisplayHandler())
	defer disp.Close()

	tests := []struct {
		name       string
		base       string
		method     string
		path       string
		wantStatus int
		wantHeader map[string]string
		wantBody   string
	}{
		{"bridge module", pos.URL, "GET", "/bridge/pos-bridge.js", 200,
			map[string]string{"Access-Control-Allow-Origin": "*", "Content-Type": "text/javascript; charset=utf-8"}, "export function connect"},
		{"adapter module", pos.URL, "GET", "/bridge/commerce-pos.js", 200,
			map[string]string{"Access-Control-Allow-Origin": "*"}, "export function start"},
		{"bridge preflight", pos.URL, "OPTIONS", "/bridge/pos-bridge.js", 204,
			map[string]string{"Access-Control-Allow-Private-Network": "true"}, ""},
		{"bridge listing refused", pos.URL, "GET", "/bridge/", 404, nil, ""},
		{"bridge post refused", pos.URL, "POST", "/bridge/pos-bridge.js", 405, nil, ""},
		{"demo page", pos.URL, "GET", "/demo/", 200,
			map[string]string{"Content-Security-Policy": pagePolicy}, "Demo cashier"},
		{"demo off", posNoDemo.URL, "GET", "/demo/", 404, nil, ""},
		{"display on POS listener", pos.URL, "GET", "/display", 404, nil, ""},
		{"display page", disp.URL, "GET", "/display", 200,
			map[string]string{"Content-Security-Policy": pagePolicy, "X-Frame-Options": "DENY"}, "Customer display"},
		{"display script", disp.URL, "GET", "/display/display.js", 200, nil, "applyOps"},
		{"bridge not on display listener", disp.URL, "GET", "/bridge/pos-bridge.js", 404, nil, ""},
		{"display traversal", disp.URL, "GET", "/display/../demo/index.html", 404, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, tt.base+tt.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			body, _ := io.ReadAll(res.Body)
			if res.StatusCode != tt.wantStatus {
				t.Fatalf("status: got %d, want %d (%s)", res.StatusCode, tt.wantStatus, body)
			}
			for k, v := range tt.wantHeader {
				if got := res.Header.Get(k); got != v {
					t.Errorf("%s: got %q, want %q", k, got, v)
				}
			}
			if tt.wantBody != "" && !strings.Contains(string(body), tt.wantBody) {
				t.Errorf("body does not contain %q", tt.wantBody)
			}
		})
	}
}

func TestNoThirdPartyReferences(t *testing.T) {
	// Pages must load nothing from the internet: no http(s) URL other than
	// loopback appears in any served file.
	// Every served text file, so that a new one is covered by itself.
	var names []string
	err := fs.WalkDir(FS(), ".", func(name string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && slices.Contains([]string{".html", ".js", ".css", ".json"}, path.Ext(name)) {
			names = append(names, name)
		}
		return err
	})
	if err != nil || len(names) < 12 {
		t.Fatalf("served files: %v (%d found)", err, len(names))
	}
	for _, name := range names {
		b, err := readStatic(name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		s := string(b)
		for _, scheme := range []string{"http://", "https://", "//fonts.", "@import"} {
			for i := strings.Index(s, scheme); i >= 0; {
				rest := s[i+len(scheme):]
				if !strings.HasPrefix(rest, "127.0.0.1") && !strings.HasPrefix(rest, "localhost") && !strings.HasPrefix(rest, "\" + ") {
					t.Errorf("%s: external reference near %q", name, truncate(s[i:], 60))
				}
				j := strings.Index(rest, scheme)
				if j < 0 {
					break
				}
				i += len(scheme) + j
			}
		}
		if strings.Contains(s, "innerHTML") && !strings.HasSuffix(name, ".css") {
			t.Errorf("%s: uses innerHTML; POS text must go through textContent", name)
		}
	}
}

func readStatic(name string) ([]byte, error) {
	f, err := FS().Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(f)
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
