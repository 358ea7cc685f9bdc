//! AsyncAPI 3.x: `operations` name what the application does. `action: send` makes it a
//! producer on the channel's address, `action: receive` a consumer; an operation's `reply`
//! goes the other way on the reply's channel (the receiver of a request sends the reply).
//! Channels no operation uses say nothing about this application.

use serde_json::Value;

use super::refs::Node;
use super::{Builder, EXTENSIONS, LintError, check_extensions, mapping, shape};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Action {
    Send,
    Receive,
}

pub(super) fn import<'s>(b: &mut Builder<'_, 's>, root: &Node<'s>) -> Result<(), LintError> {
    let refs = b.refs;
    // Every channel must have a usable shape, used or not.
    if let Some(channels) = mapping(refs, root, "channels", "channels by id")? {
        for (_, ch) in channels.entries() {
            channel(b, ch)?;
        }
    }
    let Some(operations) = mapping(refs, root, "operations", "operations by id")? else {
        return Ok(());
    };
    for (name, at) in operations.entries() {
        let op = refs.resolve(at.clone())?;
        if !op.value.is_object() {
            return Err(refs.invalid(
                &op,
                format!(
                    "the operation `{name}` must be a mapping, not {}",
                    shape(op.value)
                ),
            ));
        }
        check_extensions(refs, &op, &EXTENSIONS)?;
        let action = action(b, &op, name)?;
        let Some(ch) = op.get("channel") else {
            return Err(refs.invalid(
                &op,
                format!("the operation `{name}` has no `channel` (a `$ref` to one of `channels`)"),
            ));
        };
        let (ch, address) = channel(b, ch)?;
        match action {
            Action::Send => b.produces(&address, &at, &ch),
            Action::Receive => b.consumes(&address, &at, &op, &ch, name)?,
        }
        // Request/reply: the reply travels the other way.
        if let Some(reply) = mapping(refs, &op, "reply", "an operation reply")?
            && let Some(rch) = reply.get("channel")
        {
            let (rch, address) = channel(b, rch)?;
            let at = reply.clone();
            match action {
                Action::Send => b.consumes(&address, &at, &reply, &rch, name)?,
                Action::Receive => b.produces(&address, &at, &rch),
            }
        }
    }
    Ok(())
}

fn action(b: &Builder<'_, '_>, op: &Node<'_>, name: &str) -> Result<Action, LintError> {
    let refs = b.refs;
    match op.get("action") {
        None => Err(refs.invalid(
            op,
            format!("the operation `{name}` has no `action` (send or receive)"),
        )),
        Some(a) => match a.value.as_str() {
            Some("send") => Ok(Action::Send),
            Some("receive") => Ok(Action::Receive),
            _ => Err(refs.invalid(
                &a,
                format!(
                    "the operation `{name}` has `action: {}`: it is send or receive",
                    match a.value {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    }
                ),
            )),
        },
    }
}

/// A channel (resolved) and its address; a channel whose address is null or left out (unknown,
/// or dynamic) stands for itself by its id.
fn channel<'s>(b: &Builder<'_, 's>, ch: Node<'s>) -> Result<(Node<'s>, String), LintError> {
    let refs = b.refs;
    let ch = refs.resolve(ch)?;
    if !ch.value.is_object() {
        return Err(refs.invalid(
            &ch,
            format!("a channel must be a mapping, not {}", shape(ch.value)),
        ));
    }
    check_extensions(refs, &ch, &EXTENSIONS)?;
    let address = match ch.get("address") {
        Some(a) if !a.value.is_null() => match a.value.as_str() {
            Some(s) => s.to_string(),
            None => {
                return Err(refs.invalid(
                    &a,
                    format!(
                        "a channel's `address` is a string or null, not {}",
                        shape(a.value)
                    ),
                ));
            }
        },
        _ => channel_id(&ch.path),
    };
    Ok((ch, address))
}

/// The last key of a channel's path (`channels.userSignedUp` → `userSignedUp`).
fn channel_id(path: &str) -> String {
    if let Some(i) = path.rfind("[\"")
        && path.ends_with("\"]")
    {
        return serde_json::from_str::<String>(&path[i + 1..path.len() - 1]).unwrap_or_default();
    }
    path.rsplit('.').next().unwrap_or(path).to_string()
}
