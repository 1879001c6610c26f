//! Notification text as the server will read it. Caller names, call summaries, email subjects and
//! message previews come from outside; a freedesktop server that advertises `body-markup` renders
//! `<a href>`, `<img>` and `<b>` in the body, so an outside sender could put a link inside a
//! trusted-looking KallyAI notice, and a stray `&` or `<` blanks the text. Where the server reads
//! markup, the body is escaped so it shows literally; where it does not, it goes as it is
//! (escaping would show `&amp;`). The summary is plain text by the specification, and servers
//! treat it so (dunst escapes it itself: an escaped summary shows `&lt;b&gt;`), so it goes as it is.

use std::borrow::Cow;

/// Which parts of a notice the server reads as markup.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Markup {
    pub body: bool,
    pub summary: bool,
}

impl Markup {
    /// From the server's capabilities (`GetCapabilities`).
    pub fn of_server(capabilities: &[String]) -> Self {
        Self { body: capabilities.iter().any(|c| c == "body-markup"), summary: false }
    }

    /// When the server cannot be asked: escaping a body that is plain at worst shows an entity,
    /// not reading markup that is there could show a link.
    pub const UNKNOWN: Markup = Markup { body: true, summary: false };
}

/// `text` as literal text in Pango/HTML-like markup.
pub fn escape(text: &str) -> Cow<'_, str> {
    if !text.contains(['&', '<', '>']) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// The (summary, body) to send to a server that reads `markup`.
pub fn for_server<'a>(summary: &'a str, body: &'a str, markup: Markup) -> (Cow<'a, str>, Cow<'a, str>) {
    let literal = |text: &'a str, marked: bool| if marked { escape(text) } else { Cow::Borrowed(text) };
    (literal(summary, markup.summary), literal(body, markup.body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_text_is_shown_literally_where_markup_is_read() {
        let hostile = r#"<a href="https://evil.example">Bank</a> & <img src=x> <b>"#;
        let escaped = escape(hostile);
        assert_eq!(escaped, r#"&lt;a href="https://evil.example"&gt;Bank&lt;/a&gt; &amp; &lt;img src=x&gt; &lt;b&gt;"#);
        assert!(!escaped.contains('<') && !escaped.contains('>'));
        assert!(matches!(escape("Dr. Smith"), Cow::Borrowed(_)));
    }

    #[test]
    fn what_is_escaped_follows_the_server() {
        let caps = |c: &[&str]| c.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let markup = Markup::of_server(&caps(&["actions", "body", "body-markup"]));
        assert_eq!(markup, Markup { body: true, summary: false });
        let plain = Markup::of_server(&caps(&["actions", "body"]));
        assert_eq!(plain, Markup { body: false, summary: false });
        let (summary, body) = for_server("A & B", "<b>x</b>", markup);
        assert_eq!((summary.as_ref(), body.as_ref()), ("A & B", "&lt;b&gt;x&lt;/b&gt;"));
    }
}
