//! Matching rules in Pact's layouts: V2 (`{"$.body.a": {"match": "type"}}`, one rule per path)
//! and V3/V4 (`{"body": {"$.a": {"matchers": [...], "combine": "AND"}}}`), to and from the
//! model.
//!
//! Reading is strict where a mistake would silently change a verdict: unknown matcher types,
//! invalid regular expressions, invalid date patterns, invalid body paths and unknown
//! categories are errors naming where they are. Writing produces what Pact's reference
//! implementation writes.
//!
//! `read` parses the layouts, `read_rule` one matcher object, `write` writes both layouts.

mod read;
mod read_rule;
mod write;

#[cfg(test)]
mod tests;

pub use read::{parse_v2, parse_v3};
pub use read_rule::{MATCHER_TYPES, parse_rule};
pub use write::{write_rule, write_v2, write_v3};
