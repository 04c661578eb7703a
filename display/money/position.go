package money

import "golang.org/x/text/language"

// pattern is the part of a CLDR currency format that x/text does not expose:
// whether the sign comes before the number, and whether a space separates them.
type pattern struct {
	before bool
	space  bool
}

// Patterns from CLDR's standard currency format ("¤#,##0.00", "¤ #,##0.00",
// "#,##0.00 ¤"). Languages not listed put a sign before the number with no
// space, the CLDR root pattern. Region entries win over language entries.
var (
	suffixLangs = map[string]bool{
		"ar": true, "bg": true, "ca": true, "cs": true, "da": true, "de": true, "el": true,
		"es": true, "et": true, "eu": true, "fi": true, "fr": true, "gl": true, "he": true,
		"hr": true, "hu": true, "hy": true, "is": true, "it": true, "ka": true, "kk": true,
		"lt": true, "lv": true, "mk": true, "nb": true, "nn": true, "no": true, "pl": true,
		"pt": true, "ro": true, "ru": true, "sk": true, "sl": true, "sq": true, "sr": true,
		"sv": true, "uk": true, "uz": true, "vi": true, "az": true, "be": true, "bs": true,
	}
	spacedPrefixLangs = map[string]bool{"nl": true, "fy": true}
	regionPatterns    = map[string]pattern{
		"de-AT": {before: true, space: true}, "de-CH": {before: true, space: true},
		"de-LI": {before: true, space: true}, "it-CH": {before: true, space: true},
		"pt-BR": {before: true, space: true}, "es-MX": {before: true}, "es-US": {before: true},
		"es-419": {before: true}, "es-AR": {before: true, space: true}, "es-CO": {before: true, space: true},
		"fr-CA": {before: false, space: true}, "en-150": {before: false, space: true},
		"en-NL": {before: true, space: true}, "en-SE": {before: false, space: true},
		"en-DK": {before: false, space: true}, "en-DE": {before: false, space: true},
		"en-FI": {before: false, space: true}, "en-AT": {before: true, space: true},
		"en-CH": {before: true, space: true},
	}
)

func patternFor(tag language.Tag) pattern {
	base, _ := tag.Base()
	region, conf := tag.Region()
	if conf != language.No {
		if p, ok := regionPatterns[base.String()+"-"+region.String()]; ok {
			return p
		}
	}
	switch {
	case suffixLangs[base.String()]:
		return pattern{before: false, space: true}
	case spacedPrefixLangs[base.String()]:
		return pattern{before: true, space: true}
	}
	return pattern{before: true}
}
