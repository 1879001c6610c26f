//! Replies as the assistant writes them (markdown in practice) turned into a small tree of
//! allowed elements the box builds with DOM calls: paragraphs, headings, lists, quotes, emphasis,
//! code, links and line breaks. Nothing else exists in the tree, so nothing else can reach the
//! page: raw HTML stays literal text, an image is its description (nothing loads from outside),
//! a link is kept only for web addresses (the opener checks them again on click), nesting
//! deeper than `MAX_DEPTH` is flattened, and only the first `MAX_CHARS` are formatted.
//!
//! Parsed by `pulldown-cmark` (CommonMark, with strikethrough and task lists); its HTML writer is
//! not built: the tree is the only output.

use pulldown_cmark::{Event, HeadingLevel, Options, Parser, Tag, TagEnd};
use serde::{Deserialize, Serialize};

/// Elements nested deeper than this keep their text but lose their element.
pub const MAX_DEPTH: usize = 12;
/// A reply longer than this (in characters) is formatted up to here; `truncated` says so.
pub const MAX_CHARS: usize = 100_000;

/// The elements a reply may have. The page maps each to one HTML tag and refuses any other.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Element {
    Paragraph,
    /// Headings 1–2 (a reply's title, shown small in the box).
    Heading,
    /// Headings 3–6.
    Subheading,
    BulletList,
    NumberedList,
    Item,
    Quote,
    Emphasis,
    Strong,
    Strikethrough,
    CodeBlock,
    Rule,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Node {
    Text {
        text: String,
    },
    Code {
        text: String,
    },
    Break,
    Element {
        element: Element,
        children: Vec<Node>,
    },
    /// `href` is an http(s) address; anything else is kept as its text only.
    Link {
        href: String,
        children: Vec<Node>,
    },
}

/// A reply as the box shows it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Formatted {
    pub nodes: Vec<Node>,
    /// Only the first `MAX_CHARS` were formatted (the reply's text is still whole).
    pub truncated: bool,
}

/// What an open element becomes when it closes.
enum Frame {
    Element(Element),
    Link(Option<String>),
    /// Not allowed, or too deep: its children join its parent.
    Transparent,
}

pub fn format(text: &str) -> Formatted {
    let (source, truncated) = match text.char_indices().nth(MAX_CHARS) {
        Some((cut, _)) => (&text[..cut], true),
        None => (text, false),
    };
    let mut options = Options::empty();
    options.insert(Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TASKLISTS);
    // Open frames; a transparent one has no children of its own: what it holds goes straight to
    // the nearest kept frame, in the order it comes.
    let mut stack: Vec<(Frame, Option<Vec<Node>>)> = vec![(Frame::Transparent, Some(Vec::new()))];
    let mut depth = 0usize; // open elements that are kept
    for event in Parser::new_ext(source, options) {
        match event {
            Event::Start(tag) => {
                let block = is_block(&tag);
                let frame = match frame_for(tag) {
                    Frame::Transparent => Frame::Transparent,
                    _ if depth >= MAX_DEPTH => Frame::Transparent,
                    kept => {
                        depth += 1;
                        kept
                    }
                };
                if let Frame::Transparent = frame {
                    // A flattened block starts on a line of its own.
                    if block {
                        end_line(top(&mut stack));
                    }
                    stack.push((frame, None));
                } else {
                    stack.push((frame, Some(Vec::new())));
                }
            }
            Event::End(end) => {
                if stack.len() < 2 {
                    continue;
                }
                let (frame, children) = stack.pop().expect("checked above");
                let children = children.unwrap_or_default();
                let parent = top(&mut stack);
                match frame {
                    Frame::Element(element) => {
                        depth -= 1;
                        parent.push(Node::Element { element, children });
                    }
                    Frame::Link(Some(href)) => {
                        depth -= 1;
                        parent.push(Node::Link { href, children });
                    }
                    Frame::Link(None) => {
                        depth -= 1;
                        parent.extend(children);
                    }
                    // A flattened block still ends its line.
                    Frame::Transparent => {
                        if matches!(end, TagEnd::Paragraph | TagEnd::Heading(_) | TagEnd::Item | TagEnd::CodeBlock) {
                            end_line(parent);
                        }
                    }
                }
            }
            Event::Text(text) | Event::Html(text) | Event::InlineHtml(text) => push_text(&mut stack, &text),
            Event::InlineMath(text) | Event::DisplayMath(text) => push_text(&mut stack, &text),
            Event::Code(text) => top(&mut stack).push(Node::Code { text: text.into_string() }),
            Event::SoftBreak => push_text(&mut stack, " "),
            Event::HardBreak => top(&mut stack).push(Node::Break),
            Event::Rule => top(&mut stack).push(Node::Element { element: Element::Rule, children: Vec::new() }),
            Event::TaskListMarker(done) => push_text(&mut stack, if done { "☑ " } else { "☐ " }),
            Event::FootnoteReference(label) => push_text(&mut stack, &format!("[{label}]")),
        }
    }
    // Unclosed frames (not expected from the parser) fold into the root.
    while stack.len() > 1 {
        let (_, children) = stack.pop().expect("checked");
        top(&mut stack).extend(children.unwrap_or_default());
    }
    let nodes = stack.pop().and_then(|(_, nodes)| nodes).unwrap_or_default();
    Formatted { nodes, truncated }
}

fn frame_for(tag: Tag<'_>) -> Frame {
    let element = match tag {
        Tag::Paragraph => Element::Paragraph,
        Tag::Heading { level: HeadingLevel::H1 | HeadingLevel::H2, .. } => Element::Heading,
        Tag::Heading { .. } => Element::Subheading,
        Tag::BlockQuote(_) => Element::Quote,
        Tag::CodeBlock(_) => Element::CodeBlock,
        Tag::List(Some(_)) => Element::NumberedList,
        Tag::List(None) => Element::BulletList,
        Tag::Item => Element::Item,
        Tag::Emphasis => Element::Emphasis,
        Tag::Strong => Element::Strong,
        Tag::Strikethrough => Element::Strikethrough,
        Tag::Link { dest_url, .. } => return Frame::Link(web_address(&dest_url)),
        // An image is its description; HTML, tables, footnotes and the rest are their text.
        _ => return Frame::Transparent,
    };
    Frame::Element(element)
}

/// `href` when it is an absolute http(s) address.
fn web_address(href: &str) -> Option<String> {
    let url = url::Url::parse(href.trim()).ok()?;
    matches!(url.scheme(), "http" | "https").then(|| url.to_string())
}

fn is_block(tag: &Tag<'_>) -> bool {
    matches!(tag, Tag::Paragraph | Tag::Heading { .. } | Tag::Item | Tag::CodeBlock(_) | Tag::BlockQuote(_))
}

/// A line break, unless `nodes` is empty or already ends its line.
fn end_line(nodes: &mut Vec<Node>) {
    if !matches!(nodes.last(), None | Some(Node::Break)) {
        nodes.push(Node::Break);
    }
}

/// The children of the nearest kept frame (the root is always kept).
fn top(stack: &mut [(Frame, Option<Vec<Node>>)]) -> &mut Vec<Node> {
    stack.iter_mut().rev().find_map(|(_, children)| children.as_mut()).expect("the root stays")
}

/// Appends text, joined to the text before it (the parser splits text at every special
/// character; the page then makes one text node of each run).
fn push_text(stack: &mut [(Frame, Option<Vec<Node>>)], text: &str) {
    let nodes = top(stack);
    if let Some(Node::Text { text: last }) = nodes.last_mut() {
        last.push_str(text);
    } else {
        nodes.push(Node::Text { text: text.to_string() });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(t: &str) -> Node {
        Node::Text { text: t.to_string() }
    }

    fn element(element: Element, children: Vec<Node>) -> Node {
        Node::Element { element, children }
    }

    #[test]
    fn paragraphs_lists_emphasis_code_and_links() {
        let f = format("Hi **Alex**, *two* things:\n\n1. `call` the [clinic](https://clinic.example/a)\n2. ~~old~~\n");
        assert_eq!(
            f.nodes,
            vec![
                element(
                    Element::Paragraph,
                    vec![
                        text("Hi "),
                        element(Element::Strong, vec![text("Alex")]),
                        text(", "),
                        element(Element::Emphasis, vec![text("two")]),
                        text(" things:"),
                    ]
                ),
                element(
                    Element::NumberedList,
                    vec![
                        element(
                            Element::Item,
                            vec![
                                Node::Code { text: "call".into() },
                                text(" the "),
                                Node::Link { href: "https://clinic.example/a".into(), children: vec![text("clinic")] },
                            ]
                        ),
                        element(Element::Item, vec![element(Element::Strikethrough, vec![text("old")])]),
                    ]
                ),
            ]
        );
        assert!(!f.truncated);
    }

    #[test]
    fn html_stays_text_and_images_and_scripts_go_nowhere() {
        let f = format("<script>alert(1)</script>\n\nSee ![tracker](https://evil.example/p.png) and [x](javascript:alert(1)) <b>bold</b>");
        let json = serde_json::to_string(&f).unwrap();
        assert!(json.contains("<script>alert(1)</script>"), "raw HTML kept as text: {json}");
        assert!(!json.contains("evil.example"), "an image loads nothing: {json}");
        assert!(json.contains("tracker"), "an image is its description: {json}");
        assert!(!json.contains("javascript"), "no script link: {json}");
        assert!(json.contains("<b>bold</b>"), "{json}");
    }

    #[test]
    fn deep_nesting_is_flattened_and_long_text_cut() {
        let deep: String = (0..300).map(|i| format!("{}- level {i}\n", "  ".repeat(i))).collect();
        let f = format(&deep);
        assert!(depth(&f.nodes) <= MAX_DEPTH, "{}", depth(&f.nodes));
        let json = serde_json::to_string(&f).unwrap();
        assert!(
            json.contains(r#"{"kind":"text","text":"level 40"},{"kind":"break"},{"kind":"text","text":"level 41"}"#),
            "flattened items keep their lines: {}",
            &json[json.find("level 40").unwrap_or(0).saturating_sub(100)..][..300]
        );
        assert!(json.contains("level 299"), "no text is lost: {}", &json[json.len().saturating_sub(600)..]);

        let long = "word ".repeat(MAX_CHARS);
        let f = format(&long);
        assert!(f.truncated);
        assert!(serde_json::to_string(&f).unwrap().len() < long.len());
    }

    fn depth(nodes: &[Node]) -> usize {
        nodes
            .iter()
            .map(|n| match n {
                Node::Element { children, .. } | Node::Link { children, .. } => 1 + depth(children),
                _ => 0,
            })
            .max()
            .unwrap_or(0)
    }

    fn links(nodes: &[Node], out: &mut Vec<String>) {
        for n in nodes {
            match n {
                Node::Link { href, children } => {
                    out.push(href.clone());
                    links(children, out);
                }
                Node::Element { children, .. } => links(children, out),
                _ => {}
            }
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]
        /// Markdown-ish noise: never a panic, nesting bounded, links only to web addresses.
        #[test]
        fn any_text_formats_within_bounds(text in r"([-*_`#>\[\]()!<>/: \n]|[a-z]{1,6}|  |1\. |https?://x\.example|javascript:|<script>|<img src=x>){0,200}") {
            let f = format(&text);
            proptest::prop_assert!(depth(&f.nodes) <= MAX_DEPTH);
            let mut hrefs = Vec::new();
            links(&f.nodes, &mut hrefs);
            proptest::prop_assert!(hrefs.iter().all(|h| h.starts_with("http://") || h.starts_with("https://")), "{hrefs:?}");
        }
    }
}
