//! A processor's modulo reservation table: which offsets of the period are taken, for a
//! list scheduler that starts each chunk at the earliest free offset after it is ready.
//!
//! Packing every processor's chunks in one contiguous run per period (what
//! [`super::timing`]'s cursors do) is always feasible, but on a fully busy processor it
//! makes every late chunk wait for the slot the run leaves it. [`Reservations::place`]
//! instead puts a chunk at the earliest offset, from its ready time on, where it fits
//! *and* the chunks still to come can still be packed into what is left — checked by
//! first-fit decreasing, with the last packing found kept as a witness, so when no
//! earlier offset passes the chunk takes its place in the witness and the table never
//! runs out of room.
//!
//! ```
//! use spikepipe_compiler::schedule::reservations::Reservations;
//! // A period of 10 cycles for chunks of 4, 3 and 3.
//! let mut r = Reservations::new(10, &[4, 3, 3]);
//! assert_eq!(r.place(2, 4), 2); // offsets 2..6
//! // Offset 7 is free, but 7..10 would leave 6..7 and 0..2: no 3-cycle stretch for the
//! // last chunk. 9..12 (wrapping to 0..2) leaves 6..9.
//! assert_eq!(r.place(7, 3), 9);
//! assert_eq!(r.place(12, 3), 16); // offset 6, in the next period
//! ```

/// Work space for [`Reservations::place_with`] and [`Reservations::peek_with`], so a
/// list scheduler's thousands of trials allocate nothing.
#[derive(Debug, Clone, Default)]
pub struct Scratch {
    free: Vec<(u64, u64)>,
    candidates: Vec<u64>,
    busy: Vec<(u64, u64)>,
    trial_free: Vec<(u64, u64)>,
    witness: Vec<u64>,
    used: Vec<u64>,
}

/// Taken offsets of one processor's period and the chunks still to place there.
#[derive(Debug, Clone)]
pub struct Reservations {
    ii: u64,
    /// Taken `[from, to)` within `[0, ii)`, sorted (a chunk that wraps takes two).
    busy: Vec<(u64, u64)>,
    /// Lengths of the chunks still to place, largest first.
    remaining: Vec<u64>,
    /// Offsets at which `remaining` fits, one per length in the same order.
    witness: Vec<u64>,
}

impl Reservations {
    /// An empty period of `ii` cycles for chunks of `lengths` (their sum at most `ii`).
    pub fn new(ii: u64, lengths: &[u64]) -> Self {
        let mut remaining: Vec<u64> = lengths.iter().copied().filter(|&l| l > 0).collect();
        remaining.sort_unstable_by(|a, b| b.cmp(a));
        let mut r = Reservations { ii: ii.max(1), busy: Vec::new(), remaining, witness: Vec::new() };
        let mut free = Vec::new();
        free_of(&r.busy, r.ii, &mut free);
        r.witness = r.pack(&free, &r.remaining).unwrap_or_default();
        r
    }

    /// Reserves `len` cycles for a chunk ready at `ready`; returns its start (at least
    /// `ready`, the same offset modulo the period as the reservation).
    pub fn place(&mut self, ready: u64, len: u64) -> u64 {
        self.place_with(ready, len, &mut Scratch::default())
    }

    /// Where [`Reservations::place`] would start the chunk, reserving nothing.
    pub fn peek(&self, ready: u64, len: u64) -> u64 {
        self.peek_with(ready, len, &mut Scratch::default())
    }

    /// [`Reservations::place`] with reusable work space (a list scheduler calls it for
    /// every chunk and peeks at many more).
    pub fn place_with(&mut self, ready: u64, len: u64, scratch: &mut Scratch) -> u64 {
        if len == 0 {
            return ready;
        }
        let Some(me) = self.remaining.iter().position(|&l| l == len) else {
            let at = self.first_fit(ready, len, scratch);
            self.reserve(at, len);
            return next_at_offset(ready, at, self.ii);
        };
        let at = match self.packed_offset(me, ready, len, scratch) {
            Some(at) => {
                std::mem::swap(&mut self.busy, &mut scratch.busy);
                std::mem::swap(&mut self.witness, &mut scratch.witness);
                at
            }
            None => {
                // The witness: the rest of it still fits around this chunk.
                let at = self.witness.get(me).copied().unwrap_or(ready % self.ii);
                if me < self.witness.len() {
                    self.witness.remove(me);
                }
                self.reserve(at, len);
                at
            }
        };
        self.remaining.remove(me);
        next_at_offset(ready, at, self.ii)
    }

    /// [`Reservations::peek`] with reusable work space.
    pub fn peek_with(&self, ready: u64, len: u64, scratch: &mut Scratch) -> u64 {
        if len == 0 {
            return ready;
        }
        let at = match self.remaining.iter().position(|&l| l == len) {
            None => self.first_fit(ready, len, scratch),
            Some(me) => self
                .packed_offset(me, ready, len, scratch)
                .unwrap_or_else(|| self.witness.get(me).copied().unwrap_or(ready % self.ii)),
        };
        next_at_offset(ready, at, self.ii)
    }

    /// A lower bound on [`Reservations::peek`]: the first time from `ready` on at an
    /// offset where `len` cycles fit at all, ignoring the chunks still to come.
    pub fn earliest_fit_with(&self, ready: u64, len: u64, scratch: &mut Scratch) -> u64 {
        if len == 0 {
            return ready;
        }
        free_of(&self.busy, self.ii, &mut scratch.free);
        // `peek` may fall back to the witness's offset; that is a fit unless a chunk that
        // was not announced took its place (then no bound is known).
        if let Some(me) = self.remaining.iter().position(|&l| l == len) {
            if self.witness.get(me).is_none_or(|&w| !fits(&scratch.free, self.ii, w, len)) {
                return ready;
            }
        }
        ready + wait_for_fit(&scratch.free, self.ii, ready % self.ii, len).unwrap_or(0)
    }

    /// The offset of the first free fit from `ready` on, for a chunk that was not
    /// announced (cannot happen for chunks counted in the load).
    fn first_fit(&self, ready: u64, len: u64, scratch: &mut Scratch) -> u64 {
        free_of(&self.busy, self.ii, &mut scratch.free);
        let from = ready % self.ii;
        (from + wait_for_fit(&scratch.free, self.ii, from, len).unwrap_or(0)) % self.ii
    }

    /// The earliest offset from `ready` on where the announced chunk `me` (of `len`) fits
    /// and every other chunk still to come packs into what is left; that table and
    /// packing are left in `scratch.busy` and `scratch.witness` (without `me`). `None` if
    /// only the current witness works.
    fn packed_offset(&self, me: usize, ready: u64, len: u64, scratch: &mut Scratch) -> Option<u64> {
        free_of(&self.busy, self.ii, &mut scratch.free);
        let (ii, from) = (self.ii, ready % self.ii);
        let mut candidates = std::mem::take(&mut scratch.candidates);
        self.candidates(&scratch.free, from, len, &mut candidates);
        // Every offset is below the period, so the distance after `from` orders them.
        let after = |o: &u64| if *o >= from { o - from } else { o + ii - from };
        // The nearest candidate usually packs, so it is tried before the rest are sorted.
        let nearest = candidates.iter().copied().min_by_key(after);
        let mut found = nearest.filter(|&at| self.packs_at(me, at, len, scratch));
        if found.is_none() && nearest.is_some() {
            candidates.sort_unstable_by_key(after);
            candidates.dedup();
            found = candidates[1..].iter().copied().find(|&at| self.packs_at(me, at, len, scratch));
        }
        scratch.candidates = candidates;
        found
    }

    /// Whether every announced chunk but `me` packs around `len` cycles reserved at
    /// `at`; that table and packing are left in `scratch.busy` and `scratch.witness`.
    fn packs_at(&self, me: usize, at: u64, len: u64, scratch: &mut Scratch) -> bool {
        with_reserved(&self.busy, self.ii, at, len, &mut scratch.busy);
        free_of(&scratch.busy, self.ii, &mut scratch.trial_free);
        pack_into(
            &scratch.trial_free,
            &self.remaining,
            Some(me),
            self.ii,
            &mut scratch.witness,
            &mut scratch.used,
        )
    }

    /// Offsets where `len` fits, in no particular order: `from` itself and every free
    /// stretch's first and last possible start. (A stretch's start lies in no other
    /// stretch, so it fits exactly when its own stretch has room.)
    fn candidates(&self, free: &[(u64, u64)], from: u64, len: u64, c: &mut Vec<u64>) {
        c.clear();
        if fits(free, self.ii, from, len) {
            c.push(from);
        }
        for &(start, room) in free.iter().filter(|&&(_, room)| room >= len) {
            c.push(start);
            c.push((start + room - len) % self.ii);
        }
    }

    fn reserve(&mut self, at: u64, len: u64) {
        let mut busy = Vec::new();
        with_reserved(&self.busy, self.ii, at, len, &mut busy);
        self.busy = busy;
    }

    /// First-fit decreasing of `lengths` (largest first) into the `free` stretches: the
    /// offset of each, or `None` if one does not fit.
    fn pack(&self, free: &[(u64, u64)], lengths: &[u64]) -> Option<Vec<u64>> {
        let mut out = Vec::new();
        pack_into(free, lengths, None, self.ii, &mut out, &mut Vec::new()).then_some(out)
    }
}

/// The first time from `ready` on whose offset modulo `ii` is `offset`.
pub(crate) fn next_at_offset(ready: u64, offset: u64, ii: u64) -> u64 {
    ready + (offset % ii + ii - ready % ii) % ii
}

/// The free stretches of a sorted, merged busy list into `out`.
fn free_of(busy: &[(u64, u64)], ii: u64, out: &mut Vec<(u64, u64)>) {
    out.clear();
    if busy.is_empty() {
        out.push((0, ii));
        return;
    }
    for (i, &(_, to)) in busy.iter().enumerate() {
        let next = busy.get(i + 1).map_or(busy[0].0 + ii, |b| b.0);
        if next > to {
            out.push((to % ii, next - to));
        }
    }
}

/// Cycles from offset `from` to the first offset where `len` fits in one of the `free`
/// stretches, or `None` if none has room. Within a stretch the fitting offsets run from
/// its start, so from outside them (or inside one past its last fit) the next is a
/// stretch's start.
fn wait_for_fit(free: &[(u64, u64)], ii: u64, from: u64, len: u64) -> Option<u64> {
    let after = |o: u64| if o >= from { o - from } else { o + ii - from };
    free.iter()
        .filter(|&&(_, room)| room >= len)
        .map(|&(start, room)| if (from + ii - start) % ii + len <= room { 0 } else { after(start) })
        .min()
}

fn fits(free: &[(u64, u64)], ii: u64, at: u64, len: u64) -> bool {
    free.iter().any(|&(start, room)| (at + ii - start) % ii + len <= room)
}

/// `busy` with `[at, at + len)` (wrapping) added, sorted and merged, into `out`; touching
/// stretches are merged so the free list sees one gap between them.
fn with_reserved(busy: &[(u64, u64)], ii: u64, at: u64, len: u64, out: &mut Vec<(u64, u64)>) {
    out.clear();
    let end = at + len;
    let mut add = [(at, end.min(ii)), (0, end.saturating_sub(ii))];
    let add = if end > ii {
        add.sort_unstable();
        &add[..]
    } else {
        &add[..1]
    };
    // Merge the two sorted lists, joining touching stretches as they come.
    let (mut i, mut j) = (0, 0);
    while i < busy.len() || j < add.len() {
        let (a, b) = if j == add.len() || (i < busy.len() && busy[i] <= add[j]) {
            i += 1;
            busy[i - 1]
        } else {
            j += 1;
            add[j - 1]
        };
        match out.last_mut() {
            Some(last) if last.1 >= a => last.1 = last.1.max(b),
            _ => out.push((a, b)),
        }
    }
}

/// First-fit decreasing of `lengths` but the one at index `skip` into `out`; false if
/// some length does not fit.
fn pack_into(
    free: &[(u64, u64)],
    lengths: &[u64],
    skip: Option<usize>,
    ii: u64,
    out: &mut Vec<u64>,
    used: &mut Vec<u64>,
) -> bool {
    out.clear();
    used.clear();
    used.resize(free.len(), 0);
    for (_, &len) in lengths.iter().enumerate().filter(|&(k, _)| Some(k) != skip) {
        let Some(i) = (0..free.len()).find(|&i| free[i].1 - used[i] >= len) else {
            return false;
        };
        out.push((free[i].0 + used[i]) % ii);
        used[i] += len;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small deterministic generator (no dependency for one test).
    fn lcg(state: &mut u64) -> u64 {
        *state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        *state >> 33
    }

    #[test]
    fn every_chunk_finds_room_without_overlap_on_a_full_period() {
        for seed in 0..300u64 {
            let mut rng = seed + 1;
            let ii = 50 + lcg(&mut rng) % 200;
            // Lengths that fill the period exactly.
            let mut lengths = Vec::new();
            let mut left = ii;
            while left > 0 {
                let l = (1 + lcg(&mut rng) % (ii / 3).max(1)).min(left);
                lengths.push(l);
                left -= l;
            }
            let mut r = Reservations::new(ii, &lengths);
            let mut taken = vec![false; ii as usize];
            for &len in &lengths {
                let ready = lcg(&mut rng) % (4 * ii);
                let start = r.place(ready, len);
                assert!(start >= ready && start < ready + ii, "seed {seed}: start {start} ready {ready}");
                for c in start..start + len {
                    let slot = (c % ii) as usize;
                    assert!(!taken[slot], "seed {seed}: offset {slot} taken twice");
                    taken[slot] = true;
                }
            }
            assert!(taken.iter().all(|&t| t), "seed {seed}: the period is not full");
        }
    }

    #[test]
    fn peek_agrees_with_place_and_the_bound_is_below_both() {
        for seed in 0..300u64 {
            let mut rng = seed + 7;
            let ii = 40 + lcg(&mut rng) % 160;
            let mut lengths = Vec::new();
            let mut left = ii - lcg(&mut rng) % (ii / 4);
            while left > 0 {
                let l = (1 + lcg(&mut rng) % (ii / 4).max(1)).min(left);
                lengths.push(l);
                left -= l;
            }
            let mut r = Reservations::new(ii, &lengths);
            let mut scratch = Scratch::default();
            // Place in a shuffled order, with an unannounced chunk now and then.
            for (k, &len) in lengths.iter().enumerate() {
                let len = if k % 5 == 4 { len.div_ceil(2) } else { len };
                let ready = lcg(&mut rng) % (3 * ii);
                let bound = r.earliest_fit_with(ready, len, &mut scratch);
                let peeked = r.peek_with(ready, len, &mut scratch);
                assert!(bound >= ready && bound <= peeked, "seed {seed}: bound {bound}, peek {peeked}");
                assert_eq!(r.peek(ready, len), peeked, "seed {seed}: peek without scratch");
                assert_eq!(r.place_with(ready, len, &mut scratch), peeked, "seed {seed}: place after peek");
            }
        }
    }

    /// The first fit found by stretch starts alone is the nearest of all fitting
    /// candidates (which also try the stretches' last fits).
    #[test]
    fn wait_for_fit_is_the_nearest_fitting_candidate() {
        for seed in 0..500u64 {
            let mut rng = seed + 11;
            let ii = 20 + lcg(&mut rng) % 200;
            let mut r = Reservations::new(ii, &[]);
            for _ in 0..lcg(&mut rng) % 8 {
                r.reserve(lcg(&mut rng) % ii, 1 + lcg(&mut rng) % (ii / 6));
            }
            let (mut free, mut c) = (Vec::new(), Vec::new());
            free_of(&r.busy, ii, &mut free);
            for _ in 0..20 {
                let (from, len) = (lcg(&mut rng) % ii, 1 + lcg(&mut rng) % (ii / 3));
                r.candidates(&free, from, len, &mut c);
                let nearest = c.iter().map(|&o| (o + ii - from) % ii).min();
                assert_eq!(
                    wait_for_fit(&free, ii, from, len),
                    nearest,
                    "seed {seed}: from {from}, len {len}"
                );
            }
        }
    }

    #[test]
    fn a_late_chunk_takes_a_free_stretch_instead_of_the_next_period() {
        let mut r = Reservations::new(10, &[4, 3, 3]);
        assert_eq!(r.place(2, 4), 2);
        // A contiguous run would put it at offset 6 of the next period (16).
        assert_eq!(r.place(7, 3), 9);
    }
}
