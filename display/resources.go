package display

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"fyne.io/fyne/v2"

	"github.com/posdisplay/posdisplay/assets/brand"
)

// maxAsset bounds one logo, font or promotion file: a 4K PNG is well under.
const maxAsset = 16 << 20

// maxPromos bounds how many promotion images are kept in memory.
const maxPromos = 24

// readAsset reads a whole file of at most maxAsset bytes into a resource.
func readAsset(path string) (fyne.Resource, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxAsset+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if len(b) > maxAsset {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, maxAsset)
	}
	return fyne.NewStaticResource(filepath.Base(path), b), nil
}

// loadLogo returns the configured logo, or the built-in one.
func loadLogo(path string) (fyne.Resource, error) {
	if path == "" {
		return fyne.NewStaticResource(brand.LogoName, brand.LogoSVG), nil
	}
	return readAsset(path)
}

// loadPromos reads the promotion images of dir once, in name order. Files
// that cannot be read are logged and skipped: one bad file must not blank the
// idle screen.
func loadPromos(dir string, log *slog.Logger) []fyne.Resource {
	if dir == "" {
		return nil
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		log.Warn("promotion folder unreadable", "dir", dir, "err", err)
		return nil
	}
	var names []string
	for _, e := range entries {
		switch strings.ToLower(filepath.Ext(e.Name())) {
		case ".png", ".jpg", ".jpeg", ".svg":
			if e.Type().IsRegular() {
				names = append(names, e.Name())
			}
		}
	}
	slices.Sort(names)
	var out []fyne.Resource
	for _, n := range names {
		if len(out) == maxPromos {
			log.Warn("too many promotion images; ignoring the rest", "dir", dir, "max", maxPromos)
			break
		}
		r, err := readAsset(filepath.Join(dir, n))
		if err != nil {
			log.Warn("promotion image skipped", "file", n, "err", err)
			continue
		}
		out = append(out, r)
	}
	return out
}
