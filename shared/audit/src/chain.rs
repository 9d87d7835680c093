//! The chain: each entry carries its predecessor's hash and a sequence number one past it, and
//! its own hash over both; the chain's head (last sequence and hash) is kept beside the entries.
//! Editing an entry breaks its own hash; removing one leaves a gap or a broken link; inserting
//! one leaves the next entry linked past it; cutting the tail leaves the head pointing beyond it.
//! [`verify`] names the first of these.

use crate::canonical;
use crate::entry::{Draft, Entry};
use sha2::{Digest, Sha256};

/// The last entry of a chain, as recorded beside it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Head {
    pub seq: u64,
    pub hash: String,
}

/// The predecessor hash of a chain's first entry: bound to the chain's name, so a day's first
/// entry cannot be moved to another day.
pub fn genesis(chain: &str) -> String {
    hex::encode(Sha256::digest(format!("settlepaisa-audit-genesis:{chain}").as_bytes()))
}

pub fn hash_of(entry: &Entry) -> String {
    hex::encode(Sha256::digest(canonical::encode(&entry.hashed()).as_bytes()))
}

/// `draft` as the entry after `head` on `chain` (the first when there is no head).
pub fn seal(draft: Draft, chain: &str, head: Option<&Head>, record_time: &str) -> Entry {
    let (seq, prev_hash) = match head {
        Some(h) => (h.seq + 1, h.hash.clone()),
        None => (1, genesis(chain)),
    };
    let mut entry = Entry {
        chain: chain.to_string(),
        seq,
        record_time: record_time.to_string(),
        draft,
        prev_hash,
        hash: String::new(),
    };
    entry.hash = hash_of(&entry);
    entry
}

/// The first thing wrong with a chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Break {
    /// Entry `seq`'s content no longer matches its hash, or it was replaced by a forged entry.
    Altered { seq: u64 },
    /// Entry `seq` (and possibly those after it, up to the next present) is gone.
    Removed { seq: u64 },
    /// Entry `seq` is not part of the chain: the entry after it links past it, or it lies past
    /// the head.
    Inserted { seq: u64 },
    /// Entry `seq` is sound on its own but does not link to entry `seq - 1`: that entry was
    /// altered and its hash recomputed, or entries between them were removed and the rest
    /// renumbered. The chain cannot tell which; either way `seq - 1` is where to look.
    Unlinked { seq: u64 },
    /// The head names an entry other than the last one.
    Head { seq: u64 },
}

impl std::fmt::Display for Break {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Break::Altered { seq } => write!(f, "entry {seq} was altered: its content does not match the chain"),
            Break::Removed { seq } => write!(f, "entry {seq} was removed"),
            Break::Inserted { seq } => write!(f, "entry {seq} was inserted: it is not part of the chain"),
            Break::Unlinked { seq } => write!(
                f,
                "entry {seq} does not follow entry {}: that entry was altered, or entries after it removed",
                seq - 1
            ),
            Break::Head { seq } => write!(f, "the chain's head does not match entry {seq}"),
        }
    }
}

/// Checks `entries` (a whole chain, in any order) against its `head`. `Ok` with the number of
/// entries, or the first break in sequence order.
pub fn verify(chain: &str, head: Option<&Head>, entries: &[Entry]) -> Result<u64, Break> {
    let mut sorted: Vec<&Entry> = entries.iter().collect();
    sorted.sort_by_key(|e| e.seq);
    let genesis = genesis(chain);
    // The hashes of the last two entries accepted: an entry linking to the older one means the
    // newer one was inserted.
    let mut before_prev: Option<String> = None;
    let mut prev = genesis.clone();
    let mut expected = 1u64;
    for e in &sorted {
        if e.seq > expected {
            return Err(Break::Removed { seq: expected });
        }
        if e.chain != chain || hash_of(e) != e.hash {
            return Err(Break::Altered { seq: e.seq });
        }
        if e.prev_hash != prev {
            if before_prev.as_deref() == Some(e.prev_hash.as_str()) {
                return Err(Break::Inserted { seq: e.seq - 1 });
            }
            // The first entry links to the chain's genesis, never to another entry.
            return Err(if e.seq == 1 { Break::Altered { seq: 1 } } else { Break::Unlinked { seq: e.seq } });
        }
        if head.is_some_and(|h| e.seq > h.seq) {
            return Err(Break::Inserted { seq: e.seq });
        }
        before_prev = Some(std::mem::replace(&mut prev, e.hash.clone()));
        expected = e.seq + 1;
    }
    let last = expected - 1;
    match head {
        None if last == 0 => Ok(0),
        None => Err(Break::Head { seq: last }),
        Some(h) if h.seq > last => Err(Break::Removed { seq: last + 1 }),
        Some(h) if h.seq != last || h.hash != prev => Err(Break::Head { seq: last }),
        Some(_) => Ok(last),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entry::{Actor, Outcome};
    use proptest::prelude::*;
    use serde_json::json;

    const DAY: &str = "2026-11-30";

    fn draft(n: u64) -> Draft {
        Draft::new(
            "2026-11-30T10:00:00Z",
            Actor::User { user_id: format!("u{}", n % 3), role: "sp-ops".into(), merchant_id: None },
            "exception.resolve",
            ("exception", &format!("job-1:E{n}")),
            format!("req-{n}"),
        )
        .change(json!({ "status": "OPEN" }), json!({ "status": "RESOLVED", "amountPaise": n * 100 }))
    }

    fn chain(n: u64) -> (Vec<Entry>, Option<Head>) {
        let mut head: Option<Head> = None;
        let mut entries = Vec::new();
        for i in 0..n {
            let e = seal(draft(i), DAY, head.as_ref(), "2026-11-30T10:00:01Z");
            head = Some(Head { seq: e.seq, hash: e.hash.clone() });
            entries.push(e);
        }
        (entries, head)
    }

    #[test]
    fn a_sound_chain_verifies_and_an_empty_one_too() {
        let (entries, head) = chain(5);
        assert_eq!(verify(DAY, head.as_ref(), &entries), Ok(5));
        assert_eq!(verify(DAY, None, &[]), Ok(0));
        assert_eq!(entries[0].prev_hash, genesis(DAY));
        assert_ne!(genesis(DAY), genesis("2026-12-01"));
    }

    #[test]
    fn an_edited_entry_is_named() {
        let (mut entries, head) = chain(6);
        entries[3].draft.after["amountPaise"] = json!(1);
        assert_eq!(verify(DAY, head.as_ref(), &entries), Err(Break::Altered { seq: 4 }));
        let (mut entries, head) = chain(6);
        entries[2].draft.outcome = Outcome::Rejected;
        assert_eq!(verify(DAY, head.as_ref(), &entries), Err(Break::Altered { seq: 3 }));
    }

    #[test]
    fn an_edited_entry_rehashed_is_named_by_the_broken_link_after_it() {
        let (mut entries, head) = chain(6);
        entries[3].draft.reason = Some("nothing to see".into());
        entries[3].hash = hash_of(&entries[3]);
        assert_eq!(verify(DAY, head.as_ref(), &entries), Err(Break::Unlinked { seq: 5 }));
    }

    #[test]
    fn a_removed_entry_is_named_in_the_middle_and_at_the_end() {
        let (mut entries, head) = chain(6);
        entries.remove(2);
        assert_eq!(verify(DAY, head.as_ref(), &entries), Err(Break::Removed { seq: 3 }));
        let (mut entries, head) = chain(6);
        entries.pop();
        assert_eq!(verify(DAY, head.as_ref(), &entries), Err(Break::Removed { seq: 6 }));
    }

    #[test]
    fn a_removal_hidden_by_renumbering_is_still_named() {
        let (mut entries, head) = chain(6);
        entries.remove(2);
        for e in entries.iter_mut().skip(2) {
            e.seq -= 1;
            e.hash = hash_of(e);
        }
        // Entry 3 is now the old 4: sound on its own, linked to the removed one.
        assert_eq!(verify(DAY, head.as_ref(), &entries), Err(Break::Unlinked { seq: 3 }));
    }

    #[test]
    fn an_inserted_entry_is_named_in_the_middle_and_past_the_head() {
        // Past the head: a well-formed entry appended without moving the head.
        let (mut entries, head) = chain(4);
        let forged = seal(draft(99), DAY, head.as_ref(), "2026-11-30T11:00:00Z");
        entries.push(forged);
        assert_eq!(verify(DAY, head.as_ref(), &entries), Err(Break::Inserted { seq: 5 }));

        // In the middle: a forged entry at 3, the rest renumbered and rehashed, links untouched.
        let (mut entries, _) = chain(5);
        let anchor = Head { seq: 2, hash: entries[1].hash.clone() };
        let forged = seal(draft(77), DAY, Some(&anchor), "2026-11-30T10:30:00Z");
        for e in entries.iter_mut().skip(2) {
            e.seq += 1;
            e.hash = hash_of(e);
        }
        entries.insert(2, forged);
        let head = Some(Head { seq: 6, hash: entries[5].hash.clone() });
        assert_eq!(verify(DAY, head.as_ref(), &entries), Err(Break::Inserted { seq: 3 }));
    }

    #[test]
    fn an_entry_moved_from_another_day_is_named() {
        let (mut entries, head) = chain(3);
        entries[1].chain = "2026-11-29".into();
        assert_eq!(verify(DAY, head.as_ref(), &entries), Err(Break::Altered { seq: 2 }));
    }

    proptest! {
        /// Verification does not depend on the order entries are read in, and any single edit of
        /// any entry's content is found at that entry.
        #[test]
        fn order_does_not_matter_and_any_edit_is_found(n in 1u64..20, pick in 0usize..20, seed in any::<u64>()) {
            let (mut entries, head) = chain(n);
            let mut shuffled = entries.clone();
            let mut rng = seed;
            for i in (1..shuffled.len()).rev() {
                rng = rng.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                shuffled.swap(i, (rng >> 33) as usize % (i + 1));
            }
            prop_assert_eq!(verify(DAY, head.as_ref(), &shuffled), Ok(n));
            let i = pick % entries.len();
            entries[i].draft.target_id.push('x');
            prop_assert_eq!(verify(DAY, head.as_ref(), &entries), Err(Break::Altered { seq: i as u64 + 1 }));
        }
    }
}
