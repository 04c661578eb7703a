package agent

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/posdisplay/posdisplay/register/configfile"
	"github.com/posdisplay/posdisplay/register/pole"
)

// PoleConfig is one pole display, a [[pole]] table: the serial port it is
// on, the register it follows (default: the first register), its command
// set, code page, locale and templates. Every key is documented in
// packaging/agent/agent.toml and docs/pole.md.
type PoleConfig struct {
	Name            string `toml:"name"`
	Register        string `toml:"register"`
	pole.PortConfig `toml:",inline"`
	CommandSet      string              `toml:"command_set"`
	CodePage        string              `toml:"code_page"`
	Locale          string              `toml:"locale"`
	Brightness      int                 `toml:"brightness"`
	Marquee         configfile.Duration `toml:"marquee"`
	Templates       map[string][]string `toml:"templates"`
}

// poleConfig is c as package pole takes it, with defaults filled in.
func (c PoleConfig) poleConfig(i int, registers []string) (register string, pc pole.Config) {
	register = c.Register
	if register == "" {
		register = registers[0]
	}
	name := c.Name
	if name == "" {
		name = fmt.Sprintf("pole%d", i+1)
	}
	return register, pole.Config{Name: name, Port: c.PortConfig, CommandSet: c.CommandSet, CodePage: c.CodePage,
		Locale: c.Locale, Brightness: c.Brightness, Marquee: time.Duration(c.Marquee), Templates: c.Templates}
}

// validatePoles checks every [[pole]] table; registers are the configured
// register ids.
func (c *Config) validatePoles(errs *configErrors, registers map[string]bool) {
	names, ports := map[string]bool{}, map[string]bool{}
	for i, pc := range c.Poles {
		if port := pc.Path + "\x00" + pc.ByID + "\x00" + pc.USBVendor + ":" + pc.USBProduct + ":" + pc.USBSerial; ports[port] {
			errs.add(fmt.Sprintf("pole[%d]", i), "the same port as an earlier pole: one display, one writer")
		} else {
			ports[port] = true
		}
		if pc.Register != "" && !registers[pc.Register] {
			errs.add(fmt.Sprintf("pole[%d].register", i), "%q is not one of registers", pc.Register)
		}
		if len(c.Registers) == 0 {
			continue
		}
		_, cfg := pc.poleConfig(i, c.Registers)
		if names[cfg.Name] {
			errs.add(fmt.Sprintf("pole[%d].name", i), "%q used twice", cfg.Name)
		}
		names[cfg.Name] = true
		if _, err := pole.New(cfg, pole.Options{}); err != nil {
			errs.wrap(fmt.Sprintf("pole[%d]", i), err, "%q", cfg.Name)
		}
	}
}

// poleRun is one configured pole and the register it follows.
type poleRun struct {
	register string
	pole     *pole.Pole
}

// newPoles builds the configured poles (the config is already validated).
func newPoles(cfg Config, logger *slog.Logger, wrote func(string, pole.Write)) ([]poleRun, error) {
	var out []poleRun
	for i, pc := range cfg.Poles {
		reg, c := pc.poleConfig(i, cfg.Registers)
		opts := pole.Options{Logger: logger.With("part", "pole", "pole", c.Name)}
		if wrote != nil {
			opts.Wrote = func(w pole.Write) { wrote(c.Name, w) }
		}
		p, err := pole.New(c, opts)
		if err != nil {
			return nil, fmt.Errorf("pole %s: %w", c.Name, err)
		}
		out = append(out, poleRun{register: reg, pole: p})
	}
	return out, nil
}

// runPoles starts every pole on wg; each follows its register's stream
// until ctx ends and then tells its customers the register is offline.
func (a *Agent) runPoles(ctx context.Context, wg *sync.WaitGroup) {
	for _, pr := range a.poles {
		st := a.streams[pr.register]
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := pr.pole.Run(ctx, st); err != nil {
				a.log.Error("pole display stopped", "register", pr.register, "err", err)
			}
		}()
	}
}

// poleHealthEntry is one pole in /healthz.
type poleHealthEntry struct {
	Register string `json:"register"`
	pole.Status
}

// poleHealth reports every pole: its port, whether it is connected, and
// its last write.
func (a *Agent) poleHealth() []poleHealthEntry {
	out := make([]poleHealthEntry, 0, len(a.poles))
	for _, pr := range a.poles {
		out = append(out, poleHealthEntry{Register: pr.register, Status: pr.pole.Status()})
	}
	return out
}
