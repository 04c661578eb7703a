package scannertest

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"
)

// PTY is a real pseudo-terminal pair standing in for a serial device (a
// scanner, a pole display): the code under test opens Slave with
// serial.Open, the test writes what the device sends into the master side
// and reads what the code wrote. Closing it is unplugging the device: reads
// on the slave fail.
type PTY struct {
	master *os.File
	// Slave is the /dev/pts/N path to open.
	Slave string
}

// OpenPTY opens /dev/ptmx, unlocks the slave and finds its name.
func OpenPTY() (*PTY, error) {
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open /dev/ptmx: %w", err)
	}
	fd := int(m.Fd())
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		m.Close()
		return nil, fmt.Errorf("unlockpt: %w", err)
	}
	n, err := unix.IoctlGetUint32(fd, unix.TIOCGPTN)
	if err != nil {
		m.Close()
		return nil, fmt.Errorf("ptsname: %w", err)
	}
	return &PTY{master: m, Slave: "/dev/pts/" + strconv.FormatUint(uint64(n), 10)}, nil
}

// Write sends bytes as if the device transmitted them.
func (p *PTY) Write(b []byte) (int, error) { return p.master.Write(b) }

// Read returns bytes the code under test wrote to the slave.
func (p *PTY) Read(b []byte) (int, error) { return p.master.Read(b) }

// Close unplugs: the slave side sees an error on its next read.
func (p *PTY) Close() error { return p.master.Close() }

// Link points the symlink at path to the slave, replacing what was there
// atomically, the way udev maintains /dev/serial/by-id links.
func (p *PTY) Link(path string) error {
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".tmp")
	os.Remove(tmp)
	if err := os.Symlink(p.Slave, tmp); err != nil {
		return fmt.Errorf("link %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("link %s: %w", path, err)
	}
	return nil
}
