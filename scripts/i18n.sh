#!/usr/bin/env bash
# Guests' strings: extract them, update the catalogues, compile the .mo files.
#
#   scripts/i18n.sh            extract + update (or init) + compile, for every language below
#   scripts/i18n.sh compile    compile only (after editing a .po)
#   scripts/i18n.sh check      exit 1 if the .po files are out of date with the sources
#
# Then translate every empty or fuzzy msgstr in planner/locale/<lang>/LC_MESSAGES/messages.po,
# run `scripts/i18n.sh compile`, and commit both the .po and the .mo (the .mo ships in the wheel).
set -euo pipefail
cd "$(dirname "$0")/.."

LOCALES="${LOCALES:-es fr de pt}"
LOCALE_DIR=planner/locale
POT="$LOCALE_DIR/messages.pot"
# One list of keywords, in planner/i18n.py (EXTRACT_KEYWORDS), for this script and the catalogue test.
read -r -a KEYWORDS <<<"$(python -c '
from planner.i18n import EXTRACT_KEYWORDS as K
print(" ".join("-k " + n + (":" + ",".join(map(str, s)) if s else "") for n, s in K.items()))')"

# The app installs gettext with newstyle=True (planner/templating.py). In that mode Jinja asks
# the catalogue for "%%" where a {% trans %} block without variables has a literal "%", so the
# extractor must parse templates the same way, or such strings are never found at run time.
# babel.cfg is used as is, plus `newstyle_gettext = true` under its [jinja2: ...] sections.
MAP="$(mktemp)"
trap 'rm -f "$MAP"' EXIT
awk '
  /^\[/ { if (jinja && !seen) print "newstyle_gettext = true"; jinja = ($0 ~ /^\[jinja2:/); seen = 0 }
  jinja && /^[ \t]*newstyle_gettext[ \t]*=/ { seen = 1 }
  { print }
  END { if (jinja && !seen) print "newstyle_gettext = true" }
' babel.cfg >"$MAP"

compile() {
  pybabel compile -d "$LOCALE_DIR" -D messages --statistics
}

extract() {
  PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" pybabel extract -F "$MAP" -o "$POT" --no-location --sort-output \
    --no-default-keywords "${KEYWORDS[@]}" --add-comments=TRANSLATORS: \
    --project="festival-wellness-planner" --copyright-holder="Festival Wellness Planner" .
}

case "${1:-all}" in
  compile)
    compile
    ;;
  check)
    extract >/dev/null
    for l in $LOCALES; do
      pybabel update -i "$POT" -d "$LOCALE_DIR" -D messages -l "$l" --no-fuzzy-matching --ignore-obsolete \
        --ignore-pot-creation-date --check
    done
    ;;
  all)
    extract
    for l in $LOCALES; do
      if [ -f "$LOCALE_DIR/$l/LC_MESSAGES/messages.po" ]; then
        pybabel update -i "$POT" -d "$LOCALE_DIR" -D messages -l "$l" --no-fuzzy-matching --ignore-obsolete
      else
        pybabel init -i "$POT" -d "$LOCALE_DIR" -D messages -l "$l"
      fi
    done
    compile
    ;;
  *)
    echo "usage: $0 [all|compile|check]" >&2
    exit 2
    ;;
esac
