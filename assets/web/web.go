package web

import (
	"embed"
	"io/fs"
	"net/http"
	"path"
	"strings"
)

//go:embed static
var static embed.FS

// FS returns the static tree: bridge/pos-bridge.js, bridge/commerce-pos.js,
// demo/ and display/.
func FS() fs.FS {
	sub, err := fs.Sub(static, "static")
	if err != nil { // cannot happen: "static" is embedded above
		panic(err)
	}
	return sub
}

// Paths served by the handlers, for callers that mount them on a mux.
const (
	BridgePath  = "/bridge/" // pos-bridge.js and commerce-pos.js, POS listener
	DemoPath    = "/demo/"   // demo cashier page, POS listener, demo mode only
	DisplayPath = "/display" // web display page, display listener
)

// pagePolicy keeps pages to their own origin: scripts, styles and sockets
// come only from the agent that served them, and nothing may frame them.
// 'self' covers ws:// to the same host in CSP level 3 browsers;
// manifest-src lets a tablet add the web display to its home screen.
const pagePolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; manifest-src 'self'; " +
	"connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// POSHandler serves the bridge scripts under /bridge/ and, when demo is true,
// the demo cashier page under /demo/. Mount it on the POS listener for both
// prefixes. The bridge scripts are sent with CORS and Private Network Access
// headers because a POS page on another origin imports them as ES modules.
func POSHandler(demo bool) http.Handler {
	files := http.FileServerFS(FS())
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		switch {
		case strings.HasPrefix(p, BridgePath):
			if !allowedMethod(w, r) {
				return
			}
			h := w.Header()
			h.Set("Access-Control-Allow-Origin", "*")
			h.Set("Access-Control-Allow-Private-Network", "true")
			h.Set("X-Content-Type-Options", "nosniff")
			h.Set("Cache-Control", "no-cache")
			if r.Method == http.MethodOptions {
				h.Set("Access-Control-Allow-Methods", "GET")
				w.WriteHeader(http.StatusNoContent)
				return
			}
			if strings.HasSuffix(p, "/") {
				http.NotFound(w, r)
				return
			}
			files.ServeHTTP(w, r)
		case demo && (p == "/demo" || strings.HasPrefix(p, DemoPath)):
			if p == "/demo" {
				http.Redirect(w, r, DemoPath, http.StatusMovedPermanently)
				return
			}
			if !allowedMethod(w, r) {
				return
			}
			pageHeaders(w)
			files.ServeHTTP(w, r)
		default:
			http.NotFound(w, r)
		}
	})
}

// DisplayHandler serves the web display: /display is the page and
// /display/* its script and style sheet. The page reads its register and
// display token from the URL fragment (#register=..&token=..), which the
// browser never sends to the server, so tokens stay out of access logs.
func DisplayHandler() http.Handler {
	files := http.FileServerFS(FS())
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := path.Clean(r.URL.Path)
		if p != DisplayPath && !strings.HasPrefix(p, DisplayPath+"/") {
			http.NotFound(w, r)
			return
		}
		if !allowedMethod(w, r) {
			return
		}
		pageHeaders(w)
		if p == DisplayPath || p == DisplayPath+"/index.html" {
			// Serve the page itself without FileServer's redirect to the
			// directory form, so /display stays the stable URL.
			b, err := fs.ReadFile(FS(), "display/index.html")
			if err != nil {
				http.Error(w, "display page missing", http.StatusInternalServerError)
				return
			}
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Header().Set("Cache-Control", "no-cache")
			_, _ = w.Write(b)
			return
		}
		files.ServeHTTP(w, r)
	})
}

func allowedMethod(w http.ResponseWriter, r *http.Request) bool {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return true
	}
	w.Header().Set("Allow", "GET, HEAD, OPTIONS")
	http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	return false
}

func pageHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Security-Policy", pagePolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cache-Control", "no-cache")
}
