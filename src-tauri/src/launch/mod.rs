//! How the app is asked to do something: the command line, `kallyai://` links (and registering
//! this executable as their handler where the OS needs it done at run time: `link_handler`), a
//! second launch handing its arguments to the running instance, the tray menu and window
//! buttons. All of them end up as one `Action`.

pub mod action;
pub mod cli;
pub mod deep_link;
pub mod dispatch;
mod link_handler;

use tauri::AppHandle;
use tauri_plugin_deep_link::DeepLinkExt;

use action::Action;
use cli::Invocation;

/// Listens for links, then carries out what the command line that started the app asked for.
pub fn start(app: &AppHandle, startup_actions: Vec<Action>, startup_links: Vec<Action>) {
    link_handler::register_link_handler(app);
    app.deep_link().on_open_url({
        let app = app.clone();
        move |event| {
            for url in event.urls() {
                open_link(&app, url.as_str());
            }
        }
    });
    // A link that started the app arrives here, not through on_open_url. The plugin only takes
    // a link that is the sole argument; with flags beside it, the command line's own parse counts.
    match app.deep_link().get_current().ok().flatten() {
        Some(urls) => urls.iter().for_each(|url| open_link(app, url.as_str())),
        None => startup_links.into_iter().for_each(|action| dispatch::perform(app, action)),
    }
    for action in startup_actions {
        dispatch::perform(app, action);
    }
}

/// A second launch's arguments. They were checked by that process before it forwarded them; links
/// among them arrive separately through the deep-link plugin, so only flags are acted on here.
pub fn forwarded(app: &AppHandle, argv: Vec<String>) {
    match cli::parse(argv.into_iter().skip(1)) {
        Ok(Invocation::Run(launch)) => {
            if launch.api_base.is_some() {
                tracing::warn!(
                    "--api-base ignored: KallyAI Desktop is already running; quit it first to change the server"
                );
            }
            for action in launch.actions {
                dispatch::perform(app, action);
            }
        }
        Ok(Invocation::Print(_)) => {}
        Err(error) => tracing::warn!(%error, "ignored forwarded arguments"),
    }
}

fn open_link(app: &AppHandle, link: &str) {
    match deep_link::parse(link) {
        Ok(action) => dispatch::perform(app, action),
        // The link's text may carry a question or a code: log why, not what.
        Err(error) => tracing::warn!(%error, "refused a kallyai:// link"),
    }
}
