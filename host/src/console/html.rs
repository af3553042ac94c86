//! The console's markup: escaping, the page around every view (navigation, the logout
//! form), and the style sheet, all embedded. No script: every page is plain HTML forms
//! and links, readable by a screen reader and usable without JavaScript.

use std::fmt::Write;

use crate::money;
use crate::store::{Millis, millis_text};

/// `text` safe in HTML text and in a quoted attribute.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// `text` in a URL's query string.
pub fn query_value(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// A time as the console shows it (UTC, to the second).
pub fn when(at: Millis) -> String {
    let text = millis_text(at);
    match text.split_once('.') {
        Some((seconds, _)) => format!("{seconds}Z"),
        None => text,
    }
}

/// An amount in ten-thousandths as a signed decimal.
pub fn amount(value: i64) -> String {
    let sign = if value < 0 { "-" } else { "" };
    format!("{sign}{}", money::format(value.abs()))
}

/// The hidden field every form of a session carries.
pub fn csrf_field(csrf: &str) -> String {
    format!(r#"<input type="hidden" name="csrf" value="{}">"#, esc(csrf))
}

/// A whole page: `title`, the navigation (with the operator and a logout form when
/// logged in), then `body`.
pub fn page(title: &str, who: Option<(&str, &str)>, body: &str) -> String {
    page_with_head(title, who, "", body)
}

/// As [`page`], with `head` added to the document's head (a refresh while work runs).
pub fn page_with_head(title: &str, who: Option<(&str, &str)>, head: &str, body: &str) -> String {
    let mut out = String::with_capacity(body.len() + 1024);
    let _ = write!(
        out,
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{} · ml-connector</title>
<link rel="stylesheet" href="/style.css">
{head}
</head>
<body>
<header>
<a class="brand" href="/">ml-connector</a>
"#,
        esc(title),
    );
    if let Some((operator, csrf)) = who {
        let _ = write!(
            out,
            r#"<nav aria-label="Main">
<a href="/">Overview</a>
<a href="/parked">Parked records</a>
<a href="/reconcile">Reconcile</a>
<a href="/plugins">Plugins</a>
</nav>
<form class="logout" method="post" action="/logout">{}<span>{}</span> <button type="submit">Log out</button></form>
"#,
            csrf_field(csrf),
            esc(operator)
        );
    }
    let _ = write!(
        out,
        "</header>\n<main>\n<h1>{}</h1>\n{body}\n</main>\n</body>\n</html>\n",
        esc(title)
    );
    out
}

/// The style sheet.
pub const STYLE: &str = r#"
:root { color-scheme: light dark; --line: #8884; --accent: #2b6cb0; --bad: #c53030; --good: #2f855a; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, sans-serif; }
header { display: flex; gap: 1.5rem; align-items: center; padding: .6rem 1.2rem; border-bottom: 1px solid var(--line); }
header .brand { font-weight: 600; text-decoration: none; }
header nav { display: flex; gap: 1rem; flex: 1; }
header .logout { display: flex; gap: .5rem; align-items: center; }
main { padding: 1rem 1.2rem 3rem; max-width: 1280px; }
h1 { font-size: 1.4rem; margin: .2rem 0 1rem; }
h2 { font-size: 1.1rem; margin: 1.6rem 0 .5rem; }
a { color: var(--accent); }
table { border-collapse: collapse; width: 100%; margin: .4rem 0 1rem; }
th, td { text-align: left; padding: .3rem .5rem; border-bottom: 1px solid var(--line); vertical-align: top; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
pre { background: #8881; padding: .6rem; overflow-x: auto; max-height: 28rem; font-size: 13px; }
form.inline { display: inline; }
fieldset { border: 1px solid var(--line); margin: .8rem 0; }
label { margin-right: .8rem; }
input, select, textarea, button { font: inherit; }
button { cursor: pointer; }
.bad { color: var(--bad); }
.good { color: var(--good); }
.received { color: var(--accent); }
.notice { border-left: 4px solid var(--accent); padding: .4rem .8rem; background: #8881; }
.error { border-left: 4px solid var(--bad); padding: .4rem .8rem; background: #8881; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(min(100%, 48rem), 1fr)); gap: 1rem; }
.card { border: 1px solid var(--line); padding: .6rem 1rem; min-width: 0; overflow-x: auto; }
.card svg { max-width: 100%; height: auto; }
figure { margin: .4rem 0 0; }
.reason { max-width: 36rem; overflow-wrap: anywhere; }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
"#;
