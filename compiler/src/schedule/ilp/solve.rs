//! A thin facade over good_lp: build a model once, solve it with the chosen backend
//! (microlp built in, HiGHS behind the `highs` feature) under a time limit, with a warm
//! start, and read back status, gap and values. No `unwrap` on any solver path: every
//! failure becomes a value the caller can fall back from.

use std::collections::HashMap;
use std::time::Instant;

use good_lp::{
    Constraint, Expression, ProblemVariables, Solution, SolutionStatus, SolverModel, Variable,
    VariableDefinition,
};
use good_lp::{WithInitialSolution, WithTimeLimit};

use crate::ScheduleError;

/// A mixed-integer model under construction.
pub struct Model {
    vars: ProblemVariables,
    all: Vec<Variable>,
    constraints: Vec<Constraint>,
    warm: Vec<(Variable, f64)>,
}

/// How a solve ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Solved {
    /// A solution; `optimal` if proven, with the relative gap if known.
    Solution {
        /// Value of every variable.
        values: HashMap<Variable, f64>,
        /// Optimality proven.
        optimal: bool,
        /// Relative gap to the best bound.
        gap: Option<f64>,
        /// Seconds spent.
        seconds: f64,
    },
    /// No solution: time-out before an incumbent, infeasible, or a solver error.
    Failed {
        /// Why.
        reason: String,
        /// Seconds spent.
        seconds: f64,
    },
}

impl Default for Model {
    fn default() -> Self {
        Model { vars: ProblemVariables::new(), all: Vec::new(), constraints: Vec::new(), warm: Vec::new() }
    }
}

impl Model {
    /// Adds a variable.
    pub fn var(&mut self, def: VariableDefinition) -> Variable {
        let v = self.vars.add(def);
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
    /// Minimises `objective` with `solver` (`microlp` or `highs`) for at most `seconds`.
    pub fn minimise(
        self,
        objective: Expression,
        solver: &str,
        seconds: f64,
    ) -> Result<Solved, ScheduleError> {
        match solver {
            "microlp" => Ok(self.with_microlp(objective, seconds)),
            "highs" => self.with_highs(objective, seconds),
            other => Err(ScheduleError::UnknownSolver(other.to_string())),
        }
    }

    fn with_microlp(self, objective: Expression, seconds: f64) -> Solved {
        self.run(objective, good_lp::microlp, seconds, |sol| sol.into_inner().gap())
    }

    #[cfg(feature = "highs")]
    fn with_highs(self, objective: Expression, seconds: f64) -> Result<Solved, ScheduleError> {
        Ok(self.run(objective, good_lp::highs, seconds, |_| None))
    }

    #[cfg(not(feature = "highs"))]
    fn with_highs(self, _objective: Expression, _seconds: f64) -> Result<Solved, ScheduleError> {
        Err(ScheduleError::SolverDisabled("highs".into()))
    }

    fn run<S>(
        self,
        objective: Expression,
        solver: S,
        seconds: f64,
        gap_of: impl FnOnce(<S::Model as SolverModel>::Solution) -> Option<f64>,
    ) -> Solved
    where
        S: good_lp::Solver,
        S::Model: WithTimeLimit + WithInitialSolution,
    {
        let started = Instant::now();
        let Model { vars, all, constraints, warm } = self;
        let mut m = vars.minimise(objective).using(solver).with_time_limit(seconds.max(0.0));
        if !warm.is_empty() {
            m = m.with_initial_solution(warm);
        }
        for c in constraints {
            m.add_constraint(c);
        }
        match m.solve() {
            Ok(sol) => {
                let values = all.iter().map(|&v| (v, sol.value(v))).collect();
                let optimal = matches!(sol.status(), SolutionStatus::Optimal);
                let gap = if optimal { Some(0.0) } else { gap_of(sol) };
                Solved::Solution { values, optimal, gap, seconds: started.elapsed().as_secs_f64() }
            }
            Err(e) => Solved::Failed { reason: e.to_string(), seconds: started.elapsed().as_secs_f64() },
        }
    }
}
