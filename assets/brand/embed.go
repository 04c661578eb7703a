// Package brand holds posdisplay's default branding: the logo a customer
// display shows until a store configures its own. Colours and sizes default
// in the display package; this package only embeds files and must not
// import Fyne or any screen code.
package brand

import _ "embed"

// LogoSVG is the default store logo, a 256×256 SVG.
//
//go:embed logo.svg
var LogoSVG []byte

// LogoName is the file name of LogoSVG; image decoders pick the format from it.
const LogoName = "posdisplay-logo.svg"
