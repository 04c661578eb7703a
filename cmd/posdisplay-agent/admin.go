package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/posdisplay/posdisplay/register/agent"
	"github.com/posdisplay/posdisplay/register/pairing"
)

// adminClient talks to the running agent's local admin endpoint with the
// token from its state directory.
type adminClient struct {
	base, token string
	http        *http.Client
}

// newAdminClient loads the config the parsed flags name and returns a
// client for that agent's admin endpoint.
func newAdminClient(cf *configFlags) (*adminClient, agent.Config, error) {
	cfg, err := cf.load()
	if errors.Is(err, fs.ErrPermission) {
		// The packaged config is root:posdisplay 0640 (it may hold tokens).
		return nil, cfg, fmt.Errorf("%w\nfix: run the command with sudo (the config is readable by root and the posdisplay group only; or add yourself to that group: sudo adduser $USER posdisplay, then log in again)", err)
	}
	if err != nil {
		return nil, cfg, err
	}
	c, err := adminClientFor(cfg)
	return c, cfg, err
}

func adminClientFor(cfg agent.Config) (*adminClient, error) {
	tokPath := filepath.Join(cfg.State.Dir, pairing.AdminTokenFile)
	tok, err := os.ReadFile(tokPath)
	switch {
	case errors.Is(err, fs.ErrPermission):
		return nil, fmt.Errorf("reading the admin token: %w\nfix: run the command with sudo (the token is readable by root and the posdisplay user only)", err)
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("reading the admin token: %w\n(the agent creates it on its first start: is the agent running with state dir %s?)", err, cfg.State.Dir)
	case err != nil:
		return nil, fmt.Errorf("reading the admin token: %w", err)
	}
	host, port, err := net.SplitHostPort(cfg.POS.Listen)
	if err != nil {
		return nil, err
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	return &adminClient{base: "http://" + net.JoinHostPort(host, port), token: strings.TrimSpace(string(tok)), http: &http.Client{Timeout: 10 * time.Second}}, nil
}

func (c *adminClient) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("cannot reach the agent at %s (is it running?): %w", c.base, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode >= 300 {
		var e pairing.ErrorResponse
		if json.Unmarshal(data, &e) == nil && e.Message != "" {
			return fmt.Errorf("%s (%s)", e.Message, e.Code)
		}
		return fmt.Errorf("agent answered %s", resp.Status)
	}
	if out != nil {
		return json.Unmarshal(data, out)
	}
	return nil
}

// pairCmd approves the screen that shows CODE.
func pairCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cf := newConfigFlags("pair", stderr)
	register := cf.fs.String("register", "", "register the display will show (needed when the agent serves several)")
	if err := cf.fs.Parse(args); err != nil {
		return err
	}
	if cf.fs.NArg() != 1 {
		return errors.New("usage: posdisplay-agent pair [-register ID] CODE   (the code the screen shows)")
	}
	c, _, err := newAdminClient(cf)
	if err != nil {
		return err
	}
	var d pairing.ApproveResponse
	if err := c.do(ctx, http.MethodPost, "/v1/admin/pair", pairing.ApproveRequest{Code: cf.fs.Arg(0), Register: *register}, &d); err != nil {
		return fmt.Errorf("pair: %w", err)
	}
	fmt.Fprintf(stdout, "paired %q as %s on register %s; the screen connects within a few seconds\n", d.Name, d.ID, d.Register)
	for _, old := range d.Replaced {
		fmt.Fprintf(stdout, "replaced %s (%q, register %s, paired %s): the same screen's earlier pairing\n", old.ID, old.Name, old.Register, old.PairedAt.Local().Format(time.DateTime))
	}
	return nil
}

// displaysUsage names every displays subcommand (docs/install.md is
// checked against it).
const displaysUsage = "usage: posdisplay-agent displays list | revoke ID | forget ID... | add [-register ID] NAME"

// displaysCmd lists, revokes, forgets and provisions displays.
func displaysCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	usage := errors.New(displaysUsage)
	if len(args) == 0 {
		return usage
	}
	sub, args := args[0], args[1:]
	cf := newConfigFlags("displays "+sub, stderr)
	register := cf.fs.String("register", "", "register of the new display (add)")
	if err := cf.fs.Parse(args); err != nil {
		return err
	}
	c, cfg, err := newAdminClient(cf)
	if err != nil {
		return err
	}
	switch {
	case sub == "list" && cf.fs.NArg() == 0:
		var ds []displayWire
		if err := c.do(ctx, http.MethodGet, "/v1/admin/displays", nil, &ds); err != nil {
			return err
		}
		var pend []pairing.PendingInfo
		if err := c.do(ctx, http.MethodGet, "/v1/admin/pair", nil, &pend); err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tNAME\tREGISTER\tSTATUS\tPAIRED\tADDRESS")
		for _, d := range ds {
			addr := d.Addr
			if addr == "" {
				addr = "-"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", d.ID, d.Name, d.Register, presence(d), d.PairedAt.Local().Format(time.DateTime), addr)
		}
		tw.Flush()
		if len(ds) > 0 {
			fmt.Fprintln(stdout, "(a screen that is gone: `posdisplay-agent displays forget ID`)")
		}
		for _, p := range pend {
			fmt.Fprintf(stdout, "waiting for approval: %q from %s (%s ago): run `posdisplay-agent pair CODE` with the code on that screen\n", p.Name, p.Remote, p.Age.Round(time.Second))
		}
		return nil
	case sub == "revoke" && cf.fs.NArg() == 1:
		var d displayWire
		if err := c.do(ctx, http.MethodDelete, "/v1/admin/displays/"+cf.fs.Arg(0), nil, &d); err != nil {
			return fmt.Errorf("revoke: %w", err)
		}
		switch {
		case d.Connected == nil:
			fmt.Fprintf(stdout, "revoked %s (%q, register %s); a connection it had is closed now\n", d.ID, d.Name, d.Register)
		case *d.Connected:
			fmt.Fprintf(stdout, "revoked %s (%q, register %s); it was connected: its connection is closed now and it shows a new pairing code\n", d.ID, d.Name, d.Register)
		default:
			fmt.Fprintf(stdout, "revoked %s (%q, register %s); it was offline (%s): when it comes back it is refused and shows a new pairing code\n", d.ID, d.Name, d.Register, presence(d))
		}
		return nil
	case sub == "forget" && cf.fs.NArg() >= 1:
		for _, id := range cf.fs.Args() {
			var d displayWire
			if err := c.do(ctx, http.MethodPost, "/v1/admin/displays/"+id+"/forget", nil, &d); err != nil {
				return fmt.Errorf("forget %s: %w", id, err)
			}
			d.Connected = new(false) // it was not: forget refuses connected displays
			fmt.Fprintf(stdout, "forgot %s (%q, register %s, %s)\n", d.ID, d.Name, d.Register, presence(d))
		}
		return nil
	case sub == "add" && cf.fs.NArg() == 1:
		reg := *register
		if reg == "" {
			if len(cfg.Registers) != 1 {
				return errors.New("add: this agent serves several registers; pass -register ID")
			}
			reg = cfg.Registers[0]
		}
		var r pairing.AddResponse
		if err := c.do(ctx, http.MethodPost, "/v1/admin/displays", pairing.AddRequest{Name: cf.fs.Arg(0), Register: reg}, &r); err != nil {
			return fmt.Errorf("add: %w", err)
		}
		scheme := "http"
		if cfg.Display.TLS {
			scheme = "https"
		}
		fmt.Fprintf(stdout, "added %s (%q, register %s)\ntoken: %s\nweb display: %s://<this-host>:%s/display#register=%s&token=%s\n(the token is shown only now)\n",
			r.Display.ID, r.Display.Name, r.Display.Register, r.Token, scheme, portOf(cfg.Display.Listen), r.Display.Register, r.Token)
		return nil
	}
	return usage
}

// displayWire is a display as the admin endpoints answer; Connected is nil
// from agents older than the connected/last-seen fields (an agent still
// running after the package was upgraded under it).
type displayWire struct {
	pairing.DisplayStatus
	Connected *bool `json:"connected"`
}

// presence says whether d is connected now or when it was last seen.
func presence(d displayWire) string {
	switch {
	case d.Connected == nil:
		return "unknown (restart the agent: it is older than this command)"
	case *d.Connected:
		return "connected since " + d.ConnectedSince.Local().Format(time.DateTime)
	case d.LastSeen.IsZero():
		return "never connected"
	default:
		return "offline, last seen " + d.LastSeen.Local().Format(time.DateTime)
	}
}

func portOf(listen string) string {
	_, p, err := net.SplitHostPort(listen)
	if err != nil {
		return "7422"
	}
	return p
}
