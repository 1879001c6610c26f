#!/bin/sh
# dunst's "dmenu" for tests: records the offered actions and picks the one named in
# $KALLYAI_DUNST_PICK (a substring), so `dunstctl context` can invoke a chosen action.
# A test cannot change dunst's environment once the desktop runs, so it may instead write the
# choice to $HOME/.desktop-rig/dunst-pick (the rig's directory, see scripts/with-desktop).
pick="${KALLYAI_DUNST_PICK:-$(cat "$HOME/.desktop-rig/dunst-pick" 2>/dev/null)}"
tee "${KALLYAI_DUNST_OFFERED:-/dev/null}" | grep -m1 -- "${pick:-Take over}"
