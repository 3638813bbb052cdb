//! Serde helpers of the request types.

use serde::{Deserialize, Deserializer};

/// An optional field that may be left out but not sent as `null`: a
/// `null` is almost always a client bug (a variable never set), and
/// reading it as "not given" would hide it.
pub fn no_null<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(d).map(Some)
}
