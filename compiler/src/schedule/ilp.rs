//! `ilp` (placeholder until the solver lands): uses the heuristic.
use super::{heuristic, Outcome, Problem, Scheduler};
use crate::ScheduleError;

/// ILP scheduler.
pub struct Ilp;
impl Ilp {
    /// New.
    pub fn new(_o: &crate::CompileOptions) -> Ilp {
        Ilp
    }
}
impl Scheduler for Ilp {
    fn name(&self) -> &'static str {
        "ilp"
    }
    fn schedule(&self, p: &Problem) -> Result<Outcome, ScheduleError> {
        Ok(Outcome::feasible(heuristic::placement_of(&heuristic::best_plan(p)?), "todo"))
    }
}
