//! Compares introspection XML by meaning rather than by text.

use std::fmt::Write as _;

use roxmltree::{Document, Node};

/// Why an introspection document could not be normalized.
#[derive(Debug, thiserror::Error)]
pub enum IntrospectionError {
    /// It is not well-formed XML.
    #[error("introspection data is not XML")]
    Xml(#[from] roxmltree::Error),
    /// It is XML but not an introspection document.
    #[error("introspection data is malformed: {0}")]
    Malformed(String),
}

/// The interfaces of an introspection document as sorted lines, one per
/// member, so two documents describe the same API iff their normalized forms
/// are equal.
///
/// What counts: interface, method, signal and property names; argument
/// types, directions and names, in order; property types and access;
/// annotations. What does not: whitespace, comments, member order, child
/// `<node>`s, and the standard `org.freedesktop.DBus.*` interfaces that every
/// zbus object adds. An absent `EmitsChangedSignal` annotation means `true`,
/// as in the D-Bus specification, because zbus writes it only for other
/// values.
///
/// Because the output is sorted lines, the normalized forms of several
/// objects (the manager and one profile) can be merged by joining and sorting
/// their lines.
///
/// # Errors
///
/// [`IntrospectionError`] if `xml` is not XML or not a `<node>` document.
pub fn normalize_introspection(xml: &str) -> Result<String, IntrospectionError> {
    let doc = Document::parse_with_options(
        xml,
        roxmltree::ParsingOptions {
            // zbus and GLib emit the introspection DOCTYPE.
            allow_dtd: true,
            ..roxmltree::ParsingOptions::default()
        },
    )?;
    let root = doc.root_element();
    if !root.has_tag_name("node") {
        return Err(IntrospectionError::Malformed(format!(
            "the root element is <{}>, not <node>",
            root.tag_name().name()
        )));
    }
    let mut lines = Vec::new();
    for iface in elements(root, "interface") {
        let name = attr(iface, "name")?;
        if name.starts_with("org.freedesktop.DBus.") {
            continue;
        }
        lines.push(format!("{name} interface{}", annotations(iface, None)?));
        for member in iface.children().filter(Node::is_element) {
            let line = match member.tag_name().name() {
                "method" => format!(
                    "method {}({}){}",
                    attr(member, "name")?,
                    args(member, "in")?,
                    annotations(member, None)?
                ),
                "signal" => format!(
                    "signal {}({}){}",
                    attr(member, "name")?,
                    args(member, "out")?,
                    annotations(member, None)?
                ),
                "property" => format!(
                    "property {} {} {}{}",
                    attr(member, "name")?,
                    attr(member, "type")?,
                    attr(member, "access")?,
                    annotations(
                        member,
                        Some(("org.freedesktop.DBus.Property.EmitsChangedSignal", "true"))
                    )?
                ),
                // Interface annotations are on the interface line.
                "annotation" => continue,
                other => {
                    return Err(IntrospectionError::Malformed(format!(
                        "unexpected <{other}> in interface {name}"
                    )))
                }
            };
            lines.push(format!("{name} {line}"));
        }
    }
    lines.sort_unstable();
    Ok(lines.join("\n"))
}

fn elements<'a, 'input>(
    node: Node<'a, 'input>,
    tag: &'static str,
) -> impl Iterator<Item = Node<'a, 'input>> {
    node.children().filter(move |c| c.has_tag_name(tag))
}

fn attr<'a>(node: Node<'a, '_>, name: &str) -> Result<&'a str, IntrospectionError> {
    node.attribute(name).ok_or_else(|| {
        IntrospectionError::Malformed(format!(
            "<{}> has no {name} attribute",
            node.tag_name().name()
        ))
    })
}

fn args(member: Node<'_, '_>, default_direction: &str) -> Result<String, IntrospectionError> {
    let mut out = Vec::new();
    for arg in elements(member, "arg") {
        let direction = arg.attribute("direction").unwrap_or(default_direction);
        let name = arg.attribute("name").unwrap_or("-");
        out.push(format!("{direction} {} {name}", attr(arg, "type")?));
    }
    Ok(out.join(", "))
}

/// The member's annotations as ` [name=value; …]`, sorted, with `default`
/// dropped when it has its default value.
fn annotations(
    member: Node<'_, '_>,
    default: Option<(&str, &str)>,
) -> Result<String, IntrospectionError> {
    let mut found = Vec::new();
    for a in elements(member, "annotation") {
        let (name, value) = (attr(a, "name")?, attr(a, "value")?);
        if default != Some((name, value)) {
            found.push(format!("{name}={value}"));
        }
    }
    if found.is_empty() {
        return Ok(String::new());
    }
    found.sort_unstable();
    let mut s = String::from(" [");
    for (i, f) in found.iter().enumerate() {
        let sep = if i == 0 { "" } else { "; " };
        let _ = write!(s, "{sep}{f}");
    }
    s.push(']');
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    const COMMITTED: &str = include_str!("../org.bpfbox.Bpfbox1.xml");

    #[test]
    fn order_whitespace_and_standard_interfaces_do_not_matter() {
        let a = r#"<node>
          <interface name="org.freedesktop.DBus.Peer"><method name="Ping"/></interface>
          <interface name="x.Y">
            <method name="A"><arg name="v" type="s" direction="in"/></method>
            <property name="P" type="u" access="read"/>
          </interface>
          <node name="child"/>
        </node>"#;
        let b = r#"<node><interface name="x.Y"><property name="P" type="u" access="read">
            <annotation name="org.freedesktop.DBus.Property.EmitsChangedSignal" value="true"/>
          </property><method name="A"><arg type="s" name="v"/></method></interface></node>"#;
        assert_eq!(
            normalize_introspection(a).unwrap(),
            normalize_introspection(b).unwrap()
        );
    }

    #[test]
    fn argument_order_types_and_names_matter() {
        let base = r#"<node><interface name="x.Y"><method name="A">
            <arg name="a" type="s" direction="in"/><arg name="b" type="u" direction="in"/>
            </method></interface></node>"#;
        let swapped = base
            .replace(r#"name="a" type="s""#, "TMP")
            .replace(r#"name="b" type="u""#, r#"name="a" type="s""#)
            .replace("TMP", r#"name="b" type="u""#);
        let retyped = base.replace(r#"type="u""#, r#"type="t""#);
        let renamed = base.replace(r#"name="b""#, r#"name="c""#);
        let n = |x: &str| normalize_introspection(x).unwrap();
        assert_ne!(n(base), n(&swapped));
        assert_ne!(n(base), n(&retyped));
        assert_ne!(n(base), n(&renamed));
    }

    #[test]
    fn emits_changed_signal_other_than_true_matters() {
        let with = |value: &str| {
            format!(
                r#"<node><interface name="x.Y"><property name="P" type="u" access="read">
                <annotation name="org.freedesktop.DBus.Property.EmitsChangedSignal" value="{value}"/>
                </property></interface></node>"#
            )
        };
        let n = |x: &str| normalize_introspection(x).unwrap();
        assert_ne!(n(&with("const")), n(&with("true")));
        assert_ne!(n(&with("const")), n(&with("false")));
    }

    #[test]
    fn non_introspection_xml_is_an_error() {
        assert!(normalize_introspection("<node>").is_err());
        assert!(normalize_introspection("<busconfig/>").is_err());
    }

    #[test]
    fn committed_xml_has_both_interfaces_and_every_documented_member() {
        let n = normalize_introspection(COMMITTED).unwrap();
        for needle in [
            "org.bpfbox.Bpfbox1.Manager method GetProfile(in s executable, in a{sv} options, out o profile)",
            "org.bpfbox.Bpfbox1.Manager method GrantTemporary(in t event_id, in s duration, in a{sv} options, out o profile, out s rule_id)",
            "org.bpfbox.Bpfbox1.Manager signal Denied(out (txsssuuusssssus) event)",
            "org.bpfbox.Bpfbox1.Manager signal PolicyReloaded(out u profiles, out u errors)",
            "org.bpfbox.Bpfbox1.Manager property PolicyProblems a(suuss) read",
            "org.bpfbox.Bpfbox1.Manager property EventsLost t read [org.freedesktop.DBus.Property.EmitsChangedSignal=false]",
            "org.bpfbox.Bpfbox1.Profile method GetRules(in a{sv} options, out a(ssssbsas) rules)",
            "org.bpfbox.Bpfbox1.Profile method AddRule(in s kind, in s body, in a{sv} options, out s rule_id)",
            "org.bpfbox.Bpfbox1.Profile property Executable s read [org.freedesktop.DBus.Property.EmitsChangedSignal=const]",
        ] {
            assert!(n.lines().any(|l| l == needle), "missing {needle}\nin:\n{n}");
        }
        assert_eq!(n.lines().filter(|l| l.contains(" method ")).count(), 9 + 9);
        assert_eq!(
            n.lines().filter(|l| l.contains(" property ")).count(),
            10 + 13
        );
        assert_eq!(n.lines().filter(|l| l.contains(" signal ")).count(), 2);
    }
}
