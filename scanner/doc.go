// Package scanner reads barcode scanners attached to the register and turns
// what they send into decoded [Scan] values.
//
// It owns:
//   - serial scanners (go.bug.st/serial): port lookup by path, by
//     /dev/serial/by-id name or by USB vendor/product id, line settings and
//     framing by CR, LF, CRLF or an idle gap ([SerialConfig]);
//   - USB-HID keyboard-wedge scanners (Linux evdev): device lookup, exclusive
//     grab, key codes decoded through per-scanner keyboard layouts (US, UK,
//     DE, FR), burst-versus-typing detection by inter-key timing ([HIDConfig]);
//   - decoding of the data: AIM symbology identifiers, GTIN check digits and
//     GS1 element strings ([Decode]);
//   - hotplug and fault handling: a [Manager] keeps every configured scanner
//     running, retries with backoff while a device is missing or failing,
//     logs once per state change and reports per-scanner [Status];
//   - store-IT helpers: [ListDevices] and [ScanTest].
//
// It must not know where scans go: it hands each [Scan] to a callback and
// never talks to the POS page, the cart or the displays. It never rewrites
// scanned data: the AIM prefix and the terminator are removed from
// [Scan.Code], everything else is reported as it was read, with check-digit
// and GS1 findings alongside.
//
// Hardware is reached only through the small [Port] and [EventDevice]
// interfaces, so tests feed it ptys and recorded key events (see package
// scannertest).
package scanner
