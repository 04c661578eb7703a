package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"

	"github.com/posdisplay/posdisplay/scanner"
)

// listScanners prints candidate scanner devices for store IT.
func listScanners(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("scanners", flag.ContinueOnError)
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		return err
	}
	return scanner.FormatDevices(stdout, scanner.ListDevices())
}

// scanTest prints live decoded scans from the configured scanners (or from
// one device given by flags) with symbology, check digit and key timing.
func scanTest(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cf := newConfigFlags("scan-test", stderr)
	serialPath := cf.fs.String("serial", "", "test this serial port instead of the configured scanners")
	hidPath := cf.fs.String("hid", "", "test this input device (/dev/input/...) instead of the configured scanners")
	layout := cf.fs.String("layout", "us", "keyboard layout of the -hid scanner: "+fmt.Sprint(scanner.LayoutNames()))
	if err := cf.fs.Parse(args); err != nil {
		return err
	}
	var cfgs []scanner.Config
	switch {
	case *serialPath != "":
		c := scanner.Config{Name: "serial-test", Kind: scanner.KindSerial}
		c.Serial.Path = *serialPath
		cfgs = append(cfgs, c)
	case *hidPath != "":
		c := scanner.Config{Name: "hid-test", Kind: scanner.KindHID}
		c.HID.Path, c.HID.Layout = *hidPath, *layout
		cfgs = append(cfgs, c)
	default:
		cfg, err := cf.load()
		if err != nil {
			return err
		}
		for _, s := range cfg.Scanners {
			cfgs = append(cfgs, s.Config)
		}
	}
	if len(cfgs) == 0 {
		return errors.New("scan-test: no scanners configured; pass -serial PATH or -hid PATH (see `posdisplay-agent scanners`)")
	}
	fmt.Fprintln(stdout, "scan something; Ctrl-C stops. (Stop the posdisplay-agent service first: a grabbed device has one reader.)")
	err := scanner.ScanTest(ctx, stdout, cfgs, slog.New(slog.NewTextHandler(stderr, nil)))
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}
