//! A thin facade over the MILP solvers: build a model once (good_lp expressions), solve
//! it with the chosen backend under a budget, with a warm start, and read back status,
//! bound and values. microlp is driven directly (not through good_lp) so a solve can be
//! bounded by a branch-and-bound node count, which is deterministic, as well as by the
//! wall clock; HiGHS (behind the `highs` feature) goes through good_lp with the wall
//! clock only. No `unwrap` on any solver path: every failure becomes a [`Failure`] the
//! caller can fall back from, and solver messages never reach the user as text.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use good_lp::{Constraint, Expression, IntoAffineExpression, ProblemVariables, Variable, VariableDefinition};

use crate::ScheduleError;

/// A variable's domain, kept next to good_lp's definition so microlp can be fed directly.
#[derive(Debug, Clone, Copy)]
pub enum Domain {
    /// A real in `[min, max]`.
    Real(f64, f64),
    /// An integer in `[min, max]`.
    Integer(i32, i32),
    /// 0 or 1.
    Binary,
}

/// A mixed-integer model under construction.
#[derive(Default)]
pub struct Model {
    vars: ProblemVariables,
    domains: Vec<Domain>,
    all: Vec<Variable>,
    index: HashMap<Variable, usize>,
    constraints: Vec<Constraint>,
    warm: Vec<(Variable, f64)>,
}

/// How much one solve may spend: a node count (deterministic) and a wall-clock deadline
/// (the safety net that bounds `--time-limit`).
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    /// Branch-and-bound nodes (microlp only).
    pub nodes: u64,
    /// Wall-clock deadline.
    pub deadline: Instant,
}

impl Budget {
    /// Seconds left before the deadline.
    pub fn seconds_left(&self) -> f64 {
        self.deadline.saturating_duration_since(Instant::now()).as_secs_f64()
    }
}

/// Why a solve produced no solution, in words fit for a schedule file's note.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// The model has no solution (for example nothing beats the incumbent bound).
    Infeasible,
    /// The budget ran out before any solution was found.
    OutOfBudget,
    /// The solver failed numerically or internally.
    Numerical,
}

impl Failure {
    /// A plain description.
    pub fn describe(self) -> &'static str {
        match self {
            Failure::Infeasible => "no placement in the model beats the incumbent",
            Failure::OutOfBudget => "the solver's budget ran out before it found a placement",
            Failure::Numerical => "the solver failed numerically",
        }
    }
}

/// Which limit ended a solve that did not prove optimality.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// Optimality proven.
    Proven,
    /// The node budget (deterministic).
    Nodes,
    /// The wall clock (the result may differ between runs).
    Clock,
}

/// How a solve ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Solved {
    /// A solution.
    Solution {
        /// Value of every variable.
        values: HashMap<Variable, f64>,
        /// Why the search stopped.
        stop: Stop,
        /// Best proven bound on the objective, if known.
        bound: Option<f64>,
        /// Seconds spent.
        seconds: f64,
        /// Branch-and-bound nodes solved.
        nodes: u64,
    },
    /// No solution.
    Failed {
        /// Why.
        failure: Failure,
        /// Which limit, if one ended the search.
        stop: Stop,
        /// Seconds spent.
        seconds: f64,
    },
}

impl Model {
    /// Adds a variable.
    pub fn var(&mut self, domain: Domain) -> Variable {
        let def: VariableDefinition = match domain {
            Domain::Real(lo, hi) => good_lp::variable().min(lo).max(hi),
            Domain::Integer(lo, hi) => good_lp::variable().integer().min(lo).max(hi),
            Domain::Binary => good_lp::variable().binary(),
        };
        let v = self.vars.add(def);
        self.domains.push(domain);
        self.index.insert(v, self.all.len());
        self.all.push(v);
        v
    }
    /// Adds a constraint.
    pub fn add(&mut self, c: Constraint) {
        self.constraints.push(c);
    }
    /// Records a warm-start value.
    pub fn warm(&mut self, v: Variable, value: f64) {
        self.warm.push((v, value));
    }
    /// Variables and constraints.
    pub fn size(&self) -> (usize, usize) {
        (self.domains.len(), self.constraints.len())
    }
    /// Drops the warm start (a hint the solver rejects numerically is worse than none).
    pub fn clear_warm(&mut self) {
        self.warm.clear();
    }
    /// Minimises `objective` with `solver` (`microlp` or `highs`) within `budget`.
    pub fn minimise(
        &self,
        objective: &Expression,
        solver: &str,
        budget: Budget,
    ) -> Result<Solved, ScheduleError> {
        match solver {
            "microlp" => Ok(self.with_microlp(objective, budget)),
            "highs" => self.with_highs(objective, budget),
            other => Err(ScheduleError::UnknownSolver(other.to_string())),
        }
    }

    /// Terms sorted by variable, so the solver sees the same model on every run.
    fn sorted_terms(&self, e: &Expression) -> Vec<(usize, f64)> {
        let mut terms: Vec<(usize, f64)> = e
            .clone()
            .linear_coefficients()
            .filter(|&(_, c)| c != 0.0)
            .filter_map(|(v, c)| self.index.get(&v).map(|&i| (i, c)))
            .collect();
        terms.sort_by_key(|&(i, _)| i);
        terms
    }

    fn with_microlp(&self, objective: &Expression, budget: Budget) -> Solved {
        let started = Instant::now();
        let mut p = microlp::Problem::new(microlp::OptimizationDirection::Minimize);
        let mut cost = vec![0.0; self.domains.len()];
        for (i, c) in self.sorted_terms(objective) {
            cost[i] += c;
        }
        let vars: Vec<microlp::Variable> = self
            .domains
            .iter()
            .zip(&cost)
            .map(|(d, &c)| match *d {
                Domain::Real(lo, hi) => p.add_var(c, (lo, hi)),
                Domain::Integer(lo, hi) => p.add_integer_var(c, (lo, hi)),
                Domain::Binary => p.add_binary_var(c),
            })
            .collect();
        for con in &self.constraints {
            let e = con.expression();
            let mut lin = microlp::LinearExpr::empty();
            for (i, c) in self.sorted_terms(e) {
                lin.add(vars[i], c);
            }
            let op = if con.is_equality() { microlp::ComparisonOp::Eq } else { microlp::ComparisonOp::Le };
            p.add_constraint(lin, op, -e.constant());
        }
        let mut opts = microlp::SolveOptions::default();
        opts.node_limit = Some(budget.nodes);
        opts.time_limit = Some(Duration::from_secs_f64(budget.seconds_left()));
        if !self.warm.is_empty() {
            opts.warm_start = Some(
                self.warm.iter().filter_map(|&(v, x)| self.index.get(&v).map(|&i| (vars[i], x))).collect(),
            );
        }
        let seconds = || started.elapsed().as_secs_f64();
        let stop_of = |r: microlp::TerminationReason| match r {
            microlp::TerminationReason::ProvenOptimal => Stop::Proven,
            microlp::TerminationReason::NodeLimit | microlp::TerminationReason::MipGap => Stop::Nodes,
            _ => Stop::Clock,
        };
        match p.solve_with(opts) {
            Ok(microlp::SolveOutcome::Solution(sol)) => {
                let values = self.all.iter().zip(&vars).map(|(&v, &i)| (v, sol.var_value(i))).collect();
                let stop = stop_of(sol.termination_reason());
                let bound = if stop == Stop::Proven { Some(sol.objective()) } else { sol.stats().best_bound };
                Solved::Solution { values, stop, bound, seconds: seconds(), nodes: sol.stats().nodes_solved }
            }
            Ok(microlp::SolveOutcome::Interrupted(i)) => Solved::Failed {
                failure: Failure::OutOfBudget,
                stop: stop_of(i.termination_reason()),
                seconds: seconds(),
            },
            Err(microlp::Error::Infeasible) => {
                Solved::Failed { failure: Failure::Infeasible, stop: Stop::Proven, seconds: seconds() }
            }
            Err(e) => {
                crate::schedule::trace(format_args!("microlp: {e}"));
                Solved::Failed { failure: Failure::Numerical, stop: Stop::Proven, seconds: seconds() }
            }
        }
    }

    #[cfg(feature = "highs")]
    fn with_highs(&self, objective: &Expression, budget: Budget) -> Result<Solved, ScheduleError> {
        use good_lp::{
            ResolutionError, Solution, SolutionStatus, SolverModel, WithInitialSolution, WithTimeLimit,
        };
        let started = Instant::now();
        let mut m = self.vars.clone().minimise(objective.clone()).using(good_lp::highs);
        m = m.with_time_limit(budget.seconds_left());
        if !self.warm.is_empty() {
            m = m.with_initial_solution(self.warm.iter().copied());
        }
        for c in &self.constraints {
            m.add_constraint(c.clone());
        }
        let seconds = || started.elapsed().as_secs_f64();
        Ok(match m.solve() {
            Ok(sol) => {
                let values = self.all.iter().map(|&v| (v, sol.value(v))).collect();
                let stop =
                    if matches!(sol.status(), SolutionStatus::Optimal) { Stop::Proven } else { Stop::Clock };
                let bound = (stop == Stop::Proven).then(|| objective.eval_with(&sol));
                Solved::Solution { values, stop, bound, seconds: seconds(), nodes: 0 }
            }
            Err(ResolutionError::Infeasible) => {
                Solved::Failed { failure: Failure::Infeasible, stop: Stop::Proven, seconds: seconds() }
            }
            Err(e) => {
                crate::schedule::trace(format_args!("highs: {e}"));
                let failure =
                    if budget.seconds_left() <= 0.0 { Failure::OutOfBudget } else { Failure::Numerical };
                Solved::Failed { failure, stop: Stop::Clock, seconds: seconds() }
            }
        })
    }

    #[cfg(not(feature = "highs"))]
    fn with_highs(&self, _objective: &Expression, _budget: Budget) -> Result<Solved, ScheduleError> {
        Err(ScheduleError::SolverDisabled("highs".into()))
    }
}
