//! Is an officer's e-mail domain one an admin verified, or made to look like one?
//!
//! Forged emergency requests come from two kinds of mailbox: a real agency mailbox an attacker
//! has taken over (caught by the risk signals and the call-back, not here), and a domain the
//! attacker registered to look like an agency's. This module catches the second kind, at
//! registration and again on every request, by comparing the domain with every verified agency
//! domain and naming what was changed: letters from other alphabets, swapped look-alike
//! characters, a typo, words or hyphens added, another top-level domain or country, or the real
//! domain pushed into the subdomain of someone else's.
//!
//! A domain that resembles nothing verified is [`DomainVerdict::Unknown`], not a lookalike:
//! it is still refused (an officer's e-mail must be on a verified domain), but it is not
//! evidence of an attack on a particular agency.

use serde::{Deserialize, Serialize};

use super::{confusable, punycode, suffix};
use crate::named_enum;

named_enum! {
    /// What makes a domain look like a verified one it is not.
    pub enum LookalikeReason ("lookalike reason") {
        /// Letters from another alphabet (Cyrillic `а`, Greek `ο`, accented `é`, full-width `ｓ`).
        Homoglyph = "homoglyph",
        /// An internationalised `xn--` name, which mail clients show decoded.
        Punycode = "punycode",
        /// ASCII characters a reader confuses: `0`/`o`, `1`/`l`/`i`, `rn`/`m`, `vv`/`w`, `cl`/`d`.
        CharacterSwap = "character_swap",
        /// One or two letters added, dropped, changed or transposed.
        EditDistance = "edit_distance",
        /// Words, hyphens or dots added to or moved within the name (`springfieldpd-gov.com`).
        AddedWords = "added_words",
        /// The name under another top-level domain or registry category (`.com` for `.gov`).
        DifferentTld = "different_tld",
        /// The name under another country's code (`.at` for `.de`).
        DifferentCountry = "different_country",
        /// The verified name as a subdomain of someone else's domain
        /// (`springfieldpd.gov.example.com`).
        SubdomainTrick = "subdomain_trick",
    }
}

impl LookalikeReason {
    /// The reason as the end of the sentence "the domain ...", for a reviewer.
    pub fn describe(self) -> &'static str {
        match self {
            LookalikeReason::Homoglyph => {
                "uses letters from another alphabet that look like Latin letters"
            }
            LookalikeReason::Punycode => {
                "is an internationalised (xn--) name that mail clients show in other letters"
            }
            LookalikeReason::CharacterSwap => {
                "swaps characters that look alike (0 for o, 1 for l, rn for m, vv for w)"
            }
            LookalikeReason::EditDistance => "differs by one or two letters",
            LookalikeReason::AddedWords => "adds words, hyphens or dots to the name",
            LookalikeReason::DifferentTld => {
                "uses the same name under a different top-level domain"
            }
            LookalikeReason::DifferentCountry => "uses the same name under another country's code",
            LookalikeReason::SubdomainTrick => {
                "puts the verified name in front of someone else's domain"
            }
        }
    }
}

/// What the provider knows about a domain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum DomainVerdict {
    /// On a verified domain (itself or a subdomain, which the same body controls).
    Verified { domain: String },
    /// Not verified, and made to resemble the verified domain `of`.
    Lookalike {
        of: String,
        reasons: Vec<LookalikeReason>,
    },
    /// Not verified and not resembling any verified domain.
    Unknown,
}

impl DomainVerdict {
    pub fn is_verified(&self) -> bool {
        matches!(self, DomainVerdict::Verified { .. })
    }

    pub fn is_lookalike(&self) -> bool {
        matches!(self, DomainVerdict::Lookalike { .. })
    }

    /// One sentence for a reviewer about `candidate`, the domain this verdict is for.
    pub fn describe(&self, candidate: &str) -> String {
        let shown = match shown_form(candidate) {
            Some(s) => format!("'{candidate}' (shown as '{s}')"),
            None => format!("'{candidate}'"),
        };
        match self {
            DomainVerdict::Verified { domain } if domain == candidate => {
                format!("{shown} is a verified agency domain.")
            }
            DomainVerdict::Verified { domain } => {
                format!("{shown} is under the verified agency domain '{domain}'.")
            }
            DomainVerdict::Lookalike { of, reasons } => {
                let how: Vec<&str> = reasons.iter().map(|r| r.describe()).collect();
                format!(
                    "{shown} is not a verified domain but imitates '{of}': it {}.",
                    how.join("; it ")
                )
            }
            DomainVerdict::Unknown => {
                format!("{shown} is not a verified domain of any agency.")
            }
        }
    }
}

/// The Unicode form of a domain written with `xn--` labels, as a mail client would show it.
pub fn shown_form(domain: &str) -> Option<String> {
    let d = Domain::parse(domain)?;
    d.punycode.then(|| d.shown.join("."))
}

/// The verdict for the domain of an e-mail address.
pub fn check_email<S: AsRef<str>>(email: &str, verified: &[S]) -> DomainVerdict {
    match email.rsplit_once('@') {
        Some((_, domain)) => check_domain(domain, verified),
        None => DomainVerdict::Unknown,
    }
}

/// Compares `candidate` with every verified agency domain.
///
/// Verified when it is one of them or under one of them (the most specific wins). Otherwise a
/// lookalike of the verified domain it resembles most closely, with every reason that applies;
/// otherwise unknown. A candidate that shares its registered name with a verified domain
/// (`feuerwehr.berlin.de` beside `polizei.berlin.de`) belongs to the same registrant, so it
/// cannot be an imitation by someone else and is only unknown.
pub fn check_domain<S: AsRef<str>>(candidate: &str, verified: &[S]) -> DomainVerdict {
    let Some(c) = Domain::parse(candidate) else {
        return DomainVerdict::Unknown;
    };
    let verified: Vec<Domain> = verified
        .iter()
        .filter_map(|v| Domain::parse(v.as_ref()))
        .collect();

    let c_ace = c.ace.join(".");
    let exact = verified
        .iter()
        .filter(|v| {
            let v_ace = v.ace.join(".");
            c_ace == v_ace || c_ace.ends_with(&format!(".{v_ace}"))
        })
        .max_by_key(|v| v.ace.len());
    if let Some(v) = exact {
        return DomainVerdict::Verified {
            domain: v.ace.join("."),
        };
    }

    let windows = c.windows();
    let best = verified
        .iter()
        .enumerate()
        .filter_map(|(i, v)| compare(&c, &windows, v).map(|m| (m, i, v)))
        .min_by_key(|(m, i, _)| (m.distance, m.reasons.len(), *i));
    match best {
        Some((m, _, v)) => DomainVerdict::Lookalike {
            of: v.ace.join("."),
            reasons: m.reasons,
        },
        None => DomainVerdict::Unknown,
    }
}

/// A domain split into labels, in the forms the comparison needs.
struct Domain {
    /// ASCII labels, international ones as `xn--`: what DNS resolves and admins verify.
    ace: Vec<String>,
    /// Labels as a mail client shows them, international ones decoded.
    shown: Vec<String>,
    /// `shown` with characters from other alphabets folded to the Latin letters they imitate.
    folded: Vec<String>,
    /// How many trailing labels are the registry's suffix.
    suffix: usize,
    /// Whether any label is an `xn--` label.
    punycode: bool,
}

/// Consecutive words of a domain's name (its labels split at hyphens), joined without
/// separators so that `springfield-pd` and `springfieldpd` can be told apart from a typo.
struct Window {
    first_label: usize,
    last_label: usize,
    /// Whether the words cover their labels completely (nothing added around them).
    whole_labels: bool,
    folded: Vec<char>,
    skeleton: Vec<char>,
    /// The separators between the words, as in `-.` for `a-b.c`.
    separators: String,
}

/// The widest run of words compared. Agency names run to four or five words; with a suffix
/// glued on, a little more. The cap keeps a hostile 253-character domain cheap to check.
const MAX_WINDOW_WORDS: usize = 10;

impl Domain {
    fn parse(raw: &str) -> Option<Domain> {
        // IDNA treats these full stops as dots; a forger may count on it.
        let dotted: String = raw
            .trim()
            .chars()
            .map(|c| match c {
                '\u{3002}' | '\u{FF0E}' | '\u{FF61}' => '.',
                other => other,
            })
            .collect();
        let lower = dotted.trim_end_matches('.').to_lowercase();
        if lower.is_empty() || lower.chars().count() > 253 {
            return None;
        }
        let (mut ace, mut shown, mut folded) = (Vec::new(), Vec::new(), Vec::new());
        let mut puny = false;
        for label in lower.split('.') {
            if label.is_empty() || label.chars().count() > 63 {
                return None;
            }
            let (a, s) = if let Some(rest) = label.strip_prefix("xn--") {
                puny = true;
                // An undecodable label stays as typed; it then resembles nothing.
                let s = punycode::decode(rest)
                    .map(|u| u.to_lowercase())
                    .unwrap_or_else(|| label.to_string());
                (label.to_string(), s)
            } else if label.is_ascii() {
                if !label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
                    return None;
                }
                (label.to_string(), label.to_string())
            } else {
                if label
                    .chars()
                    .any(|c| c.is_whitespace() || c.is_control() || c == '@' || c == '/')
                {
                    return None;
                }
                (
                    format!("xn--{}", punycode::encode(label)?),
                    label.to_string(),
                )
            };
            folded.push(confusable::fold(&s));
            ace.push(a);
            shown.push(s);
        }
        if ace.len() < 2 {
            return None;
        }
        let suffix = suffix::suffix_len(&folded);
        Some(Domain {
            ace,
            shown,
            folded,
            suffix,
            punycode: puny,
        })
    }

    /// Index of the first suffix label; the labels before it are the name.
    fn name_end(&self) -> usize {
        self.ace.len() - self.suffix
    }

    /// Index of the registered label (`springfieldpd` in `pd.springfieldpd.gov`).
    fn registered(&self) -> usize {
        self.name_end().saturating_sub(1)
    }

    fn registered_ace(&self) -> &[String] {
        &self.ace[self.registered()..]
    }

    fn suffix_folded(&self) -> &[String] {
        &self.folded[self.name_end()..]
    }

    /// The words of the name: each label split at hyphens, with the label it came from.
    fn words(&self) -> Vec<(usize, &str)> {
        (0..self.name_end())
            .flat_map(|i| {
                self.folded[i]
                    .split('-')
                    .filter(|w| !w.is_empty())
                    .map(move |w| (i, w))
            })
            .collect()
    }

    fn windows(&self) -> Vec<Window> {
        let words = self.words();
        let mut out = Vec::new();
        for start in 0..words.len() {
            let mut folded = String::new();
            let mut separators = String::new();
            for end in start..words.len().min(start + MAX_WINDOW_WORDS) {
                if end > start {
                    separators.push(if words[end].0 == words[end - 1].0 {
                        '-'
                    } else {
                        '.'
                    });
                }
                folded.push_str(words[end].1);
                let (first_label, last_label) = (words[start].0, words[end].0);
                let whole_labels = (start == 0 || words[start - 1].0 != first_label)
                    && (end + 1 == words.len() || words[end + 1].0 != last_label);
                out.push(Window {
                    first_label,
                    last_label,
                    whole_labels,
                    folded: folded.chars().collect(),
                    skeleton: confusable::skeleton(&folded).chars().collect(),
                    separators: separators.clone(),
                });
            }
        }
        out
    }
}

/// One form of a verified name to look for: the name itself, or the name with (part of) its
/// suffix glued on, as in `springfieldpdgov`, which only a forger writes.
struct Pattern {
    folded: Vec<char>,
    skeleton: Vec<char>,
    separators: String,
    with_suffix: bool,
}

fn patterns(v: &Domain) -> Vec<Pattern> {
    let words = v.words();
    let mut folded: String = words.iter().map(|(_, w)| *w).collect();
    let separators: String = words
        .windows(2)
        .map(|p| if p[0].0 == p[1].0 { '-' } else { '.' })
        .collect();
    let mut out = vec![Pattern {
        folded: folded.chars().collect(),
        skeleton: confusable::skeleton(&folded).chars().collect(),
        separators,
        with_suffix: false,
    }];
    for label in v.suffix_folded() {
        folded.push_str(label);
        out.push(Pattern {
            folded: folded.chars().collect(),
            skeleton: confusable::skeleton(&folded).chars().collect(),
            separators: String::new(),
            with_suffix: true,
        });
    }
    out
}

/// How many edits still count as the same name. Short names get none: `dea` and `dhs` are one
/// letter apart and both real. Two edits from `springfieldpd` is still recognisably it.
fn max_edits(len: usize) -> usize {
    match len {
        0..=3 => 0,
        4..=8 => 1,
        _ => 2,
    }
}

/// A verified name must be this long before finding it inside a longer word counts: `met`
/// appears inside `metoffice`, `springfieldpd` inside `securespringfieldpd` is no accident.
const MIN_CONTAINED: usize = 4;

struct Match {
    distance: usize,
    reasons: Vec<LookalikeReason>,
}

fn compare(c: &Domain, windows: &[Window], v: &Domain) -> Option<Match> {
    use LookalikeReason::*;
    // The same registered name is the same registrant, so a sibling such as
    // `feuerwehr.berlin.de` is no imitation by a third party. Only a character-for-character
    // copy of the verified name in other letters is still worth a reviewer's attention.
    if c.registered_ace() == v.registered_ace() {
        let whole = |d: &Domain| confusable::skeleton(&d.folded.join("."));
        if whole(c) != whole(v) {
            return None;
        }
        let mut reasons = character_reasons(c, v);
        if c.folded != v.folded {
            reasons.push(CharacterSwap);
        }
        reasons.sort();
        return Some(Match {
            distance: 0,
            reasons,
        });
    }
    let mut best: Option<usize> = None;
    let mut found: Vec<LookalikeReason> = Vec::new();
    let mut touches_registered = false;
    let mut note = |distance: usize, reasons: &[LookalikeReason], registered: bool| {
        if best.is_some_and(|b| distance > b) {
            return;
        }
        // Written out rather than `Option::is_none_or`, which is newer than the workspace's
        // declared minimum Rust version.
        if !matches!(best, Some(b) if distance >= b) {
            best = Some(distance);
            found.clear();
            touches_registered = false;
        }
        found.extend_from_slice(reasons);
        touches_registered |= registered;
    };

    let registered = c.registered();
    for p in patterns(v) {
        let limit = max_edits(p.folded.len());
        for w in windows {
            if w.skeleton.len().abs_diff(p.skeleton.len()) > limit
                && w.folded.len().abs_diff(p.folded.len()) > limit
            {
                continue;
            }
            // The skeleton writes one letter as two (`m` as `rn`), so a typo on such a letter
            // costs two edits there; the smaller of the two distances is the honest one.
            let by_letters = edits_within(&w.folded, &p.folded, limit);
            let by_skeleton = edits_within(&w.skeleton, &p.skeleton, limit);
            let d = match (by_letters, by_skeleton) {
                (Some(l), Some(s)) => l.min(s),
                (Some(d), None) | (None, Some(d)) => d,
                (None, None) => continue,
            };
            let mut reasons = Vec::new();
            if d > 0 {
                reasons.push(EditDistance);
            }
            if !matches!(by_letters, Some(l) if l <= d) {
                reasons.push(CharacterSwap);
            }
            if w.last_label < registered {
                reasons.push(SubdomainTrick);
                note(d, &reasons, false);
                continue;
            }
            if p.with_suffix || !w.whole_labels || (d == 0 && w.separators != p.separators) {
                reasons.push(AddedWords);
            }
            note(d, &reasons, true);
        }
        // The verified name glued inside a longer word: `securespringfieldpd`.
        if p.folded.len() >= MIN_CONTAINED {
            for w in windows.iter().filter(|w| w.first_label == w.last_label) {
                if w.skeleton.len() > p.skeleton.len() && contains(&w.skeleton, &p.skeleton) {
                    let mut reasons = vec![if w.last_label < registered {
                        SubdomainTrick
                    } else {
                        AddedWords
                    }];
                    if !contains(&w.folded, &p.folded) {
                        reasons.push(CharacterSwap);
                    }
                    note(0, &reasons, w.last_label >= registered);
                }
            }
        }
    }

    // The same words in another order: `pd-springfield` for `springfield-pd`.
    let v_words: Vec<String> = v
        .words()
        .iter()
        .map(|(_, w)| confusable::skeleton(w))
        .collect();
    let mut v_sorted = v_words.clone();
    v_sorted.sort();
    let c_words = c.words();
    if let Some(start) = c_words.len().checked_sub(v_words.len()) {
        let tail: Vec<String> = c_words[start..]
            .iter()
            .map(|(_, w)| confusable::skeleton(w))
            .collect();
        let mut sorted = tail.clone();
        sorted.sort();
        if tail != v_words && sorted == v_sorted {
            note(0, &[AddedWords], true);
        }
    }

    let distance = best?;
    if touches_registered {
        let (cs, vs) = (c.suffix_folded(), v.suffix_folded());
        if cs != vs {
            let skel = |s: &[String]| {
                s.iter()
                    .map(|l| confusable::skeleton(l))
                    .collect::<Vec<_>>()
            };
            if skel(cs) == skel(vs) {
                found.push(CharacterSwap);
            } else {
                let (cc, vc) = (suffix::country_code(cs), suffix::country_code(vs));
                if cc.is_some() && vc.is_some() && cc != vc {
                    found.push(DifferentCountry);
                }
                let rest = |s: &'_ [String], code: Option<&str>| {
                    let n = if code.is_some() { s.len() - 1 } else { s.len() };
                    s[..n].to_vec()
                };
                if rest(cs, cc) != rest(vs, vc) {
                    found.push(DifferentTld);
                }
            }
        }
    }
    found.extend(character_reasons(c, v));
    found.sort();
    found.dedup();
    if found.is_empty() {
        return None;
    }
    Some(Match {
        distance,
        reasons: found,
    })
}

/// Reasons that come from the characters alone: letters outside ASCII that one domain has and
/// the other lacks (a Cyrillic `а` in the candidate, or a plain `u` for the verified `ü`), and
/// an `xn--` spelling.
fn character_reasons(c: &Domain, v: &Domain) -> Vec<LookalikeReason> {
    let chars = |d: &Domain| -> Vec<char> {
        d.shown
            .iter()
            .flat_map(|l| l.chars())
            .filter(|ch| !ch.is_ascii())
            .collect()
    };
    let (cc, vc) = (chars(c), chars(v));
    let mut out = Vec::new();
    if cc.iter().any(|ch| !vc.contains(ch)) || vc.iter().any(|ch| !cc.contains(ch)) {
        out.push(LookalikeReason::Homoglyph);
    }
    if c.punycode {
        out.push(LookalikeReason::Punycode);
    }
    out
}

fn contains(hay: &[char], needle: &[char]) -> bool {
    needle.is_empty() || hay.windows(needle.len()).any(|w| w == needle)
}

/// Edits (insert, delete, substitute, swap two neighbours) between two strings, or `None` when
/// there are more than `limit`. Stops as soon as a whole row exceeds the limit, which keeps a
/// long candidate against a long list of agencies cheap.
fn edits_within(a: &[char], b: &[char], limit: usize) -> Option<usize> {
    if a.len().abs_diff(b.len()) > limit {
        return None;
    }
    let width = b.len() + 1;
    // Three rolling rows: two back for a transposition, one back, and the current one. Names
    // are short, so the rows usually fit on the stack.
    let mut stack = [0usize; 3 * 48];
    let mut heap = Vec::new();
    let rows: &mut [usize] = if 3 * width <= stack.len() {
        &mut stack[..3 * width]
    } else {
        heap.resize(3 * width, 0);
        &mut heap
    };
    for (j, cell) in rows[..width].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        let (cur, prev, prev2) = (i % 3, (i + 2) % 3, (i + 1) % 3);
        rows[cur * width] = i;
        let mut row_min = i;
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut d = (rows[prev * width + j] + 1)
                .min(rows[cur * width + j - 1] + 1)
                .min(rows[prev * width + j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d = d.min(rows[prev2 * width + j - 2] + 1);
            }
            rows[cur * width + j] = d;
            row_min = row_min.min(d);
        }
        // A transposition reaches back two rows, so stop only when both rows are over.
        let prev_min = rows[prev * width..(prev + 1) * width]
            .iter()
            .copied()
            .min()
            .unwrap_or(0);
        if row_min > limit && (i == 1 || prev_min > limit) {
            return None;
        }
    }
    let d = rows[(a.len() % 3) * width + b.len()];
    (d <= limit).then_some(d)
}

#[cfg(test)]
mod tests;
