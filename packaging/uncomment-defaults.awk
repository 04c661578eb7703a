# Uncomments what agent.toml documents as settable: every "# key = value"
# default before the scanner section, and the scanner examples in it. The
# sections after the scanners (Redis, pole displays) stay commented: they
# name files and ports of a real store. Used by test-debs.sh on the
# installed conffile and by register/agent's TestPackagedDefaultsLoad.
/^# --- / && sc { sc = 0; rest = 1 }
/^# --- Barcode scanners/ { sc = 1 }
!sc && !rest && /^# [a-z_]+ = / { sub(/^# /, "") }
sc && /^#( |   )(\[\[scanner\]\]|\[scanner\.|[a-z_]+ = )/ { sub(/^# ?/, "") }
{ print }
