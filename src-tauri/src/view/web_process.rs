//! One WebKit web process for all the app's windows, where the platform lets the app choose.
//! WebKitGTK starts a web process (about 45 MiB) per view unless a view is created *related* to
//! another, which then shares its process; the app's six small pages need one. Elsewhere (WebView2,
//! WKWebView) the webview manages its processes itself, and this does nothing.
//!
//! The platform is chosen here, by the `cfg`s below, and nowhere else.

use tauri::{Runtime, WebviewWindow, WebviewWindowBuilder};

/// The web process the next windows join: the first window's.
pub struct SharedWebProcess {
    #[cfg(target_os = "linux")]
    first_view: Option<webkit2gtk::WebView>,
}

#[cfg(target_os = "linux")]
thread_local! {
    /// Hands the view out of `with_webview`, whose closure must be `Send` (a WebKit view is not).
    static HANDED_OVER: std::cell::RefCell<Option<webkit2gtk::WebView>> = const { std::cell::RefCell::new(None) };
}

impl SharedWebProcess {
    /// The process of `first`. Called on the main thread, where `with_webview` runs at once;
    /// anywhere else the windows simply get a process each (logged).
    pub fn of<R: Runtime>(first: &WebviewWindow<R>) -> SharedWebProcess {
        #[cfg(target_os = "linux")]
        {
            let asked =
                first.with_webview(|webview| HANDED_OVER.with(|slot| *slot.borrow_mut() = Some(webview.inner())));
            let first_view = asked.ok().and_then(|()| HANDED_OVER.with(|slot| slot.borrow_mut().take()));
            if first_view.is_none() {
                tracing::warn!("no view to share: each window gets its own web process");
            }
            SharedWebProcess { first_view }
        }
        #[cfg(not(target_os = "linux"))]
        {
            let _ = first;
            SharedWebProcess {}
        }
    }

    /// `builder`, set to make its window's view share the first window's web process.
    pub fn join<'a, R: Runtime, M: tauri::Manager<R>>(
        &self,
        builder: WebviewWindowBuilder<'a, R, M>,
    ) -> WebviewWindowBuilder<'a, R, M> {
        #[cfg(target_os = "linux")]
        if let Some(view) = &self.first_view {
            return builder.with_related_view(view.clone());
        }
        builder
    }
}
