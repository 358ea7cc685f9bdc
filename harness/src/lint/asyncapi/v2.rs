//! AsyncAPI 2.x (2.0 to 2.6): `channels` are keyed by their address, and their operations are
//! named from the *user's* point of view: `publish` is what others publish to the application,
//! so the application **receives** (a consumer); `subscribe` is what others subscribe to, so the
//! application **sends** (a producer).

use super::refs::Node;
use super::{Builder, EXTENSIONS, LintError, check_extensions, mapping, shape};

pub(super) fn import<'s>(b: &mut Builder<'_, 's>, root: &Node<'s>) -> Result<(), LintError> {
    let refs = b.refs;
    let Some(channels) = mapping(refs, root, "channels", "channel items by address")? else {
        return Ok(());
    };
    for (address, at) in channels.entries() {
        let ch = refs.resolve(at.clone())?;
        if ch.value.is_null() {
            continue;
        }
        if !ch.value.is_object() {
            return Err(refs.invalid(
                &ch,
                format!(
                    "the channel `{address}` must be a mapping, not {}",
                    shape(ch.value)
                ),
            ));
        }
        check_extensions(refs, &ch, &EXTENSIONS)?;
        if let Some(op) = mapping(refs, &ch, "publish", "an operation")? {
            check_extensions(refs, &op, &EXTENSIONS)?;
            let name = op
                .value
                .get("operationId")
                .and_then(|v| v.as_str())
                .map(str::to_string)
                .unwrap_or_else(|| format!("publish {address}"));
            let at = ch.get("publish").unwrap_or_else(|| op.clone());
            b.consumes(address, &at, &op, &ch, &name)?;
        }
        if let Some(op) = mapping(refs, &ch, "subscribe", "an operation")? {
            check_extensions(refs, &op, &EXTENSIONS)?;
            let at = ch.get("subscribe").unwrap_or_else(|| op.clone());
            b.produces(address, &at, &ch);
        }
    }
    Ok(())
}
