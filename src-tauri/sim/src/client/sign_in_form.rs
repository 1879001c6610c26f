//! A person on one of the sim's sign-in pages (`/v1/auth/cli`, `/v1/auth/authorize`): a form
//! with Continue and Deny. Tests of sign-in press a button here the way a browser would.

use reqwest::{header, redirect, StatusCode, Url};

/// The sign-in form as the sim served it.
pub struct SignInForm {
    http: reqwest::Client,
    /// Where the form posts (its `action`, on the page's origin).
    pub target: Url,
    pub request_id: String,
    pub html: String,
}

/// The value of the attribute that follows `marker` in `html`, up to its closing quote.
fn attribute(html: &str, marker: &str) -> String {
    let from = html.find(marker).unwrap_or_else(|| panic!("{marker} not in the sign-in page")) + marker.len();
    html[from..].split('"').next().unwrap_or_default().to_string()
}

impl SignInForm {
    /// Opens the page at `page_url`; fails the test unless it is the sim's form.
    pub async fn open(page_url: &str) -> Self {
        let page_url = Url::parse(page_url).expect("the sign-in page's URL");
        // A browser shows the redirect that answers the form; it does not follow it.
        let http = reqwest::Client::builder().redirect(redirect::Policy::none()).build().expect("an HTTP client");
        let page = http.get(page_url.clone()).header(header::ACCEPT, "text/html").send().await.expect("the page");
        assert_eq!(page.status(), StatusCode::OK, "the sign-in page opens");
        let html = page.text().await.expect("the page's text");
        assert!(html.contains("<form method=\"post\""), "a real form: {html}");
        assert!(html.contains("Continue as Alex Demo") && html.contains(">Deny<"), "both buttons: {html}");
        let target = page_url.join(&attribute(&html, "action=\"")).expect("the form's action");
        let request_id = attribute(&html, "name=\"request_id\" value=\"");
        Self { http, target, request_id, html }
    }

    /// Submits the form with `decision` (`approve` or `deny`): the sim's answer, whatever it is.
    pub async fn submit(&self, decision: &str) -> reqwest::Response {
        let form = [("request_id", self.request_id.as_str()), ("decision", decision)];
        self.http.post(self.target.clone()).form(&form).send().await.expect("the form's answer")
    }

    /// Presses `decision`; returns where the sim sends the browser (the redirect's `Location`).
    pub async fn press(&self, decision: &str) -> String {
        let answer = self.submit(decision).await;
        assert_eq!(answer.status(), StatusCode::FOUND, "the form redirects back to the app");
        answer.headers()[header::LOCATION].to_str().expect("a Location").to_string()
    }
}
