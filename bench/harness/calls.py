"""Inbound calls: ring → desktop notification, and notification action → takeover request."""
import time

from . import desktop
from .busmon import member


def _from(subject):
    return lambda m: m.kind == "mc" and m.member == "Notify" and desktop.pid_of_connection(m.sender) == subject.pid


def _settle(subject, sim, ring, busmon):
    """Ends the call and waits for the app to withdraw or replace its notification."""
    busmon.mark()
    sim.end_call(ring)
    busmon.wait_for(lambda m: m.kind == "mc" and m.member in ("CloseNotification", "Notify"), 5)
    desktop.dunst_close_all()


def ring_to_notify(subject, sim, busmon, rings, first_timeout):
    """The sim's ring (time taken just before the /_sim/calls/ring request) to the app's Notify
    call as the bus delivers it to the notification server."""
    results = []
    for k in range(rings):
        desktop.dunst_close_all()
        busmon.mark()
        rung_at = time.time()
        ring = sim.ring(k)
        shown = busmon.wait_for(_from(subject), first_timeout if k == 0 else 30)
        if shown is None:
            sim.end_call(ring)
            if k == 0:
                return None, f"the app sent no Notify within {first_timeout} s of a ring"
            raise RuntimeError(f"ring {k}: no notification within 30 s")
        results.append((shown.at - rung_at) * 1000)
        _settle(subject, sim, ring, busmon)
    return results, None


def action_to_takeover(subject, sim, busmon, trials, first_timeout):
    """ActionInvoked("takeover") as dunst sends it on the bus (after `dunstctl action 0`) to the
    takeover request reaching the sim (its request line, microsecond timestamp)."""
    results = []
    for k in range(trials):
        desktop.dunst_close_all()
        busmon.mark()
        ring = sim.ring(100 + k)
        if busmon.wait_for(_from(subject), first_timeout if k == 0 else 30) is None:
            sim.end_call(ring)
            return (None, f"the app sent no Notify within {first_timeout} s of a ring") if k == 0 else (results, None)
        sim.log.mark()
        busmon.mark()
        desktop.dunst_default_action()
        invoked = busmon.wait_for(member("ActionInvoked", "sig"), 5)
        reached = sim.log.wait_for("/takeover", 5)
        if invoked is None or reached is None:
            sim.end_call(ring)
            return None, ("dunst sent no ActionInvoked" if invoked is None
                          else "no takeover request reached the sim within 5 s of the action")
        results.append((reached - invoked.at) * 1000)
        _settle(subject, sim, ring, busmon)
    return results, None
