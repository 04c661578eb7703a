package scanner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"
)

// ScanTest runs the given scanners and prints every decoded scan to w, one
// line each, with symbology, AIM identifier, check-digit result, GS1
// elements and, for keyboard wedges, inter-key timing; discarded input
// (typing, stale partials) is printed too, without its text. Device state
// changes go to logger. It returns nil when ctx is cancelled (Ctrl-C) and
// an error only for a bad configuration.
func ScanTest(ctx context.Context, w io.Writer, cfgs []Config, logger *slog.Logger) error {
	return scanTest(ctx, w, cfgs, Options{Logger: logger})
}

func scanTest(ctx context.Context, w io.Writer, cfgs []Config, opts Options) error {
	opts.OnDiscard = func(d Discard) { io.WriteString(w, FormatDiscard(d)+"\n") }
	m, err := NewManager(cfgs, opts)
	if err != nil {
		return err
	}
	defer m.Close()
	names := make([]string, len(cfgs))
	for i, c := range cfgs {
		names[i] = c.Name + " (" + c.Kind + ")"
	}
	fmt.Fprintf(w, "scan-test: reading %s; scan something, Ctrl-C to stop\n", strings.Join(names, ", "))
	err = m.Run(ctx, func(s Scan) { io.WriteString(w, FormatScan(s)+"\n") })
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return nil
	}
	return err
}

// FormatScan renders a scan on one line for people. Control characters in
// the data are shown escaped (GS as \x1d).
func FormatScan(s Scan) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s %s", s.At.Format("15:04:05.000"), s.Source, s.Symbology)
	if s.SymbologyInferred {
		b.WriteString("(inferred)")
	}
	if s.AIM != "" {
		fmt.Fprintf(&b, " aim=%s", s.AIM)
	}
	fmt.Fprintf(&b, " check=%s code=%q", s.Check, s.Code)
	if len(s.GS1) > 0 {
		b.WriteString(" gs1=")
		for _, e := range s.GS1 {
			fmt.Fprintf(&b, "(%s)%s", e.AI, e.Value)
		}
	}
	if s.GS1Error != "" {
		fmt.Fprintf(&b, " gs1_error=%q", s.GS1Error)
	}
	if s.Timing != nil {
		b.WriteString(" " + formatTiming(*s.Timing))
	}
	return b.String()
}

// FormatDiscard renders a discard on one line for people.
func FormatDiscard(d Discard) string {
	s := fmt.Sprintf("%s %s discarded %s len=%d", d.At.Format("15:04:05.000"), d.Source, d.Reason, d.Len)
	if d.Timing != nil {
		s += " " + formatTiming(*d.Timing)
	}
	return s
}

func formatTiming(t KeyTiming) string {
	r := func(d time.Duration) time.Duration { return d.Round(10 * time.Microsecond) }
	return fmt.Sprintf("keys=%d gap_min=%v gap_median=%v gap_max=%v total=%v",
		t.Keys, r(t.MinGap), r(t.MedianGap), r(t.MaxGap), r(t.Total))
}
