//! Plugin-supplied text made safe to print. A plugin's names, messages, panics and logs
//! reach terminals and log lines; control characters in them could move the cursor,
//! recolour or clear the screen, forge extra log lines, or reorder text (bidirectional
//! overrides). Every such character is shown escaped instead.

/// `text` with every control, bidirectional-override and line-separator character written
/// as a `\u{..}` escape (newlines and tabs as `\n` and `\t`); other text as it is.
pub fn printable(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if needs_escape(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{200e}' | '\u{200f}'            // left-to-right and right-to-left marks
            | '\u{2028}' | '\u{2029}'          // line and paragraph separators
            | '\u{202a}'..='\u{202e}'          // embeddings and overrides
            | '\u{2066}'..='\u{2069}'          // isolates
            | '\u{feff}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_newlines_and_terminal_controls() {
        assert_eq!(
            printable("ok\n\x1b[2J\x1b[31mred\u{9b}\u{202e}txt"),
            "ok\\n\\u{1b}[2J\\u{1b}[31mred\\u{9b}\\u{202e}txt"
        );
        assert_eq!(printable("Grüße, 日本"), "Grüße, 日本");
    }
}
