"""The `make bench` harness: measures KallyAI Desktop against bench/floor in one run.

Run by bench/run.py inside scripts/with-desktop (Xvfb, a D-Bus session, gnome-keyring, dunst, a
StatusNotifierWatcher). Standard library only, plus the desktop's command-line tools (busctl,
dbus-monitor, xdotool, secret-tool, dunstctl).
"""
