"""Inbound calls: ring → desktop notification, and notification action → takeover request."""
import random
import time

from . import desktop
from .busmon import member


def _caller(n):
    return f"Bench caller {n}"


def _notify_about(subject, n):
    """The app's Notify call for ring `n` (its text names the caller)."""
    # Only the app can name this caller. (notify-rust opens a connection per notification and
    # closes it later, so the sender's PID cannot always be looked up afterwards.)
    return lambda m: m.kind == "mc" and m.member == "Notify" and _caller(n) in m.body


def _settle(subject, sim, ring, n, shown, busmon, timeout):
    """Ends the call and waits for the app to withdraw its notification (CloseNotification from
    the connection that showed it) or replace it with the outcome."""
    busmon.mark()
    sim.end_call(ring)
    busmon.wait_for(lambda m: (m.kind == "mc" and m.member == "CloseNotification" and m.sender == shown.sender)
                    or _notify_about(subject, n)(m), timeout)
    desktop.dunst_close_all()


def ring_to_notify(subject, sim, busmon, rings, first_timeout, poll_interval=None):
    """The sim's ring (time taken just before the /_sim/calls/ring request) to the app's Notify
    call naming that caller, as the bus delivers it to the notification server.

    With `poll_interval` (seconds; the app polls), each ring waits a random part of one interval
    first, so rings fall at every phase of the app's polling cycle instead of in step with it,
    and the ended call's withdrawal is not waited for (it comes with a later poll; each ring names
    a different caller, so it cannot be taken for the next ring's notification)."""
    results = []
    for k in range(rings):
        desktop.dunst_close_all()
        if poll_interval:
            time.sleep(random.uniform(0, poll_interval))
        busmon.mark()
        rung_at = time.time()
        ring = sim.ring(k)
        shown = busmon.wait_for(_notify_about(subject, k), first_timeout if k == 0 else 60)
        if shown is None:
            sim.end_call(ring)
            if k == 0:
                return None, f"the app sent no Notify naming the caller within {first_timeout} s of a ring"
            raise RuntimeError(f"ring {k}: no notification within 60 s")
        results.append((shown.at - rung_at) * 1000)
        if poll_interval:
            sim.end_call(ring)
        else:
            _settle(subject, sim, ring, k, shown, busmon, 10)
    return results, None


def action_to_takeover(subject, sim, busmon, trials, first_timeout):
    """ActionInvoked("takeover") as dunst sends it on the bus (after `dunstctl action 0`) to the
    takeover request reaching the sim (its request line, microsecond timestamp). Also returns the
    upper bound from just before `dunstctl action 0` runs (includes dunstctl and dunst)."""
    results, upper = [], []
    for k in range(trials):
        n = 100 + k
        desktop.dunst_close_all()
        busmon.mark()
        ring = sim.ring(n)
        if busmon.wait_for(_notify_about(subject, n), first_timeout if k == 0 else 30) is None:
            sim.end_call(ring)
            if k == 0:
                return None, f"the app sent no Notify naming the caller within {first_timeout} s of a ring", []
            raise RuntimeError(f"action trial {k}: no notification within 30 s")
        sim.log.mark()
        busmon.mark()
        before = time.time()
        desktop.dunst_default_action()
        invoked = busmon.wait_for(member("ActionInvoked", "sig"), 5)
        reached = sim.log.wait_for("/takeover", 5)
        if invoked is None or reached is None:
            sim.end_call(ring)
            return None, ("dunst sent no ActionInvoked" if invoked is None
                          else "no takeover request reached the sim within 5 s of the action"), []
        results.append((reached - invoked.at) * 1000)
        upper.append((reached - before) * 1000)
        # Taken over: the call is no longer live in the sim (409 is fine); the next ring names
        # another caller, so the outcome notification cannot be mistaken for it.
        sim.end_call(ring)
    return results, None, upper
