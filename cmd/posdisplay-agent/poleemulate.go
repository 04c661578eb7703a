package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"syscall"
	"time"

	"github.com/posdisplay/posdisplay/register/pole"
	"github.com/posdisplay/posdisplay/register/pole/poletest"
)

// poleEmulate stands in for a pole display with no hardware, for demos and
// for trying templates: it opens a pty, links it at -link, and prints what
// a 2×20 display would show each time the bytes written to it change the
// glass. Point a [[pole]] table's path at the link.
func poleEmulate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("pole-emulate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	set := fs.String("command-set", "epson", "command set to interpret: epson or cd5220")
	codePage := fs.String("code-page", "cp437", "code page of the emulated display")
	link := fs.String("link", "/tmp/posdisplay-pole", "path of the symlink to the emulated port")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cs, err := pole.LookupCommandSet(*set)
	if err != nil {
		return err
	}
	cp, err := pole.LookupCodePage(*codePage)
	if err != nil {
		return err
	}
	pty, err := poletest.OpenPTY()
	if err != nil {
		return err
	}
	defer pty.Close()
	if err := pty.Link(*link); err != nil {
		return err
	}
	defer os.Remove(*link)
	fmt.Fprintf(stdout, "pole display emulator (%s, %s) on %s -> %s\nadd to agent.toml:\n\n[[pole]]\npath = %q\ncommand_set = %q\ncode_page = %q\n\n",
		cs.Name(), cp.Name, *link, pty.Slave, *link, cs.Name(), cp.Name)
	go func() { // Read has no deadline: closing the pty ends it
		<-ctx.Done()
		pty.Close()
	}()
	emu := poletest.NewEmulator(cs.Name(), cp.Decode)
	last := ""
	buf := make([]byte, 512)
	for {
		n, err := pty.Read(buf)
		if n > 0 {
			emu.Feed(buf[:n])
			if e := emu.Err(); e != nil {
				fmt.Fprintln(stdout, "not a command this display knows:", e)
				emu = poletest.NewEmulator(cs.Name(), cp.Decode)
			}
			if s := emu.String(); s != last {
				fmt.Fprintln(stdout, s)
				last = s
			}
		}
		switch {
		case ctx.Err() != nil:
			return nil
		case errors.Is(err, syscall.EIO):
			// No process has the port open (the agent restarts): the
			// pty stays, wait for the next writer.
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(200 * time.Millisecond):
			}
		case err != nil:
			return err
		}
	}
}
