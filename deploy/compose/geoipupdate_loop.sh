#!/bin/sh
# Runs geoipupdate now, then every GEOIPUPDATE_FREQUENCY hours (default 12), writing the
# databases of GEOIPUPDATE_EDITION_IDS into GEOIPUPDATE_DB_DIR (default /var/lib/GeoIP).
# geoipupdate writes each file under a temporary name and renames it into place, which
# geoipmq --watch follows. The account comes from GEOIPUPDATE_ACCOUNT_ID and
# GEOIPUPDATE_LICENSE_KEY, written to a GeoIP.conf in TMPDIR (default /tmp) that only this
# user can read. A failed run is logged and tried again at the next turn. SIGTERM: exit 0.
set -eu
: "${GEOIPUPDATE_ACCOUNT_ID:?set GEOIPUPDATE_ACCOUNT_ID to your MaxMind account ID}"
: "${GEOIPUPDATE_LICENSE_KEY:?set GEOIPUPDATE_LICENSE_KEY to your MaxMind licence key}"
editions="${GEOIPUPDATE_EDITION_IDS:-GeoLite2-City}"
hours="${GEOIPUPDATE_FREQUENCY:-12}"
directory="${GEOIPUPDATE_DB_DIR:-/var/lib/GeoIP}"
conf="${TMPDIR:-/tmp}/GeoIP.conf"
case "$hours" in '' | *[!0-9]* | 0)
  echo "geoipupdate-loop: GEOIPUPDATE_FREQUENCY must be a whole number of hours, not \"$hours\"" >&2
  exit 2
  ;;
esac

(
  umask 077
  printf 'AccountID %s\nLicenseKey %s\nEditionIDs %s\n' \
    "$GEOIPUPDATE_ACCOUNT_ID" "$GEOIPUPDATE_LICENSE_KEY" "$editions" >"$conf"
)
# SIGTERM or SIGINT: stop the sleep under way and exit 0. The trap only notes the signal
# and stops the sleep it knows of; the loop exits at its next check, so a signal that comes
# while a sleep is being started cannot leave that sleep behind. The sleep gets SIGKILL: a
# child not yet running sleep, still the shell with its trap, would swallow a SIGTERM.
stop=
sleeper=
trap 'stop=1; if [ -n "$sleeper" ]; then kill -KILL "$sleeper" 2>/dev/null || true; fi' TERM INT
while [ -z "$stop" ]; do
  if geoipupdate -v -f "$conf" -d "$directory"; then
    echo "geoipupdate-loop: $editions in $directory up to date; next look in $hours hours"
  else
    echo "geoipupdate-loop: geoipupdate failed (exit $?); next try in $hours hours" >&2
  fi
  [ -z "$stop" ] || break
  sleep "$((hours * 3600))" &
  sleeper=$!
  if [ -n "$stop" ]; then kill -KILL "$sleeper" 2>/dev/null || true; fi
  wait "$sleeper" || true
  sleeper=
done
exit 0
