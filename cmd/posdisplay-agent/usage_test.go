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
