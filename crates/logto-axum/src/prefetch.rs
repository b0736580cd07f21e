//! Token records read together with their session (see [`logto::web::prefetch`]): the slot
//! number travels in the tower-sessions record, and never reaches the store.

use std::borrow::Cow;

use logto::web::prefetch::{Prefetched, SLOT_KEY};
use tower_sessions::session::Record;

/// Parks the tokens read from record `tokens_ref` with `session`, and writes the slot into it.
#[cfg_attr(not(feature = "redis"), allow(dead_code))]
pub(crate) fn park(
    table: &Prefetched,
    session: &mut Record,
    tokens_ref: String,
    tokens: Option<String>,
) {
    if let Some(slot) = table.park(tokens_ref, tokens) {
        session.data.insert(SLOT_KEY.to_owned(), slot.into());
    }
}

/// `record` without its slot number, as it must be saved (borrowed when it has none).
pub(crate) fn without_slot(record: &Record) -> Cow<'_, Record> {
    if record.data.contains_key(SLOT_KEY) {
        let mut record = record.clone();
        record.data.remove(SLOT_KEY);
        Cow::Owned(record)
    } else {
        Cow::Borrowed(record)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use tower_sessions::cookie::time::OffsetDateTime;
    use tower_sessions::session::Id;

    #[test]
    fn the_slot_travels_in_the_session_and_is_never_saved() {
        let table = Prefetched::default();
        let mut record = Record {
            id: Id::default(),
            data: HashMap::from([("kept".to_owned(), 1.into())]),
            expiry_date: OffsetDateTime::now_utc(),
        };
        assert!(matches!(without_slot(&record), Cow::Borrowed(_)));
        let tokens_ref = Id::default();
        park(
            &table,
            &mut record,
            tokens_ref.to_string(),
            Some("tokens".into()),
        );
        let slot = record.data[SLOT_KEY].as_u64().unwrap();
        assert_eq!(
            table.take(slot, &tokens_ref.to_string()),
            Some(Some("tokens".into()))
        );
        let saved = without_slot(&record);
        assert!(!saved.data.contains_key(SLOT_KEY));
        assert!(saved.data.contains_key("kept"));
    }
}
