package scanner_test

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/posdisplay/posdisplay/scanner"
	"github.com/posdisplay/posdisplay/scanner/scannertest"
)

// A Manager runs the configured scanners and hands each scan to a
// callback. The callback should only queue the scan (here: a channel).
// Options.OpenSerial is replaced by a fake port here; leave it nil to open
// real devices.
func ExampleManager() {
	port := scannertest.NewPort()
	cfgs := []scanner.Config{{Name: "lane1", Kind: scanner.KindSerial, Serial: scanner.SerialConfig{Path: "/dev/ttyUSB0"}}}
	m, err := scanner.NewManager(cfgs, scanner.Options{
		Logger:     slog.New(slog.DiscardHandler),
		OpenSerial: func(scanner.SerialConfig) (scanner.Port, string, error) { return port, "/dev/ttyUSB0", nil },
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	scans := make(chan scanner.Scan, 64)
	done := make(chan error, 1)
	go func() { done <- m.Run(context.Background(), func(s scanner.Scan) { scans <- s }) }()

	port.Feed([]byte("]E04006381333931\r"))
	s := <-scans
	fmt.Println(s.Source, s.Symbology, s.Code, s.Check)
	fmt.Println(m.Status()[0].State, m.Status()[0].Scans)

	m.Close()
	fmt.Println(<-done)
	// Output:
	// lane1 ean-13 4006381333931 valid
	// connected 1
	// <nil>
}

func ExampleDecode() {
	s := scanner.Decode("]C1010950110153000317250101\x1d10ABC")
	fmt.Println(s.Symbology, s.AIM, s.Check)
	for _, e := range s.GS1 {
		fmt.Printf("(%s) %s\n", e.AI, e.Value)
	}
	// Output:
	// gs1-128 ]C1 valid
	// (01) 09501101530003
	// (17) 250101
	// (10) ABC
}
