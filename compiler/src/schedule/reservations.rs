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
        r.witness = r.pack(&r.free(), &r.remaining).unwrap_or_default();
        r
    }

    /// Reserves `len` cycles for a chunk ready at `ready`; returns its start (at least
    /// `ready`, the same offset modulo the period as the reservation).
    pub fn place(&mut self, ready: u64, len: u64) -> u64 {
        if len == 0 {
            return ready;
        }
        let Some(me) = self.remaining.iter().position(|&l| l == len) else {
            // Not announced (cannot happen for chunks counted in the load): take the
            // first free fit.
            let free = self.free();
            let at = self
                .candidates(&free, ready % self.ii, len)
                .into_iter()
                .find(|&o| fits(&free, self.ii, o, len));
            let at = at.unwrap_or(ready % self.ii);
            self.reserve(at, len);
            return next_at_offset(ready, at, self.ii);
        };
        let witness_at = self.witness.get(me).copied();
        self.remaining.remove(me);
        if me < self.witness.len() {
            self.witness.remove(me);
        }
        // One free list for every candidate; each trial builds its table in scratch
        // vectors and only a trial that packs replaces the current one.
        let free = self.free();
        let (mut busy, mut trial_free, mut witness) = (Vec::new(), Vec::new(), Vec::new());
        for at in self.candidates(&free, ready % self.ii, len) {
            if !fits(&free, self.ii, at, len) {
                continue;
            }
            with_reserved(&self.busy, self.ii, at, len, &mut busy);
            free_of(&busy, self.ii, &mut trial_free);
            if pack_into(&trial_free, &self.remaining, self.ii, &mut witness) {
                self.busy = busy;
                self.witness = witness;
                return next_at_offset(ready, at, self.ii);
            }
        }
        // The witness: the rest of it still fits around this chunk.
        let at = witness_at.unwrap_or(ready % self.ii);
        self.reserve(at, len);
        next_at_offset(ready, at, self.ii)
    }

    /// Offsets worth trying, nearest after `from` first: `from` itself and every free
    /// stretch's first and last possible start.
    fn candidates(&self, free: &[(u64, u64)], from: u64, len: u64) -> Vec<u64> {
        let mut c = Vec::with_capacity(2 * free.len() + 1);
        c.push(from);
        for &(start, room) in free {
            c.push(start);
            if room >= len {
                c.push((start + room - len) % self.ii);
            }
        }
        c.sort_by_key(|&o| ((o + self.ii - from) % self.ii, o));
        c.dedup();
        c
    }

    /// Free stretches `(start, length)` of the period, a stretch that wraps past the end
    /// counted once.
    fn free(&self) -> Vec<(u64, u64)> {
        let mut out = Vec::new();
        free_of(&self.busy, self.ii, &mut out);
        out
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
        pack_into(free, lengths, self.ii, &mut out).then_some(out)
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

/// First-fit decreasing into `out`; false if some length does not fit.
fn pack_into(free: &[(u64, u64)], lengths: &[u64], ii: u64, out: &mut Vec<u64>) -> bool {
    out.clear();
    let mut used = vec![0u64; free.len()];
    for &len in lengths {
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
    fn a_late_chunk_takes_a_free_stretch_instead_of_the_next_period() {
        let mut r = Reservations::new(10, &[4, 3, 3]);
        assert_eq!(r.place(2, 4), 2);
        // A contiguous run would put it at offset 6 of the next period (16).
        assert_eq!(r.place(7, 3), 9);
    }
}
