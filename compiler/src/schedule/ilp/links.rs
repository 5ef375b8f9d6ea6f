//! Link loads in phase 1: a linear lower bound on the cycles each data edge puts on each
//! directed link, by how its producer and consumer are cut ([`EdgeLoad`]).
//!
//! In the model (P ≤ [`PER_LINK_MAX`](super::model::PER_LINK_MAX) = 4), a variable per
//! data edge and directed link bounds those cycles from below, through big-M terms on the
//! binaries ([`link_bound`]), and each link's sum is `≤ II`. Above `PER_LINK_MAX` links
//! are left out (still a relaxation; at P = 8 the per-link model solved under 40 nodes a
//! second, too slow to be useful). The packing walk evaluates the same bounds on partial
//! placements ([`LinkBounds`]). The unit tests check them against the one traffic model,
//! `spikepipe_ir::edge_transfers`.

use good_lp::{Expression, Variable};

use super::cut::{packed_plans, Cut};
use super::packing::{Chunks, Constraint};
use super::solve::{Domain, Model};
use crate::schedule::heuristic::{Evaluator, TaskPlan};
use crate::schedule::trace;
use crate::schedule::Problem;

type Placed<'a> = (&'a [Vec<Variable>], &'a [Option<Vec<Variable>>], &'a [Option<Cut>]);

/// The cost model's transfer line `latency + bytes / bandwidth` in units of `scale`
/// cycles: `(latency, bytes per unit)`.
pub(super) fn link_line(p: &Problem, scale: f64) -> (f64, f64) {
    let (latency, bandwidth) = p.cost.transfer_line();
    (latency as f64 / scale, bandwidth as f64 * scale)
}

/// A variable bounding from below the cycles edge `e` puts on link `a → b`
/// ([`link_bound`]).
pub(super) fn link_traffic(
    m: &mut Model,
    placed: Placed,
    e: &petgraph::graph::Edge<spikepipe_ir::Dependence>,
    link: (usize, usize),
    line: (f64, f64),
) -> Expression {
    let rhs = link_bound(placed, e, link, line);
    let f = m.var(Domain::Real(0.0, f64::INFINITY));
    m.add((rhs - f).leq(0.0));
    f.into()
}

/// A linear lower bound on the cycles edge `e` puts on link `a → b`: its transfer's
/// cycles if the producer has work on `a` and the consumer on `b`, else at most 0
/// (big-M on the binaries; `(lat, full)` are the latency and the whole tensor's cycles).
/// A cut side's share is `(r·unit − short·z)/size`, never above the exact share that
/// `spikepipe_ir::edge_transfers` gives; the unit tests below check the bound against it.
fn link_bound(
    (z, r, cuts): Placed,
    e: &petgraph::graph::Edge<spikepipe_ir::Dependence>,
    (a, b): (usize, usize),
    (lat, full): (f64, f64),
) -> Expression {
    let (u, v) = (e.source().index(), e.target().index());
    let share = |t: usize, c: &Cut, q: usize| -> Expression {
        let rt = r[t].as_ref().map_or(Expression::default(), |rt| rt[q].into());
        let short = (c.units * c.unit - c.size) as f64;
        (full * c.unit as f64 / c.size as f64) * rt - (full * short / c.size as f64) * z[t][q]
    };
    let big = lat + full;
    match edge_load(cuts[u].as_ref(), cuts[v].as_ref(), (e.weight.sliced_by, e.weight.kind)) {
        EdgeLoad::Whole => big * z[u][a] + big * z[v][b] - big,
        EdgeLoad::ProducerShare(cu) => lat * z[u][a] + share(u, cu, a) - big + big * z[v][b],
        EdgeLoad::ConsumerShare(cv) => lat * z[v][b] + share(v, cv, b) - big + big * z[u][a],
        EdgeLoad::Latency => lat * z[u][a] + lat * z[v][b] - lat,
        EdgeLoad::Surplus(cu, cv) if z[v].len() == 2 => {
            // What the producer holds on a beyond the rows the consumer takes there must
            // leave a, and at P = 2 over this one link.
            let most = (full * cv.unit as f64 / cv.size as f64)
                * r[v].as_ref().map_or(Expression::default(), |rv| rv[a].into());
            share(u, cu, a) - most
        }
        EdgeLoad::Surplus(..) | EdgeLoad::Nothing => Expression::default(),
        EdgeLoad::Crossed(cu, cv) => {
            lat * z[u][a] + lat * z[v][b] - lat + share(u, cu, a) + share(v, cv, b) - full
        }
    }
}

/// How an edge's tensor is laid out: the dimension that slices it, and its kind.
type EdgeHow = (Option<spikepipe_ir::SplitDim>, spikepipe_ir::EdgeKind);

/// What the model counts of an edge on a link from a processor of its producer to one
/// of its consumer, by how the two are cut ([`link_bound`] and the packing walk's
/// [`LinkBounds`] both price it from this).
#[derive(Clone, Copy)]
enum EdgeLoad<'a> {
    /// The whole tensor: neither side cut, or the consumer cut along a dimension that
    /// does not slice it.
    Whole,
    /// The producer's chunk's share (the consumer runs whole).
    ProducerShare(&'a Cut),
    /// The consumer's chunk's share (the producer runs whole; the consumer's cut slices
    /// the tensor).
    ConsumerShare(&'a Cut),
    /// Two cut tasks: the exact traffic is the overlap of their shares; only the
    /// latency is certain.
    Latency,
    /// Two tasks cut into sample groups: chunks with no sample in common exchange
    /// nothing, so not even the latency is certain.
    Nothing,
    /// As [`EdgeLoad::Nothing`], the consumer cut into whole samples: the
    /// rows the producer holds on a processor beyond those the consumer takes there
    /// must leave it, so at P = 2 the one link carries at least the difference of the
    /// two shares (producer's from below, consumer's from above).
    Surplus(&'a Cut, &'a Cut),
    /// A producer cut into sample groups (all columns) and a consumer cut along the
    /// columns the edge is sliced by (all samples): they share the block of the
    /// producer's samples × the consumer's columns, `x·y` of the tensor, at least
    /// `x + y − 1` (the product's linear lower envelope), beside the latency.
    Crossed(&'a Cut, &'a Cut),
}

fn edge_load<'a>(cu: Option<&'a Cut>, cv: Option<&'a Cut>, (sliced, kind): EdgeHow) -> EdgeLoad<'a> {
    // A consumer cut into sample groups needs only its samples' rows of a tensor that
    // has a row per sample (the traffic model's block rule).
    let needs_share = |cv: &Cut| {
        sliced == Some(cv.dim) || (sliced.is_none() && cv.by_samples && kind == spikepipe_ir::EdgeKind::Data)
    };
    match (cu, cv) {
        (None, None) => EdgeLoad::Whole,
        (Some(cu), None) => EdgeLoad::ProducerShare(cu),
        (None, Some(cv)) if needs_share(cv) => EdgeLoad::ConsumerShare(cv),
        (None, Some(_)) => EdgeLoad::Whole,
        // Two sample groups may share no sample, and then nothing moves.
        (Some(cu), Some(cv)) if cu.by_samples && cv.by_samples => {
            if cv.whole_samples && kind == spikepipe_ir::EdgeKind::Data {
                EdgeLoad::Surplus(cu, cv)
            } else {
                EdgeLoad::Nothing
            }
        }
        (Some(cu), Some(cv))
            if cu.by_samples
                && !cv.by_samples
                && sliced == Some(cv.dim)
                && kind == spikepipe_ir::EdgeKind::Data =>
        {
            EdgeLoad::Crossed(cu, cv)
        }
        (Some(_), Some(_)) => EdgeLoad::Latency,
    }
}

/// The model's link bounds ([`link_bound`], every directed link) as a [`Constraint`] on a
/// packing, and the exact period as its last word: a complete placement is taken only if
/// its exact period is at most the capacity. The bounds depend on which processors a
/// task uses and with how many units, not on their labels or order, so they may prune
/// while the search treats empty processors as interchangeable; an admitted placement
/// that the exact period refuses leaves the capacity undecided.
pub(super) struct LinkBounds<'a> {
    p: &'a Problem<'a>,
    cuts: &'a [Option<Cut>],
    ev: &'a Evaluator<'a>,
    capacity: u64,
    /// Per data edge: producer, consumer, the whole tensor's transfer cycles, the
    /// dimension the consumer's chunks slice it by.
    edges: Vec<(usize, usize, f64, EdgeHow)>,
    latency: f64,
    /// Cycles on each directed link (`a·P + b`) of the placement last admitted.
    links: Vec<f64>,
    /// The placement taken, with its exact period.
    pub(super) found: Option<(Vec<TaskPlan>, u64)>,
}

impl<'a> LinkBounds<'a> {
    pub(super) fn new(
        p: &'a Problem<'a>,
        cuts: &'a [Option<Cut>],
        ev: &'a Evaluator<'a>,
        capacity: u64,
    ) -> Self {
        let (latency, bandwidth) = link_line(p, 1.0);
        let edges = p
            .graph
            .graph
            .raw_edges()
            .iter()
            .map(|e| {
                (
                    e.source().index(),
                    e.target().index(),
                    e.weight.bytes as f64 / bandwidth,
                    (e.weight.sliced_by, e.weight.kind),
                )
            })
            .collect();
        LinkBounds { p, cuts, ev, capacity, edges, latency, links: Vec::new(), found: None }
    }

    /// [`link_bound`] for one edge whose producer has `r` units (a whole task: 1) on one
    /// processor and whose consumer has `s` units on another.
    fn cycles(
        &self,
        &(u, v, full, how): &(usize, usize, f64, EdgeHow),
        r: u64,
        s: u64,
        s_beside: u64,
    ) -> f64 {
        let share = |c: &Cut, n: u64| {
            let short = (c.units * c.unit - c.size) as f64;
            full * (n as f64 * c.unit as f64 - short) / c.size as f64
        };
        let lat = self.latency;
        match edge_load(self.cuts[u].as_ref(), self.cuts[v].as_ref(), how) {
            EdgeLoad::Whole => lat + full,
            EdgeLoad::ProducerShare(cu) => lat + share(cu, r),
            EdgeLoad::ConsumerShare(cv) => lat + share(cv, s),
            EdgeLoad::Latency => lat,
            EdgeLoad::Surplus(cu, cv) if self.p.processors() == 2 => {
                share(cu, r) - full * (s_beside * cv.unit) as f64 / cv.size as f64
            }
            EdgeLoad::Surplus(..) | EdgeLoad::Nothing => 0.0,
            EdgeLoad::Crossed(cu, cv) => lat + share(cu, r) + share(cv, s) - full,
        }
        .max(0.0)
    }
}

impl Constraint for LinkBounds<'_> {
    fn admits(&mut self, placed: &[Option<&Chunks>]) -> bool {
        let procs = self.p.processors() as usize;
        self.links.clear();
        self.links.resize(procs * procs, 0.0);
        for edge in &self.edges {
            let (Some(from), Some(to)) = (placed[edge.0], placed[edge.1]) else { continue };
            for &(a, r, _) in from {
                // The consumer's units beside the producer's chunk, on a itself.
                let beside = to.iter().find(|&&(q, _, _)| q == a).map_or(0, |&(_, s, _)| s);
                for &(b, s, _) in to.iter().filter(|&&(b, _, _)| b != a) {
                    self.links[a as usize * procs + b as usize] += self.cycles(edge, r, s, beside);
                }
            }
        }
        self.links.iter().all(|&l| l <= self.capacity as f64 + 1e-6)
    }

    /// The link loads so far, and where each placed task with an unplaced neighbour runs.
    fn state(&self, placed: &[Option<&Chunks>], key: &mut Vec<u64>) {
        key.extend(self.links.iter().map(|l| l.to_bits()));
        for (t, chunks) in placed.iter().enumerate() {
            let Some(chunks) = chunks else { continue };
            let open = self
                .edges
                .iter()
                .any(|&(u, v, ..)| (u == t && placed[v].is_none()) || (v == t && placed[u].is_none()));
            if open {
                key.push(t as u64);
                key.extend(chunks.iter().flat_map(|&(q, r, short)| [u64::from(q), r, u64::from(short)]));
            }
        }
    }

    fn accepts(&mut self, chunks: &[Chunks]) -> bool {
        let plans = packed_plans(self.p, self.cuts, chunks);
        let e = self.ev.score(&plans).0;
        trace(format_args!(
            "packing (loads and links) at {}: a placement of exact period {e}",
            self.capacity
        ));
        let fits = e <= self.capacity;
        if fits {
            self.found = Some((plans, e));
        }
        fits
    }
}

#[cfg(test)]
mod tests {
    //! The ILP's link model against the one traffic model: at random placements the
    //! ILP expresses, its bound on every edge's cycles on every link never exceeds what
    //! `spikepipe_ir::edge_transfers` priced by the cost model gives, and equals it up to
    //! rounding wherever the model is exact (no side cut, or one side cut with no short
    //! last unit).

    use std::collections::HashMap;

    use petgraph::graph::NodeIndex;
    use spikepipe_ir::{edge_transfers, ChunkRange, PlacedSite, Side};

    use super::*;
    use crate::cost::Systolic;
    use crate::schedule::ilp::cut::cut_of;
    use crate::schedule::ilp::model::{build, expressed, Shape, PER_LINK_MAX};
    use crate::schedule::split::chunk_samples;
    use crate::schedule::split::{chunk_cycles, whole};
    use crate::test_rng::Rng;

    /// A random plan of one task the model can express, built as [`extract`] builds them.
    fn random_plan(p: &Problem, t: &spikepipe_ir::Task, cut: &Option<Cut>, rng: &mut Rng) -> TaskPlan {
        let procs = p.processors() as u64;
        let Some(c) = cut else {
            return TaskPlan {
                ranges: vec![whole()],
                cycles: vec![t.cycles],
                procs: vec![rng.below(procs) as u32],
            };
        };
        let mut cuts: Vec<u64> = (1..procs).map(|_| rng.below(c.units + 1)).collect();
        cuts.sort_unstable();
        cuts.push(c.units);
        let mut plan = TaskPlan { ranges: vec![], cycles: vec![], procs: vec![] };
        let mut next = 0;
        for (q, &upto) in cuts.iter().enumerate().filter(|(_, &u)| u > 0) {
            if upto <= next {
                continue;
            }
            let end = if upto == c.units { c.size } else { upto * c.unit };
            let range = ChunkRange::along(c.dim, next * c.unit, end);
            plan.ranges.push(range);
            plan.cycles.push(chunk_cycles(p, t, range));
            plan.procs.push(q as u32);
            next = upto;
        }
        if plan.ranges.len() == 1 {
            plan.ranges[0] = whole();
            plan.cycles[0] = t.cycles;
        }
        plan
    }

    /// Exact cycles edge `e` puts on link `a → b` under `plans` (the one traffic model).
    fn exact(
        p: &Problem,
        plans: &[TaskPlan],
        e: &petgraph::graph::Edge<spikepipe_ir::Dependence>,
    ) -> Vec<f64> {
        let n = p.processors() as usize;
        let sites = |t: usize| -> Vec<PlacedSite> {
            let task = &p.graph.graph[NodeIndex::new(t)];
            let plan = &plans[t];
            let placed = plan.ranges.iter().zip(&plan.procs);
            placed
                .map(|(&range, &processor)| PlacedSite {
                    processor,
                    range,
                    samples: chunk_samples(p, task, range),
                })
                .collect()
        };
        let (u, v) = (e.source().index(), e.target().index());
        let (su, sv) = (sites(u), sites(v));
        let work = |t: usize| &p.graph.graph[NodeIndex::new(t)].work;
        let mut links = vec![0.0; n * n];
        let (us, vs) = (Side { work: work(u), chunks: &su[..] }, Side { work: work(v), chunks: &sv[..] });
        edge_transfers(e.weight.bytes, e.weight.sliced_by, e.weight.kind, us, vs, |ci, dst, bytes| {
            links[su[ci].processor as usize * n + dst as usize] += p.cost.transfer_cycles(bytes) as f64;
        });
        links
    }

    /// `whole_every`: every so many tasks is kept whole (0: none), so that the model
    /// also has whole tasks and tensors that move whole.
    fn check(specs: &crate::Specs, placements: usize, whole_every: usize) {
        let graph = crate::lower_and_cost(specs);
        let cost = Systolic::new(&specs.hardware);
        let p = Problem { graph: &graph, network: &specs.network, hardware: &specs.hardware, cost: &cost };
        let n = p.processors() as usize;
        let cuts: Vec<Option<Cut>> = p
            .tasks()
            .enumerate()
            .map(|(i, t)| if whole_every > 0 && i % whole_every == 0 { None } else { cut_of(&p, t) })
            .collect();
        let (_, vars) = build(&p, &Shape { cuts: &cuts, lb: 0.0, ub: 1e12, scale: 1.0 });
        let (lat, bw) = link_line(&p, 1.0);
        let mut rng = Rng(0x5eed_1234_abcd_ef01);
        // Transfers where the model is exact: between whole tasks, and with a cut side.
        let mut exact_cases = [0usize; 2];
        for _ in 0..placements {
            let plans: Vec<TaskPlan> =
                p.tasks().zip(&cuts).map(|(t, c)| random_plan(&p, t, c, &mut rng)).collect();
            let (units, has) = expressed(&cuts, n, &plans).expect("the model expresses its own plans");
            let mut values: HashMap<Variable, f64> = HashMap::new();
            for t in 0..plans.len() {
                for q in 0..n {
                    values.insert(vars.z[t][q], f64::from(u8::from(has[t][q])));
                    if let Some(rt) = &vars.r[t] {
                        values.insert(rt[q], units[t][q] as f64);
                    }
                }
            }
            // The packing walk's numeric link bounds are the model's, link by link.
            let chunks: Vec<Chunks> = (0..plans.len())
                .map(|t| {
                    (0..n)
                        .filter(|&q| has[t][q])
                        .map(|q| (q as u32, if cuts[t].is_some() { units[t][q] } else { 1 }, false))
                        .collect()
                })
                .collect();
            let ev = Evaluator::new(&p);
            let mut numeric = LinkBounds::new(&p, &cuts, &ev, u64::MAX / 2);
            assert!(numeric.admits(&chunks.iter().map(Some).collect::<Vec<_>>()));
            let mut summed = vec![0.0f64; n * n];
            for e in p.graph.graph.raw_edges() {
                let want = exact(&p, &plans, e);
                let (cu, cv) = (&cuts[e.source().index()], &cuts[e.target().index()]);
                let no_short = |c: &Cut| c.units * c.unit == c.size;
                let load = edge_load(cu.as_ref(), cv.as_ref(), (e.weight.sliced_by, e.weight.kind));
                let tight = match load {
                    EdgeLoad::Whole => true,
                    EdgeLoad::ProducerShare(c) | EdgeLoad::ConsumerShare(c) => no_short(c),
                    EdgeLoad::Latency | EdgeLoad::Nothing | EdgeLoad::Surplus(..) | EdgeLoad::Crossed(..) => {
                        false
                    }
                };
                let shared = !matches!(load, EdgeLoad::Whole);
                for (a, b) in (0..n).flat_map(|a| (0..n).map(move |b| (a, b))).filter(|(a, b)| a != b) {
                    let bound =
                        link_bound((&vars.z, &vars.r, &cuts), e, (a, b), (lat, e.weight.bytes as f64 / bw));
                    let model = bound.eval_with(&values).max(0.0);
                    summed[a * n + b] += model;
                    let exact = want[a * n + b];
                    assert!(
                        model <= exact + 1e-6,
                        "edge {e:?} on {a}→{b}: model {model} above exact {exact}"
                    );
                    // Rounding: ceil(bytes / bandwidth), and ceil of a share's bytes.
                    if tight {
                        assert!(exact - model < 2.0, "edge {e:?} on {a}→{b}: model {model}, exact {exact}");
                        exact_cases[usize::from(shared)] += usize::from(exact > 0.0);
                    }
                }
            }
            for (l, (&x, &y)) in numeric.links.iter().zip(&summed).enumerate() {
                assert!((x - y).abs() < 1e-6 * y.max(1.0), "link {l}: walk {x}, model {y}");
            }
        }
        // With every task cut, only the bound itself is checked: two cut sides leave the
        // model nothing exact.
        if whole_every > 0 {
            assert!(
                exact_cases[0] > 0 && exact_cases[1] > 0,
                "placements exercise the exact model, on whole tensors and on shares"
            );
        }
    }

    fn specs(p: u64, link: Option<(u64, u64)>) -> crate::Specs {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let model = root.join("models/mlp-digits.yaml");
        let hw = root.join("models/hw/sa32-ws.yaml");
        let mut specs = crate::load_specs(&model, Some(&hw), Some(p)).expect("bundled specs load");
        if let Some((bytes_per_cycle, latency_cycles)) = link {
            specs.hardware.link = spikepipe_ir::LinkSpec { bytes_per_cycle, latency_cycles };
        }
        specs
    }

    #[test]
    fn ilp_link_model_agrees_with_the_traffic_model() {
        for p in 2..=PER_LINK_MAX as u64 {
            for whole_every in [0, 2, 3] {
                check(&specs(p, None), 40, whole_every);
                check(&specs(p, Some((3, 50))), 40, whole_every);
            }
        }
    }
}
