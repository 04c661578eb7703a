// Command testsum reads `go test -json` on its standard input, prints what a
// person needs from it (each package's result, the whole output of every
// failed test, the reason of every skip), and adds the step's counts to a
// counts file, so that `make test` can end with one line counting passed,
// failed and skipped tests over all its steps.
//
//	go test -json ./... | go run ./.ci/testsum -counts FILE
//	go run ./.ci/testsum -counts FILE -summary
//
// It exits 1 when a test or a package failed (a build failure included), so
// a pipeline with pipefail fails even when go test's own status is lost.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"
)

// event is one line of `go test -json` (cmd/test2json's TestEvent).
type event struct {
	Action      string
	Package     string
	Test        string
	Output      string
	Elapsed     float64
	FailedBuild string
}

// counts are what one or more steps found. Skipped tests are kept by name
// and reason, so that the summary can say what did not run and why.
type counts struct {
	Passed, Failed, Skipped int
	Skips                   []string
}

func main() {
	countsFile := flag.String("counts", "", "file accumulating the counts of every step (created when missing)")
	summary := flag.Bool("summary", false, "print the one-line summary of the counts file and exit")
	flag.Parse()
	if *countsFile == "" {
		fmt.Fprintln(os.Stderr, "testsum: -counts FILE is required")
		os.Exit(2)
	}
	total, err := load(*countsFile)
	if err != nil {
		fmt.Fprintln(os.Stderr, "testsum:", err)
		os.Exit(2)
	}
	if *summary {
		printSummary(os.Stdout, total)
		if total.Failed > 0 {
			os.Exit(1)
		}
		return
	}
	step, failed := digest(os.Stdin, os.Stdout)
	total.Passed += step.Passed
	total.Failed += step.Failed
	total.Skipped += step.Skipped
	total.Skips = append(total.Skips, step.Skips...)
	if err := save(*countsFile, total); err != nil {
		fmt.Fprintln(os.Stderr, "testsum:", err)
		os.Exit(2)
	}
	fmt.Printf("testsum: this step: %d passed, %d failed, %d skipped\n", step.Passed, step.Failed, step.Skipped)
	if failed {
		os.Exit(1)
	}
}

// digest reads the events, prints the useful part to w, and returns the
// counts and whether anything (a test, a package, a build) failed.
func digest(r io.Reader, w io.Writer) (counts, bool) {
	var c counts
	failed := false
	output := map[string][]string{} // "pkg test" -> its output lines, until it ends
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		line := sc.Bytes()
		var e event
		if len(line) == 0 || line[0] != '{' || json.Unmarshal(line, &e) != nil {
			// Not an event: the go command's own messages (build errors).
			fmt.Fprintf(w, "%s\n", line)
			continue
		}
		key := e.Package + " " + e.Test
		switch e.Action {
		case "output", "build-output":
			if e.Test == "" && e.Action == "output" {
				// Package-level output: the final ok/FAIL line, panics
				// outside tests, and "coverage"/"no test files" lines.
				if strings.HasPrefix(e.Output, "ok ") || strings.HasPrefix(e.Output, "FAIL") ||
					strings.HasPrefix(e.Output, "?") || strings.HasPrefix(e.Output, "panic") ||
					strings.Contains(e.Output, "[no test files]") {
					fmt.Fprint(w, e.Output)
				} else {
					output[key] = append(output[key], e.Output)
				}
				continue
			}
			if e.Action == "build-output" {
				fmt.Fprint(w, e.Output)
				continue
			}
			output[key] = append(output[key], e.Output)
		case "pass":
			if e.Test != "" {
				c.Passed++
			}
			delete(output, key)
		case "skip":
			if e.Test != "" {
				c.Skipped++
				c.Skips = append(c.Skips, e.Test+" ("+e.Package+"): "+skipReason(output[key]))
				fmt.Fprintf(w, "SKIP %s (%s): %s\n", e.Test, e.Package, skipReason(output[key]))
			}
			delete(output, key)
		case "fail":
			failed = true
			if e.Test != "" {
				c.Failed++
				fmt.Fprintf(w, "--- FAIL: %s (%s, %.2fs)\n", e.Test, e.Package, e.Elapsed)
			} else if e.FailedBuild != "" {
				fmt.Fprintf(w, "FAIL %s: build failed (%s)\n", e.Package, e.FailedBuild)
			}
			for _, o := range output[key] {
				fmt.Fprint(w, "    ", o)
			}
			delete(output, key)
		}
	}
	// A package whose test binary died (a panic, a timeout) leaves the
	// output of its running tests without an end: show it.
	var left []string
	for k := range output {
		left = append(left, k)
	}
	sort.Strings(left)
	for _, k := range left {
		if strings.HasSuffix(k, " ") {
			continue
		}
		for _, o := range output[k] {
			if strings.Contains(o, "panic") || strings.Contains(o, "FAIL") || strings.Contains(o, "timed out") {
				fmt.Fprintf(w, "unfinished %s:\n", k)
				for _, o := range output[k] {
					fmt.Fprint(w, "    ", o)
				}
				failed = true
				break
			}
		}
	}
	return c, failed
}

// skipReason is the last line a skipped test printed: t.Skip's message,
// without the file:line prefix go test adds.
func skipReason(lines []string) string {
	for i := len(lines) - 1; i >= 0; i-- {
		s := strings.TrimSpace(lines[i])
		if s == "" || strings.HasPrefix(s, "=== ") || strings.HasPrefix(s, "--- SKIP") {
			continue
		}
		if _, after, ok := strings.Cut(s, ": "); ok && strings.Contains(s[:len(s)-len(after)], ".go:") {
			return after
		}
		return s
	}
	return "(no reason given)"
}

func printSummary(w io.Writer, c counts) {
	for _, s := range c.Skips {
		fmt.Fprintf(w, "skipped: %s\n", s)
	}
	fmt.Fprintf(w, "make test: %d passed, %d failed, %d skipped (%s)\n", c.Passed, c.Failed, c.Skipped,
		time.Now().UTC().Format(time.TimeOnly))
}

// The counts file: three numbers on the first line, then one skip per line.
func load(path string) (counts, error) {
	var c counts
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return c, nil
	}
	if err != nil {
		return c, err
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	f := strings.Fields(lines[0])
	if len(f) != 3 {
		return c, fmt.Errorf("%s: malformed first line %q", path, lines[0])
	}
	for i, p := range []*int{&c.Passed, &c.Failed, &c.Skipped} {
		if *p, err = strconv.Atoi(f[i]); err != nil {
			return c, fmt.Errorf("%s: %w", path, err)
		}
	}
	c.Skips = append(c.Skips, lines[1:]...)
	return c, nil
}

func save(path string, c counts) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%d %d %d\n", c.Passed, c.Failed, c.Skipped)
	for _, s := range c.Skips {
		b.WriteString(strings.ReplaceAll(s, "\n", " ") + "\n")
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}
