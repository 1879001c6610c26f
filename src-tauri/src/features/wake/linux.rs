//! Wake-ups on Linux, from the system bus (`DBUS_SYSTEM_BUS_ADDRESS` when set): logind's
//! `PrepareForSleep(false)` after a resume, NetworkManager's `StateChanged` reaching "connected"
//! after the network came back. No system bus, no logind or no NetworkManager only means no
//! catch-up from that side (the watcher's clock check still notices a sleep).

use futures_util::StreamExt;
use zbus::message::Type;
use zbus::{Connection, MatchRule, Message, MessageStream};

const LOGIN_MANAGER: (&str, &str, &str) =
    ("/org/freedesktop/login1", "org.freedesktop.login1.Manager", "PrepareForSleep");
const NETWORK_MANAGER: (&str, &str, &str) =
    ("/org/freedesktop/NetworkManager", "org.freedesktop.NetworkManager", "StateChanged");
/// `NM_STATE_CONNECTED_GLOBAL`: the network is up and reaches the internet.
const NM_CONNECTED_GLOBAL: u32 = 70;

/// Calls `woken` after every resume and every return of the network, until the bus goes away.
pub async fn listen(woken: impl Fn()) {
    let bus = match Connection::system().await {
        Ok(bus) => bus,
        Err(error) => {
            tracing::debug!(%error, "no system bus: no catch-up on resume or network change");
            return;
        }
    };
    let (Some(mut resumes), Some(mut networks)) =
        (signals(&bus, LOGIN_MANAGER).await, signals(&bus, NETWORK_MANAGER).await)
    else {
        return;
    };
    tracing::info!("listening for resume and network changes on the system bus");
    loop {
        let wake = tokio::select! {
            Some(Ok(message)) = resumes.next() => resumed(&message),
            Some(Ok(message)) = networks.next() => connected(&message),
            else => break,
        };
        if let Some(why) = wake {
            tracing::info!(why, "catching up");
            woken();
        }
    }
    tracing::debug!("the system bus went away: no more catch-up on resume or network change");
}

/// The stream of one signal, or None (logged) when the bus refuses the match.
async fn signals(bus: &Connection, (path, interface, member): (&str, &str, &str)) -> Option<MessageStream> {
    let rule = MatchRule::builder().msg_type(Type::Signal).path(path).interface(interface).member(member).build();
    let subscribed = match rule {
        Ok(rule) => MessageStream::for_match_rule(rule, bus, None).await,
        Err(error) => Err(error),
    };
    subscribed.inspect_err(|error| tracing::warn!(%error, member, "cannot follow the system bus")).ok()
}

/// `PrepareForSleep(false)`: the machine has just resumed (`true` is sent before it sleeps).
fn resumed(message: &Message) -> Option<&'static str> {
    let going_to_sleep: bool = message.body().deserialize().ok()?;
    (!going_to_sleep).then_some("resumed from sleep")
}

/// `StateChanged(70)`: the network is connected again.
fn connected(message: &Message) -> Option<&'static str> {
    let state: u32 = message.body().deserialize().ok()?;
    (state == NM_CONNECTED_GLOBAL).then_some("network connected")
}
