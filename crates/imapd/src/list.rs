//! LIST, LSUB and XLIST (RFC 3501 §6.3.8–9, LIST-EXTENDED RFC 5258, LIST-STATUS RFC 5819,
//! SPECIAL-USE RFC 6154): which mailboxes a user may see, pattern matching with `*` and `%`,
//! and the attributes Cyrus reports (`\HasChildren`, `\HasNoChildren`, `\Noselect`,
//! `\Subscribed`, `\NonExistent`, special-use).
//!
//! Owns: listing. Must not: change state.

use std::collections::{BTreeMap, BTreeSet};

use imap_proto::ListOptions;
use imap_proto::response::{astring, string};
use types::MboxName;

use crate::session::{Reply, Session, ok, store_reply};

/// IMAP LIST pattern matching: `*` matches anything, `%` anything but the separator. A
/// leading `INBOX` matches case-insensitively.
pub(crate) fn pattern_matches(pattern: &str, name: &str, sep: char) -> bool {
    fn norm(s: &str) -> String {
        if s.len() >= 5 && s[..5].eq_ignore_ascii_case("INBOX") {
            let rest = &s[5..];
            if rest.is_empty() || rest.starts_with(['/', '.']) {
                return format!("INBOX{rest}");
            }
        }
        s.to_owned()
    }
    let p: Vec<char> = norm(pattern).chars().collect();
    let n: Vec<char> = norm(name).chars().collect();
    // Iterative matcher with backtracking on `*`/`%`, bounded by len(p)*len(n).
    let (mut pi, mut ni) = (0usize, 0usize);
    let mut stack: Vec<(usize, usize)> = Vec::new();
    let mut steps = 0usize;
    loop {
        steps += 1;
        if steps > 1_000_000 {
            return false;
        }
        if pi == p.len() && ni == n.len() {
            return true;
        }
        let advanced = if pi < p.len() {
            match p[pi] {
                '*' => {
                    if ni < n.len() {
                        stack.push((pi, ni + 1));
                    }
                    pi += 1;
                    true
                }
                '%' => {
                    if ni < n.len() && n[ni] != sep {
                        stack.push((pi, ni + 1));
                    }
                    pi += 1;
                    true
                }
                c if ni < n.len() && n[ni] == c => {
                    pi += 1;
                    ni += 1;
                    true
                }
                _ => false,
            }
        } else {
            false
        };
        if !advanced {
            match stack.pop() {
                Some((a, b)) => {
                    pi = a;
                    ni = b;
                }
                None => return false,
            }
        }
    }
}

struct Item {
    name: MboxName,
    selectable: bool,
    exists: bool,
}

impl Session {
    pub(crate) async fn list(
        &mut self,
        reference: &str,
        patterns: &[String],
        options: ListOptions,
        lsub: bool,
    ) -> Reply {
        let sep = self.srv.ns.sep();
        let verb = if lsub { "LSUB" } else { "LIST" };
        if !lsub && patterns.len() == 1 && patterns[0].is_empty() && !options.extended {
            // RFC 3501 §6.3.8: the hierarchy delimiter.
            self.out
                .extend(format!("* LIST (\\Noselect) \"{sep}\" \"\"\r\n").into_bytes());
            return ok();
        }
        let want_subscribed_only = options.selection.iter().any(|s| s == "SUBSCRIBED");
        let ret_subscribed = want_subscribed_only || options.ret.iter().any(|s| s == "SUBSCRIBED");
        let special_only = options.selection.iter().any(|s| s == "SPECIAL-USE");
        // `specialusealways: yes` (Cyrus's default): special-use attributes are always shown.
        let ret_special = true;
        let recursive = options.selection.iter().any(|s| s == "RECURSIVEMATCH");
        let userid = self.userid().to_owned();
        let (entries, subs) = match self
            .st(move |s| Ok((s.list_all_entries()?, s.subscriptions(&userid)?)))
            .await
        {
            Ok(x) => x,
            Err(e) => return store_reply(&e),
        };
        let cfg = self.srv.store.config().names.clone();
        let subs: BTreeSet<String> = subs.into_iter().collect();
        let mut visible: BTreeMap<String, Item> = BTreeMap::new();
        for e in entries {
            // Admins see delayed-delete copies (`DELETED/…`) as in Cyrus, and may remove them.
            if e.mbtype.deleted || (e.name.is_deleted_copy(&cfg) && !self.is_admin()) {
                continue;
            }
            if !self.rights(&e).has('l') {
                continue;
            }
            let Some(ext) = self.external(&e.name) else {
                continue;
            };
            visible.insert(
                ext,
                Item {
                    selectable: !e.mbtype.intermediate,
                    name: e.name,
                    exists: true,
                },
            );
        }
        let all_names: Vec<String> = visible.keys().cloned().collect();
        let has_children = |n: &str| {
            let prefix = format!("{n}{sep}");
            all_names.iter().any(|x| x.starts_with(&prefix))
        };
        // Subscribed names (existing or not), for LSUB and (SUBSCRIBED).
        let mut sub_ext: BTreeMap<String, Option<MboxName>> = BTreeMap::new();
        for s in &subs {
            if let Ok(n) = MboxName::new(s.clone())
                && let Some(ext) = self.external(&n)
            {
                sub_ext.insert(ext, Some(n));
            }
        }
        let full_patterns: Vec<String> = patterns
            .iter()
            .map(|p| {
                if reference.is_empty() || p.starts_with(sep) {
                    p.clone()
                } else {
                    format!("{reference}{p}")
                }
            })
            .collect();
        let matches = |n: &str| full_patterns.iter().any(|p| pattern_matches(p, n, sep));
        let mut lines: Vec<(String, Vec<String>, Option<MboxName>)> = Vec::new();
        if lsub || want_subscribed_only {
            let mut names: BTreeSet<String> = sub_ext.keys().cloned().collect();
            if recursive || lsub {
                // A parent of a subscribed name that matches is shown too (RFC 5258 §3.5;
                // LSUB shows it \Noselect, but only in place of a subscribed name the pattern
                // does not reach, RFC 3501 §6.3.9: `LSUB "" *` lists no parents, as Cyrus).
                for s in sub_ext.keys() {
                    if lsub && !recursive && matches(s) {
                        continue;
                    }
                    let mut cur = s.as_str();
                    while let Some((parent, _)) = cur.rsplit_once(sep) {
                        if matches(parent) && !sub_ext.contains_key(parent) {
                            names.insert(parent.to_owned());
                        }
                        cur = parent;
                    }
                }
            }
            for n in names {
                if !matches(&n) {
                    continue;
                }
                let mut attrs: Vec<String> = Vec::new();
                let item = visible.get(&n);
                let subscribed = sub_ext.contains_key(&n);
                if lsub {
                    if !subscribed {
                        // A stand-in parent: Cyrus 3.6.1 says `(\Noselect \HasChildren)`.
                        attrs.push("\\Noselect".into());
                        attrs.push("\\HasChildren".into());
                    } else if item.is_none_or(|i| !i.selectable) {
                        attrs.push("\\Noselect".into());
                    }
                } else {
                    match item {
                        None => attrs.push("\\NonExistent".into()),
                        Some(i) if !i.selectable => attrs.push("\\Noselect".into()),
                        _ => {}
                    }
                    if subscribed {
                        attrs.push("\\Subscribed".into());
                    }
                    if recursive && !subscribed {
                        lines.push((n.clone(), attrs, None));
                        continue;
                    }
                    if item.is_some() {
                        attrs.push(
                            if has_children(&n) {
                                "\\HasChildren"
                            } else {
                                "\\HasNoChildren"
                            }
                            .into(),
                        );
                    }
                }
                lines.push((n, attrs, item.map(|i| i.name.clone())));
            }
        } else {
            for (n, item) in &visible {
                if !matches(n) {
                    continue;
                }
                let mut attrs: Vec<String> = Vec::new();
                if !item.selectable {
                    attrs.push("\\Noselect".into());
                }
                if ret_subscribed && sub_ext.contains_key(n) {
                    attrs.push("\\Subscribed".into());
                }
                attrs.push(
                    if has_children(n) {
                        "\\HasChildren"
                    } else {
                        "\\HasNoChildren"
                    }
                    .into(),
                );
                let _ = item.exists;
                lines.push((n.clone(), attrs, Some(item.name.clone())));
            }
        }
        // Special-use attributes: the owner's private `/specialuse` annotation.
        if ret_special {
            let mut keep = Vec::with_capacity(lines.len());
            for (n, mut attrs, internal) in lines {
                let mut is_special = false;
                if let Some(name) = &internal
                    && self.owns(name)
                {
                    let (n2, me) = (name.clone(), self.userid().to_owned());
                    if let Ok(annots) = self.st(move |s| s.mailbox_annotations(&n2)).await {
                        for a in annots {
                            if a.entry == "/specialuse" && a.userid == me {
                                for u in String::from_utf8_lossy(&a.value).split_whitespace() {
                                    attrs.push(u.to_owned());
                                    is_special = true;
                                }
                            }
                        }
                    }
                }
                if !special_only || is_special {
                    keep.push((n, attrs, internal));
                }
            }
            lines = keep;
        }
        for (n, attrs, internal) in lines {
            let mut v = format!("* {verb} ({}) \"{sep}\" ", attrs.join(" ")).into_bytes();
            astring(&mut v, n.as_bytes());
            if options.extended && recursive && want_subscribed_only {
                let subscribed = sub_ext.contains_key(&n);
                if !subscribed {
                    v.extend_from_slice(b" (\"CHILDINFO\" (\"SUBSCRIBED\"))");
                }
            }
            v.extend_from_slice(b"\r\n");
            self.out.extend(v);
            if let (Some(items), Some(name)) = (&options.status, internal) {
                let n2 = name.clone();
                let entry = self.st(move |s| s.mailbox_entry(&n2)).await;
                if let Ok(Some(entry)) = entry
                    && entry.mbtype.is_real()
                    && self.rights(&entry).has('r')
                    && let Ok(s) = self.status_items(&name, &entry, items).await
                {
                    let mut v = b"* STATUS ".to_vec();
                    astring(&mut v, n.as_bytes());
                    v.push(b' ');
                    v.extend_from_slice(s.as_bytes());
                    v.extend_from_slice(b"\r\n");
                    self.out.extend(v);
                }
            }
        }
        let _ = string;
        ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns() {
        assert!(pattern_matches("*", "a/b/c", '/'));
        assert!(pattern_matches("%", "a", '/'));
        assert!(!pattern_matches("%", "a/b", '/'));
        assert!(pattern_matches("a/%", "a/b", '/'));
        assert!(pattern_matches("inbox", "INBOX", '/'));
        assert!(pattern_matches("INBOX*", "INBOX/x", '/'));
        assert!(pattern_matches("*b*", "abc", '/'));
        assert!(!pattern_matches("a", "ab", '/'));
        assert!(pattern_matches("Other Users/%", "Other Users/bob", '/'));
        let long = "*".repeat(50) + "x";
        assert!(!pattern_matches(&long, &"a".repeat(60), '/'));
    }
}
