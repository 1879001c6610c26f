// A reply's formatting, built with DOM calls from core's tree (core/src/markdown.rs): only the
// elements below can appear, text is always a text node, links open through the app's opener.
// Never HTML strings: an element the tree names that is not listed here becomes its text.
import { linkified, webLink } from "./common.js";

const TAGS = {
  paragraph: "p",
  heading: "h3",
  subheading: "h4",
  bullet_list: "ul",
  numbered_list: "ol",
  item: "li",
  quote: "blockquote",
  emphasis: "em",
  strong: "strong",
  strikethrough: "del",
  rule: "hr",
};
/** Deeper than core's own limit means the tree did not come from core: flatten the rest. */
const MAX_DEPTH = 16;

/** The plain text of `nodes` (what a code block shows, what a link says). */
function plain(nodes, depth = 0) {
  return (nodes ?? [])
    .map((n) => (n?.kind === "break" ? "\n" : typeof n?.text === "string" ? n.text : depth < MAX_DEPTH ? plain(n?.children, depth + 1) : ""))
    .join("");
}

/** DOM nodes for a formatted reply's `nodes`. */
export function formattedNodes(nodes, depth = 0) {
  const out = [];
  for (const node of Array.isArray(nodes) ? nodes : []) {
    switch (node?.kind) {
      case "text":
        out.push(...linkified(String(node.text ?? "")));
        break;
      case "code": {
        const code = document.createElement("code");
        code.textContent = String(node.text ?? "");
        out.push(code);
        break;
      }
      case "break":
        out.push(document.createElement("br"));
        break;
      case "link":
        out.push(webLink(String(node.href ?? ""), plain(node.children)));
        break;
      case "element": {
        if (node.element === "code_block") {
          const pre = document.createElement("pre");
          const code = document.createElement("code");
          code.textContent = plain(node.children);
          pre.append(code);
          out.push(pre);
          break;
        }
        const tag = Object.hasOwn(TAGS, node.element) ? TAGS[node.element] : null;
        const children = depth < MAX_DEPTH ? formattedNodes(node.children, depth + 1) : [document.createTextNode(plain(node.children))];
        if (!tag || depth >= MAX_DEPTH) {
          out.push(...children);
          break;
        }
        const element = document.createElement(tag);
        element.append(...children);
        out.push(element);
        break;
      }
      default:
        break;
    }
  }
  return out;
}
