//! A small W3C WebDriver client over HTTP for tauri-driver (URL in `$TAURI_DRIVER_URL`), which
//! starts the app itself and drives its real WebKit webviews.

use serde_json::{json, Value};

pub struct Session {
    http: reqwest::Client,
    base: String,
}

impl Session {
    /// Starts the app under WebDriver with `args`.
    pub async fn start(application: &str, args: &[&str]) -> Session {
        let driver = std::env::var("TAURI_DRIVER_URL").expect("TAURI_DRIVER_URL (set by scripts/with-desktop)");
        let http = reqwest::Client::builder().timeout(std::time::Duration::from_secs(60)).build().expect("http client");
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "wry",
            "tauri:options": {"application": application, "args": args}
        }}});
        let reply: Value =
            http.post(format!("{driver}/session")).json(&caps).send().await.expect("new session").json().await.unwrap();
        let id = reply["value"]["sessionId"].as_str().unwrap_or_else(|| panic!("no session: {reply}")).to_string();
        Session { http, base: format!("{driver}/session/{id}") }
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        self.try_call(method, path, body).await.unwrap_or_else(|error| panic!("webdriver {path}: {error}"))
    }

    /// One WebDriver command; a WebDriver error (a window closed meanwhile, say) is returned.
    async fn try_call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Result<Value, String> {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let reply: Value = request.send().await.expect("webdriver request").json().await.expect("webdriver json");
        match reply["value"]["error"].as_str() {
            Some(error) => Err(format!("{error}: {}", reply["value"]["message"])),
            None => Ok(reply["value"].clone()),
        }
    }

    pub async fn window_handles(&self) -> Vec<String> {
        let value = self.call(reqwest::Method::GET, "/window/handles", None).await;
        value.as_array().into_iter().flatten().filter_map(|v| v.as_str().map(String::from)).collect()
    }

    pub async fn switch_to(&self, handle: &str) {
        self.call(reqwest::Method::POST, "/window", Some(json!({"handle": handle}))).await;
    }

    /// `execute`, where the window may close while it runs (the script closes it, say).
    pub async fn try_execute(&self, script: &str) -> Result<Value, String> {
        self.try_call(reqwest::Method::POST, "/execute/sync", Some(json!({"script": script, "args": []}))).await
    }

    /// Esc in the current page, as a user closes a window. The window may be destroyed before
    /// WebDriver hears back, so no answer is expected: wait for the window to go instead.
    pub async fn press_escape(&self) {
        let _ = self
            .try_execute("document.dispatchEvent(new KeyboardEvent('keydown', {key: 'Escape'})); return true;")
            .await;
    }

    pub async fn execute(&self, script: &str) -> Value {
        self.call(reqwest::Method::POST, "/execute/sync", Some(json!({"script": script, "args": []}))).await
    }

    /// Switches to the webview showing `page` (e.g. "credits.html"), waiting a while for it: the
    /// app creates a window (the quick-ask box aside) when it is first shown.
    pub async fn switch_to_page(&self, page: &str) -> bool {
        let mut polling = crate::common::wait::Polling::new(std::time::Duration::from_secs(15));
        loop {
            polling.tick().await;
            if self.try_switch_to_page(page).await {
                return true;
            }
            if polling.expired() {
                return false;
            }
        }
    }

    /// One look through the open webviews for `page`. A window may close while it is looked at.
    async fn try_switch_to_page(&self, page: &str) -> bool {
        for handle in self.window_handles().await {
            let get = reqwest::Method::GET;
            let switched = self.try_call(reqwest::Method::POST, "/window", Some(json!({"handle": handle}))).await;
            let path = match switched {
                Ok(_) => self.try_call(get, "/url", None).await.unwrap_or_default(),
                Err(_) => continue,
            };
            if path.as_str().and_then(|url| url.split(['?', '#']).next()).is_some_and(|p| p.ends_with(page)) {
                return true;
            }
        }
        false
    }

    pub async fn text_of(&self, css: &str) -> Option<String> {
        let element = self.find(css).await?;
        let text = self.call(reqwest::Method::GET, &format!("/element/{element}/text"), None).await;
        text.as_str().map(String::from)
    }

    /// The WebDriver id of the first element matching `css`, if there is one.
    pub async fn find(&self, css: &str) -> Option<String> {
        let found = self
            .http
            .post(format!("{}/element", self.base))
            .json(&json!({"using": "css selector", "value": css}))
            .send()
            .await
            .ok()?
            .json::<Value>()
            .await
            .ok()?;
        Some(found["value"].as_object()?.values().next()?.as_str()?.to_string())
    }

    /// Clicks the element matching `css` as a user would (WebDriver element click).
    pub async fn click(&self, css: &str) {
        let element = self.find(css).await.unwrap_or_else(|| panic!("no element {css}"));
        self.call(reqwest::Method::POST, &format!("/element/{element}/click"), Some(json!({}))).await;
    }

    /// Types `text` into the element matching `css` (WebDriver keys: "\u{E007}" is Enter).
    pub async fn send_keys(&self, css: &str, text: &str) {
        let element = self.find(css).await.unwrap_or_else(|| panic!("no element {css}"));
        self.call(reqwest::Method::POST, &format!("/element/{element}/value"), Some(json!({"text": text}))).await;
    }

    /// A PNG of the current webview (it must be visible).
    pub async fn screenshot(&self) -> Vec<u8> {
        use base64::Engine;
        // WebKitWebDriver captures the last frame the window presented: let the page paint what
        // it has in its DOM now (two animation frames) first, or a window just created or just
        // filled shows an older frame.
        let painted = "const done = arguments[arguments.length - 1];
                       requestAnimationFrame(() => requestAnimationFrame(() => done(true)));";
        self.call(reqwest::Method::POST, "/execute/async", Some(json!({"script": painted, "args": []}))).await;
        let value = self.call(reqwest::Method::GET, "/screenshot", None).await;
        base64::engine::general_purpose::STANDARD.decode(value.as_str().expect("base64 png")).expect("decode png")
    }

    pub async fn end(self) {
        let _ = self.http.delete(&self.base).send().await;
    }
}
