//! Finds the line and column of a field path (`layers[2].conv2d.kernel`) in YAML text,
//! so validation errors can point at the offending value. serde_yaml reports positions
//! only for its own errors; this walks yaml-rust2's marked events for ours.

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::Marker;

/// One step of a field path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// A mapping key.
    Key(String),
    /// A sequence index.
    Index(usize),
}

/// Renders a path as `a.b[2].c`.
pub fn render(path: &[Step]) -> String {
    let mut s = String::new();
    for step in path {
        match step {
            Step::Key(k) => {
                if !s.is_empty() {
                    s.push('.');
                }
                s.push_str(k);
            }
            Step::Index(i) => s.push_str(&format!("[{i}]")),
        }
    }
    s
}

struct Collect(Vec<(Event, Marker)>);

impl MarkedEventReceiver for Collect {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        self.0.push((ev, mark));
    }
}

/// 1-based `(line, column)` of the value at `path`, or of the deepest prefix that exists.
pub fn locate(text: &str, path: &[Step]) -> Option<(usize, usize)> {
    let mut sink = Collect(Vec::new());
    Parser::new_from_str(text).load(&mut sink, false).ok()?;
    let events = sink.0;
    let start = events.iter().position(|(e, _)| {
        matches!(e, Event::MappingStart(..) | Event::SequenceStart(..) | Event::Scalar(..))
    })?;
    let mut best = None;
    walk(&events, start, &mut Vec::new(), path, &mut best);
    best.map(|(_, m): (usize, Marker)| (m.line(), m.col() + 1))
}

/// Walks the node starting at `i`; returns the index after it. Records in `best` the
/// marker of the longest prefix of `target` seen so far.
fn walk(
    ev: &[(Event, Marker)],
    i: usize,
    here: &mut Vec<Step>,
    target: &[Step],
    best: &mut Option<(usize, Marker)>,
) -> usize {
    let Some((event, mark)) = ev.get(i) else { return i };
    if target.starts_with(here) && best.is_none_or(|(depth, _)| here.len() > depth) {
        *best = Some((here.len(), *mark));
    }
    match event {
        Event::MappingStart(..) => {
            let mut j = i + 1;
            while let Some((e, m)) = ev.get(j) {
                match e {
                    Event::MappingEnd => return j + 1,
                    Event::Scalar(key, ..) => {
                        here.push(Step::Key(key.clone()));
                        if target.starts_with(here) && best.is_none_or(|(d, _)| here.len() > d) {
                            // Point at the key; the value may be on the same line anyway.
                            *best = Some((here.len(), *m));
                        }
                        j = walk(ev, j + 1, here, target, best);
                        here.pop();
                    }
                    _ => {
                        j = walk(ev, j, &mut Vec::new(), &[], &mut None);
                        j = walk(ev, j, &mut Vec::new(), &[], &mut None);
                    }
                }
            }
            j
        }
        Event::SequenceStart(..) => {
            let mut j = i + 1;
            let mut k = 0;
            while let Some((e, _)) = ev.get(j) {
                if matches!(e, Event::SequenceEnd) {
                    return j + 1;
                }
                here.push(Step::Index(k));
                j = walk(ev, j, here, target, best);
                here.pop();
                k += 1;
            }
            j
        }
        _ => i + 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_nested_fields() {
        let text = "name: x\nlayers:\n  - linear: {out: 3}\n  - conv2d:\n      out: 4\n      kernel: 9\n";
        let path = [
            Step::Key("layers".into()),
            Step::Index(1),
            Step::Key("conv2d".into()),
            Step::Key("kernel".into()),
        ];
        assert_eq!(locate(text, &path), Some((6, 7)));
        assert_eq!(render(&path), "layers[1].conv2d.kernel");
        let flow =
            [Step::Key("layers".into()), Step::Index(0), Step::Key("linear".into()), Step::Key("out".into())];
        assert_eq!(locate(text, &flow), Some((3, 14)));
    }

    #[test]
    fn falls_back_to_deepest_prefix() {
        let text = "a:\n  b: 1\n";
        let path = [Step::Key("a".into()), Step::Key("zzz".into())];
        assert_eq!(locate(text, &path), Some((1, 1)));
    }
}
