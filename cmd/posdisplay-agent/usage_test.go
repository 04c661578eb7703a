package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"regexp"
	"strings"
	"testing"
)

// -h lists every subcommand, and the man page's SYNOPSIS names each one:
// store IT learns the commands from either.
func TestUsageAndManPageListEveryCommand(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"-h"}, &out, &out); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("-h: got %v, want flag.ErrHelp", err)
	}
	man, err := os.ReadFile("../../packaging/agent/posdisplay-agent.8")
	if err != nil {
		t.Fatal(err)
	}
	synopsis := string(man)
	if i := strings.Index(synopsis, ".SH DESCRIPTION"); i > 0 {
		synopsis = synopsis[:i]
	}
	for _, c := range commands {
		if !regexp.MustCompile(`(?m)^  ` + regexp.QuoteMeta(c.name) + ` `).MatchString(out.String()) {
			t.Errorf("-h output:\n%s\nwant a line for %q", out.String(), c.name)
		}
		if !regexp.MustCompile(`(?m)^\.R?B \[? ?`+regexp.QuoteMeta(strings.ReplaceAll(c.name, "-", `\-`))+`( |$)`).MatchString(synopsis) &&
			!regexp.MustCompile(`(?m)^\.R?B \[? ?`+regexp.QuoteMeta(c.name)+`( |$)`).MatchString(synopsis) {
			t.Errorf("man page SYNOPSIS does not name %q", c.name)
		}
	}
	if err := run(context.Background(), []string{"no-such-command"}, &out, &out); err == nil || !strings.Contains(err.Error(), "pole-emulate") {
		t.Errorf("unknown command: got %v, want the list of commands", err)
	}
}

// docs/install.md names only commands that exist, and its command
// reference lists exactly the commands -h lists, with the displays
// subcommands the command takes.
func TestInstallGuideMatchesCommands(t *testing.T) {
	doc, err := os.ReadFile("../../docs/install.md")
	if err != nil {
		t.Fatal(err)
	}
	var help bytes.Buffer
	_ = run(context.Background(), []string{"-h"}, &help, &help)
	listed := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^  ([a-z][a-z-]*) `).FindAllStringSubmatch(help.String(), -1) {
		listed[m[1]] = true
	}
	if len(listed) != len(commands) {
		t.Fatalf("-h lists %v, want the %d commands", listed, len(commands))
	}
	for _, m := range regexp.MustCompile(`posdisplay-agent ([a-z][a-z-]*)`).FindAllStringSubmatch(string(doc), -1) {
		if !listed[m[1]] {
			t.Errorf("docs/install.md mentions `posdisplay-agent %s`, which -h does not list", m[1])
		}
	}
	for _, m := range regexp.MustCompile(`posdisplay-agent displays ([a-z]+)`).FindAllStringSubmatch(string(doc), -1) {
		if !regexp.MustCompile(`\b` + m[1] + `\b`).MatchString(displaysUsage) {
			t.Errorf("docs/install.md mentions `displays %s`, not in %q", m[1], displaysUsage)
		}
	}
	i := strings.Index(string(doc), "| `posdisplay-agent` command |")
	if i < 0 {
		t.Fatal("docs/install.md has no `posdisplay-agent` command table")
	}
	table := string(doc[i:])
	table = table[strings.Index(table, "\n")+1:] // past the header row
	if j := strings.Index(table, "\n\n"); j > 0 {
		table = table[:j]
	}
	inTable := map[string]bool{}
	for _, m := range regexp.MustCompile("(?m)^\\| `([a-z][a-z-]*)").FindAllStringSubmatch(table, -1) {
		inTable[m[1]] = true
		if !listed[m[1]] {
			t.Errorf("docs/install.md command table has %q, which -h does not list", m[1])
		}
	}
	for c := range listed {
		if !inTable[c] {
			t.Errorf("docs/install.md command table lacks %q", c)
		}
	}
	for _, m := range regexp.MustCompile(`(?:displays|\|) ([a-z]+)`).FindAllStringSubmatch(displaysUsage, -1) {
		if !regexp.MustCompile(`\b` + m[1] + `\b`).MatchString(table) {
			t.Errorf("docs/install.md command table lacks `displays %s`", m[1])
		}
	}
}
