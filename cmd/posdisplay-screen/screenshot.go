package main

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"fyne.io/fyne/v2"

	"github.com/posdisplay/posdisplay/register/atomicfile"
)

// screenshots saves the window's canvas as PNG files every interval, for
// demos and tests without a monitor: shot-0001.png, … and latest.png.
func screenshots(ctx context.Context, w fyne.Window, dir string, every time.Duration, log *slog.Logger) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for n := 1; ; n++ {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		imgs := make(chan image.Image, 1)
		fyne.Do(func() {
			// While Fyne shuts down it runs queued calls after GL is gone;
			// Capture then panics, and there is nothing left to capture.
			defer func() {
				if recover() != nil {
					imgs <- nil
				}
			}()
			imgs <- w.Canvas().Capture()
		})
		var img image.Image
		select {
		case img = <-imgs:
		case <-ctx.Done():
			return nil
		}
		if img == nil {
			return nil
		}
		if err := savePNG(filepath.Join(dir, fmt.Sprintf("shot-%04d.png", n)), img); err != nil {
			log.Warn("screenshot failed", "err", err)
			continue
		}
		_ = savePNG(filepath.Join(dir, "latest.png"), img)
	}
}

func savePNG(path string, img image.Image) error {
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return err
	}
	// Replaced atomically: a viewer never sees half a PNG.
	return atomicfile.Write(path, buf.Bytes(), 0o644)
}
