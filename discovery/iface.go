package discovery

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"slices"
	"strings"
)

// InterfaceSource lists the network interfaces of the host. It is
// net.Interfaces in production; tests inject their own.
type InterfaceSource func() ([]net.Interface, error)

// AddrSource lists the addresses of one interface. It is
// (*net.Interface).Addrs in production; tests inject their own.
type AddrSource func(ifi net.Interface) ([]netip.Prefix, error)

func systemAddrs(ifi net.Interface) ([]netip.Prefix, error) {
	addrs, err := ifi.Addrs()
	if err != nil {
		return nil, err
	}
	var out []netip.Prefix
	for _, a := range addrs {
		if ipn, ok := a.(*net.IPNet); ok {
			if p, err := netip.ParsePrefix(ipn.String()); err == nil {
				out = append(out, p)
			}
		}
	}
	return out, nil
}

// selectInterfaces picks the interfaces to use for mDNS: the named ones
// that are up (names empty: every up, multicast-capable, non-loopback
// interface; when there is none, the up loopback interfaces, so that a
// register and display on one machine, or a test namespace, still work).
func selectInterfaces(all []net.Interface, names []string) []net.Interface {
	var out []net.Interface
	if len(names) > 0 {
		for _, ifi := range all {
			if slices.Contains(names, ifi.Name) && ifi.Flags&net.FlagUp != 0 {
				out = append(out, ifi)
			}
		}
		return out
	}
	for _, ifi := range all {
		if ifi.Flags&net.FlagUp != 0 && ifi.Flags&net.FlagMulticast != 0 && ifi.Flags&net.FlagLoopback == 0 {
			out = append(out, ifi)
		}
	}
	if len(out) > 0 {
		return out
	}
	for _, ifi := range all {
		if ifi.Flags&net.FlagUp != 0 && ifi.Flags&net.FlagLoopback != 0 {
			out = append(out, ifi)
		}
	}
	return out
}

// advertisedAddrs returns the addresses to put in A/AAAA records, sorted:
// IPv4 and global/unique-local IPv6 of the interfaces; loopback addresses
// only from loopback interfaces; IPv6 link-local never (mDNS A/AAAA records
// carry no zone, so a display could not use them).
func advertisedAddrs(ifaces []net.Interface, addrsOf AddrSource) ([]netip.Addr, error) {
	var out []netip.Addr
	var errs []string
	for _, ifi := range ifaces {
		prefixes, err := addrsOf(ifi)
		if err != nil {
			errs = append(errs, fmt.Sprintf("%s: %v", ifi.Name, err))
			continue
		}
		for _, p := range prefixes {
			a := p.Addr().Unmap()
			switch {
			case !a.IsValid(), a.IsUnspecified(), a.IsMulticast():
			case a.Is6() && a.IsLinkLocalUnicast():
			case a.IsLoopback() && ifi.Flags&net.FlagLoopback == 0:
			default:
				if !slices.Contains(out, a) {
					out = append(out, a)
				}
			}
		}
	}
	slices.SortFunc(out, netip.Addr.Compare)
	if len(out) == 0 && len(errs) > 0 {
		return nil, fmt.Errorf("discovery: listing addresses: %s", strings.Join(errs, "; "))
	}
	return out, nil
}

// hostLabel turns a host name into a single DNS label usable as the SRV
// target ("<label>.local."): letters, digits and '-', at most 63 bytes.
func hostLabel(name string) string {
	name, _, _ = strings.Cut(name, ".")
	var b strings.Builder
	for _, c := range []byte(name) {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-':
			b.WriteByte(c)
		default:
			b.WriteByte('-')
		}
		if b.Len() == 63 {
			break
		}
	}
	l := strings.Trim(b.String(), "-")
	if l == "" {
		return "posdisplay"
	}
	return l
}

func defaultHostLabel() string {
	h, _ := os.Hostname()
	return hostLabel(h)
}
