package main

import (
	"bytes"
	"os"
	"regexp"
	"strings"
	"testing"
)

// docs/install.md names only the subcommands -h lists, and its
// posdisplay-screen command table lists exactly those.
func TestInstallGuideMatchesSubcommands(t *testing.T) {
	var help bytes.Buffer
	_, _ = parse([]string{"-h"}, &help)
	listed := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^(?:Usage:)? +posdisplay-screen ([a-z][a-z-]*) `).FindAllStringSubmatch(help.String(), -1) {
		listed[m[1]] = true
	}
	if len(listed) == 0 {
		t.Fatalf("-h lists no subcommand:\n%s", help.String())
	}
	doc, err := os.ReadFile("../../docs/install.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range regexp.MustCompile(`posdisplay-screen ([a-z][a-z-]*)`).FindAllStringSubmatch(string(doc), -1) {
		if !listed[m[1]] {
			t.Errorf("docs/install.md mentions `posdisplay-screen %s`, which -h does not list", m[1])
		}
	}
	i := strings.Index(string(doc), "| `posdisplay-screen` command |")
	if i < 0 {
		t.Fatal("docs/install.md has no `posdisplay-screen` command table")
	}
	table := string(doc[i:])
	table = table[strings.Index(table, "\n")+1:]
	if j := strings.Index(table, "\n\n"); j > 0 {
		table = table[:j]
	}
	inTable := map[string]bool{}
	for _, m := range regexp.MustCompile("(?m)^\\| `([a-z][a-z-]*)").FindAllStringSubmatch(table, -1) {
		inTable[m[1]] = true
		if !listed[m[1]] {
			t.Errorf("docs/install.md screen command table has %q, which -h does not list", m[1])
		}
	}
	for c := range listed {
		if !inTable[c] {
			t.Errorf("docs/install.md screen command table lacks %q", c)
		}
	}
}
