#!/bin/sh
# dunst's "dmenu" for tests: records the offered actions and picks the one named in
# $KALLYAI_DUNST_PICK (a substring), so `dunstctl context` can invoke a chosen action.
tee "${KALLYAI_DUNST_OFFERED:-/dev/null}" | grep -m1 -- "${KALLYAI_DUNST_PICK:-Take over}"
