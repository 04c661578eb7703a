package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// maxStateEntries bounds the ownership walk: a state dir holds a few
// files per register (carts, tls, tokens), never thousands.
const maxStateEntries = 10000

// ErrStateOwner means the state directory, or something in it, belongs to
// another user than the one running the agent: one `sudo posdisplay-agent`
// on the service's directory leaves root-owned files that the service user
// then cannot read ("tlsid: reading identity: permission denied").
var ErrStateOwner = errors.New("state directory ownership")

// refuseRootOnServiceState stops root from serving on a state directory
// that belongs to another user (the service's): files it created would be
// root's and break the service.
func refuseRootOnServiceState(dir string, euid int) error {
	if euid != 0 {
		return nil
	}
	st, err := os.Stat(dir)
	if err != nil {
		return nil // missing: root's own fresh directory
	}
	if uid := ownerOf(st); uid != 0 {
		return fmt.Errorf("%w: %s belongs to uid %d, and running as root would leave root-owned files there that the service cannot read; run `sudo -u posdisplay posdisplay-agent serve` (or stop the service and use -state-dir elsewhere)", ErrStateOwner, dir, uid)
	}
	return nil
}

// checkStateOwner reports every entry of dir not owned by euid, with the
// command that fixes it.
func checkStateOwner(dir string, euid int) error {
	var bad []string
	n := 0
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if n++; n > maxStateEntries {
			return filepath.SkipAll
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if uid := ownerOf(info); uid != euid && len(bad) < 5 {
			bad = append(bad, fmt.Sprintf("%s (uid %d)", path, uid))
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("reading the state directory: %w", err)
	}
	if len(bad) > 0 {
		return fmt.Errorf("%w: not owned by uid %d, the user running this: %v; fix with `chown -R posdisplay:posdisplay %s`", ErrStateOwner, euid, bad, dir)
	}
	return nil
}

func ownerOf(info fs.FileInfo) int {
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		return int(st.Uid)
	}
	return -1
}
