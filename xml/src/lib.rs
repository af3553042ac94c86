//! A small XML tree for QXtend's SOAP messages, shared by the QAD client (which reads
//! QXtend's answers) and the QAD simulator (which reads QDocs), and escaping for the
//! text both write. Elements are named by their local name (`ns1:result` and `result`
//! are the same element), because QAD's answers and its clients bind the same namespaces
//! to different prefixes. A DTD is refused, and only XML's predefined entities and
//! character references are expanded.

use std::borrow::Cow;

use quick_xml::Reader;
use quick_xml::events::Event;

/// One element: its local name, its child elements and the text directly inside it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Element {
    pub name: String,
    pub children: Vec<Element>,
    /// The element's own character data (children's text not included), as written.
    pub text: String,
}

impl Element {
    /// The first child with this local name.
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    /// Every child with this local name, in document order.
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }

    /// The first element with this local name at any depth below this one (depth first).
    pub fn find(&self, name: &str) -> Option<&Element> {
        self.children.iter().find_map(|c| {
            if c.name == name {
                Some(c)
            } else {
                c.find(name)
            }
        })
    }

    /// The element's text, trimmed.
    pub fn value(&self) -> &str {
        self.text.trim()
    }

    /// A child's trimmed text; `None` when there is no such child.
    pub fn child_value(&self, name: &str) -> Option<&str> {
        self.child(name).map(Element::value)
    }
}

/// Parses a whole document into its root element.
pub fn parse(text: &str) -> Result<Element, String> {
    let mut reader = Reader::from_str(text);
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    loop {
        let position = reader.buffer_position();
        let event = reader
            .read_event()
            .map_err(|e| format!("not well-formed XML near byte {position}: {e}"))?;
        match event {
            Event::Start(start) => {
                if root.is_some() {
                    return Err("content after the root element".into());
                }
                stack.push(Element {
                    name: local(start.local_name().as_ref()),
                    ..Element::default()
                });
            }
            Event::Empty(start) => {
                let element = Element {
                    name: local(start.local_name().as_ref()),
                    ..Element::default()
                };
                close(&mut stack, &mut root, element)?;
            }
            Event::End(_) => {
                let element = stack
                    .pop()
                    .ok_or("an end tag without its start tag".to_string())?;
                close(&mut stack, &mut root, element)?;
            }
            Event::Text(text) => append(&mut stack, &text.xml10_content())?,
            Event::CData(data) => append(&mut stack, &data.xml10_content())?,
            Event::GeneralRef(reference) => {
                let expanded = match reference.resolve_char_ref() {
                    Ok(Some(c)) => c.to_string(),
                    Ok(None) => predefined(&reference)
                        .ok_or_else(|| format!("unknown entity &{};", &*reference))?
                        .to_string(),
                    Err(e) => return Err(format!("bad character reference: {e}")),
                };
                append(&mut stack, &expanded)?;
            }
            Event::DocType(_) => return Err("a DTD is not allowed in a SOAP message".into()),
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
            Event::Eof => break,
        }
    }
    if let Some(open) = stack.last() {
        return Err(format!("the document ends inside <{}>", open.name));
    }
    root.ok_or_else(|| "the document has no root element".into())
}

/// A finished element goes into its parent, or becomes the root.
fn close(
    stack: &mut [Element],
    root: &mut Option<Element>,
    element: Element,
) -> Result<(), String> {
    match stack.last_mut() {
        Some(parent) => parent.children.push(element),
        None if root.is_none() => *root = Some(element),
        None => return Err("more than one root element".into()),
    }
    Ok(())
}

/// Character data goes to the open element; outside the root only whitespace may appear.
fn append(stack: &mut [Element], text: &str) -> Result<(), String> {
    match stack.last_mut() {
        Some(open) => open.text.push_str(text),
        None if text.trim().is_empty() => {}
        None => return Err("text outside the root element".into()),
    }
    Ok(())
}

fn local(name: &str) -> String {
    name.to_string()
}

/// XML's five predefined entities.
fn predefined(name: &str) -> Option<char> {
    Some(match name {
        "lt" => '<',
        "gt" => '>',
        "amp" => '&',
        "apos" => '\'',
        "quot" => '"',
        _ => return None,
    })
}

/// Text made safe for element content and attribute values.
pub fn escape(text: &str) -> Cow<'_, str> {
    quick_xml::escape::escape(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_are_ignored_and_entities_expanded() {
        let root = parse(
            r#"<?xml version="1.0"?>
            <s:Envelope xmlns:s="urn:x"><s:Body><ns1:r xmlns:ns1="urn:y">
              <ns1:result>warn&amp;ing &#233;<![CDATA[<raw>]]></ns1:result><e/>
            </ns1:r></s:Body></s:Envelope>"#,
        )
        .unwrap();
        assert_eq!(root.name, "Envelope");
        let r = root.find("r").unwrap();
        assert_eq!(r.child_value("result"), Some("warn&ing é<raw>"));
        assert_eq!(r.child_value("e"), Some(""));
        assert_eq!(escape("a<b & \"c\""), "a&lt;b &amp; &quot;c&quot;");
    }

    #[test]
    fn malformed_documents_are_refused_with_a_reason() {
        for bad in [
            "<a><b></a>",
            "<a>",
            "",
            "<a/><b/>",
            "text",
            "<a>&foo;</a>",
            "<!DOCTYPE a [<!ENTITY x \"y\">]><a>&x;</a>",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
