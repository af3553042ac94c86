//! Printing an error with its causes: each cause in the chain is added after a colon,
//! unless the message before it already says it (several errors here name their cause in
//! their own message, for the logs and the audit trail, and keep it as their source too).

use std::error::Error;

/// `error` and its causes, as one line.
pub fn chain(error: &(dyn Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(error) = cause {
        let message = error.to_string();
        if !message.is_empty() && !text.contains(&message) {
            text.push_str(": ");
            text.push_str(&message);
        }
        cause = error.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("cannot read the file")]
    struct Outer(#[source] std::io::Error);

    #[derive(Debug, thiserror::Error)]
    #[error("the store failed: {0}")]
    struct Says(#[source] std::io::Error);

    #[test]
    fn causes_are_added_once() {
        let io = || std::io::Error::other("disk full");
        assert_eq!(chain(&Outer(io())), "cannot read the file: disk full");
        assert_eq!(chain(&Says(io())), "the store failed: disk full");
    }
}
