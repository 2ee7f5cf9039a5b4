//! The memory budget of an ONNX model, enforced before anything it declares
//! is allocated.
//!
//! A model file is untrusted bytes. A 1 KB file can hold
//! `ConstantOfShape([100000, 100000])`, which tract folds into a constant
//! during its analysis: 40 GB asked for before any check of the result (an
//! abort natively, a dead instance in wasm). So, in this order:
//!
//! 1. [`check_tensors`] walks every tensor the file declares (initializers,
//!    `Constant` values and tensor attributes, in subgraphs too) before tract
//!    reads them: a supported data type, non-negative dimensions whose product
//!    does not overflow, stored data exactly as long as the dimensions say, no
//!    external data (models are bytes, never paths), and the declared bytes
//!    within the budget.
//! 2. Our own int8 weight folding ([`super::onnx_fold::fold_quantized_weights`])
//!    charges every tensor it makes to the same budget before allocating it.
//! 3. [`analyse`] runs tract's type and shape analysis node by node (as tract
//!    does), but before a node whose inputs are all known values is evaluated
//!    (tract folds such nodes eagerly), it infers the node's output shapes
//!    without evaluating and charges their bytes; a node whose output size
//!    cannot be known before evaluating it is refused.
//! 4. [`check_typed`], on the typed model and before decluttering or
//!    optimisation: every constant together within the budget, and every
//!    tensor of a run, at each of the caller's worst-case input sizes, within
//!    the budget on its own.
//!
//! The budget is `max(MIN_BUDGET, FILE_SIZE_FACTOR × file size)`; going
//! over it is [`Error::ResourceLimit`] (`resource_limit`), a malformed
//! tensor is [`Error::InvalidModel`] (`invalid_model`).

use std::collections::{BTreeSet, HashMap};

use tract_onnx::pb::{GraphProto, ModelProto, TensorProto};
use tract_onnx::prelude::*;
use tract_onnx::tract_hir::infer::{Factoid, GenericFactoid, InferenceModel, InferenceOp};

use crate::error::{chain, Error, Result};

/// The budget never goes below this (256 MiB): enough for every model this
/// library ships with, folded to f32, and their largest activations.
pub const MIN_BUDGET: u64 = 256 << 20;
/// A model may ask for this many times its file size (int8 weights folded to
/// f32 take 4×; shapes and activations the rest).
pub const FILE_SIZE_FACTOR: u64 = 16;

/// Bytes a model may make the loader allocate, and how many it has so far.
#[derive(Debug, Clone)]
pub(crate) struct Budget {
    limit: u64,
    used: u64,
}

impl Budget {
    /// The budget of a model file of `file_len` bytes (see the module docs).
    pub(crate) fn for_model(file_len: usize) -> Self {
        let by_size = (file_len as u64).saturating_mul(FILE_SIZE_FACTOR);
        Self {
            limit: by_size.max(MIN_BUDGET),
            used: 0,
        }
    }

    /// Takes `bytes` from the budget, or refuses with a
    /// [`Error::ResourceLimit`] naming `what` (nothing is taken then).
    pub(crate) fn charge(&mut self, bytes: u64, what: impl FnOnce() -> String) -> Result<()> {
        match self.used.checked_add(bytes) {
            Some(total) if total <= self.limit => {
                self.used = total;
                Ok(())
            }
            _ => Err(self.refusal(bytes, what())),
        }
    }

    /// Checks that one tensor of `bytes` fits in the whole budget (for
    /// tensors that live only during a run), without taking anything.
    fn fits(&self, bytes: u64, what: impl FnOnce() -> String) -> Result<()> {
        if bytes <= self.limit {
            Ok(())
        } else {
            Err(self.refusal(bytes, what()))
        }
    }

    fn refusal(&self, bytes: u64, what: String) -> Error {
        Error::ResourceLimit(format!(
            "{what} needs {} MiB; the model's budget is {} MiB (max({} MiB, {FILE_SIZE_FACTOR} × its file size)), {} MiB of it already used",
            bytes >> 20,
            self.limit >> 20,
            MIN_BUDGET >> 20,
            self.used >> 20
        ))
    }
}

/// How deep subgraphs (`If`, `Loop`, `Scan` bodies) may nest.
const MAX_GRAPH_DEPTH: usize = 16;

/// Step 1 of the module docs: every tensor the file declares is well formed
/// and their bytes, together, fit in `budget`.
pub(crate) fn check_tensors(proto: &ModelProto, budget: &mut Budget) -> Result<()> {
    match proto.graph.as_ref() {
        Some(graph) => check_graph(graph, budget, 0, &std::collections::HashSet::new()),
        None => Ok(()),
    }
}

/// Checks `graph` (a subgraph `depth` deep, which may read the names of the
/// graphs around it, `outer`): its tensors fit in `budget`, and every output
/// it declares names a value it or an outer graph has (tract indexes its
/// table of values by that name and would panic on an unknown one).
fn check_graph(graph: &GraphProto, budget: &mut Budget, depth: usize, outer: &std::collections::HashSet<&str>) -> Result<()> {
    if depth > MAX_GRAPH_DEPTH {
        return Err(Error::InvalidModel(format!(
            "subgraphs nested more than {MAX_GRAPH_DEPTH} deep"
        )));
    }
    let mut known = outer.clone();
    known.extend(graph.input.iter().map(|i| i.name.as_str()));
    known.extend(graph.initializer.iter().map(|t| t.name.as_str()));
    known.extend(graph.node.iter().flat_map(|n| n.output.iter().map(String::as_str)));
    if let Some(missing) = graph.output.iter().find(|o| !known.contains(o.name.as_str())) {
        return Err(Error::InvalidModel(format!(
            "the graph output {:?} is not produced by any node, input or initializer",
            missing.name
        )));
    }
    for t in &graph.initializer {
        charge_tensor(t, budget)?;
    }
    for node in &graph.node {
        for a in &node.attribute {
            for t in a.t.iter().chain(&a.tensors) {
                charge_tensor(t, budget)?;
            }
            for g in a.g.iter().chain(&a.graphs) {
                check_graph(g, budget, depth + 1, &known)?;
            }
        }
    }
    Ok(())
}

fn charge_tensor(t: &TensorProto, budget: &mut Budget) -> Result<()> {
    let bytes = tensor_bytes(t)?;
    budget.charge(bytes, || format!("tensor {:?} {:?}", t.name, t.dims))
}

/// ONNX `TensorProto.DataLocation.EXTERNAL`.
const EXTERNAL: i32 = 1;
/// ONNX `TensorProto.DataType.STRING`.
const STRING: i32 = 8;

/// The bytes a tensor declares, after checking that its stored data matches
/// its dimensions exactly (see step 1 of the module docs).
pub(crate) fn tensor_bytes(t: &TensorProto) -> Result<u64> {
    let bad = |m: String| Error::InvalidModel(format!("tensor {:?}: {m}", t.name));
    if t.data_location == Some(EXTERNAL) || !t.external_data.is_empty() {
        return Err(bad(
            "its data is in an external file; models are loaded from bytes only".into(),
        ));
    }
    let count = t
        .dims
        .iter()
        .try_fold(1u64, |acc, &d| u64::try_from(d).ok().and_then(|d| acc.checked_mul(d)))
        .ok_or_else(|| bad(format!("shape {:?} has a negative dimension or overflows", t.dims)))?;
    if t.data_type == STRING {
        if !t.raw_data.is_empty() {
            return Err(bad("a string tensor cannot hold raw data".into()));
        }
        if t.string_data.len() as u64 != count {
            return Err(bad(format!("{} strings for shape {:?}", t.string_data.len(), t.dims)));
        }
        let text: u64 = t.string_data.iter().map(|s| s.len() as u64).sum();
        return Ok(text.saturating_add(count.saturating_mul(24)));
    }
    // (element size, number of values stored in the typed field tract reads)
    let (size, typed) = match t.data_type {
        1 => (4, t.float_data.len()),
        2 | 3 | 9 => (1, t.int32_data.len()),
        4 | 5 | 10 => (2, t.int32_data.len()),
        6 | 12 => (4, t.int32_data.len()),
        7 | 13 => (8, t.int64_data.len()),
        11 => (8, t.double_data.len()),
        other => return Err(bad(format!("unsupported data type {other}"))),
    };
    let bytes = count
        .checked_mul(size)
        .ok_or_else(|| bad(format!("shape {:?} is too large", t.dims)))?;
    let stored_ok = if t.raw_data.is_empty() {
        typed as u64 == count
    } else {
        t.raw_data.len() as u64 == bytes
    };
    if !stored_ok {
        return Err(bad(format!(
            "shape {:?} needs {count} values ({bytes} bytes) but the tensor stores {}",
            t.dims,
            if t.raw_data.is_empty() {
                format!("{typed} values")
            } else {
                format!("{} bytes", t.raw_data.len())
            }
        )));
    }
    Ok(bytes)
}

/// Bytes of one element of `dt` (8 when unknown: the widest numeric type).
fn elem_size(dt: Option<DatumType>) -> u64 {
    dt.map_or(8, |dt| dt.size_of() as u64)
}

/// What a node's output will take once evaluated.
enum OutputSize {
    /// All dimensions are numbers: this many bytes.
    Bytes(u64),
    /// Some dimension is a symbol: it cannot be made into a tensor before
    /// the symbol has a value, so evaluating allocates nothing for it.
    Symbolic,
    /// The rank or a dimension is unknown.
    Unknown,
}

fn output_size(fact: &InferenceFact) -> OutputSize {
    if fact.shape.is_open() {
        return OutputSize::Unknown;
    }
    let mut count = 1u64;
    let mut symbolic = false;
    for dim in fact.shape.dims() {
        match dim {
            GenericFactoid::Any => return OutputSize::Unknown,
            GenericFactoid::Only(d) => match d.to_i64() {
                Ok(v) => match u64::try_from(v).ok().and_then(|v| count.checked_mul(v)) {
                    Some(c) => count = c,
                    None => return OutputSize::Bytes(u64::MAX),
                },
                Err(_) => symbolic = true,
            },
        }
    }
    if symbolic {
        return OutputSize::Symbolic;
    }
    OutputSize::Bytes(count.saturating_mul(elem_size(fact.datum_type.concretize())))
}

/// Step 3 of the module docs: tract's analysis (the same fixpoint as
/// `InferenceModel::analyse`), with every eager evaluation sized and charged
/// first. On success the model is fully analysed, so tract's own analysis in
/// `into_typed` evaluates nothing this did not check.
pub(crate) fn analyse(model: &mut InferenceModel, budget: &mut Budget) -> Result<()> {
    let order = model.eval_order().map_err(|e| Error::UnsupportedModel(chain(&e)))?;
    let mut to_visit: BTreeSet<usize> = order.into_iter().collect();
    to_visit.extend(0..model.nodes().len());
    let mut observers: HashMap<OutletId, Vec<usize>> = HashMap::new();
    for node in model.nodes() {
        for outlet in node.op.observe_outlets(model, node).map_err(unsupported)? {
            observers.entry(outlet).or_default().push(node.id);
        }
    }
    // Bytes charged for each node's folded outputs (charged once: a node
    // visited again replaces its value instead of adding one).
    let mut charged: HashMap<usize, u64> = HashMap::new();
    while let Some(node) = to_visit.pop_first() {
        let changed = analyse_one(model, node, budget, &mut charged)?;
        for outlet in changed {
            let successors = &model.nodes()[outlet.node].outputs[outlet.slot].successors;
            to_visit.extend(successors.iter().map(|s| s.node).filter(|&n| n != outlet.node));
            if outlet.node != node {
                to_visit.insert(outlet.node);
            }
            if let Some(obs) = observers.get(&outlet) {
                to_visit.extend(obs.iter().copied());
            }
        }
    }
    Ok(())
}

fn unsupported(e: TractError) -> Error {
    Error::UnsupportedModel(chain(&e))
}

/// One step of the analysis of `id`; returns the outlets whose facts changed.
fn analyse_one(
    model: &mut InferenceModel,
    id: usize,
    budget: &mut Budget,
    charged: &mut HashMap<usize, u64>,
) -> Result<Vec<OutletId>> {
    let node = &model.nodes()[id];
    let (inputs, outputs) = model.node_facts(id).map_err(unsupported)?;
    let inputs: TVec<InferenceFact> = inputs.into_iter().cloned().collect();
    let outputs: TVec<InferenceFact> = outputs.into_iter().cloned().collect();
    let observed_outlets = node.op.observe_outlets(model, node).map_err(unsupported)?;
    let observed: TVec<InferenceFact> = observed_outlets
        .iter()
        .map(|o| model.outlet_fact(*o).cloned())
        .collect::<TractResult<_>>()
        .map_err(unsupported)?;
    let context = |e: TractError| {
        Error::UnsupportedModel(format!("node {} ({}): {}", node.name, node.op.name(), chain(&e)))
    };
    // tract's GatherND shape rules underflow on scalar indices, and its
    // evaluation indexes unchecked: checked before tract's rules run.
    super::onnx_guard::check_inference_gather_nd(&node.name, node.op.as_op(), &inputs)?;
    // tract evaluates a node eagerly when every input value is known.
    let eager = !inputs.is_empty() && inputs.iter().all(|i| i.value.is_concrete());
    if eager {
        if node.op.name() == "Gather" {
            super::onnx_guard::check_eager_gather(&node.name, &node.op, &inputs)?;
        }
        let mut probe: Box<dyn InferenceOp> = node.op.clone();
        let (_, predicted, _) = probe
            .infer_facts(inputs.iter().collect(), outputs.iter().collect(), observed.iter().collect())
            .map_err(context)?;
        let mut bytes = 0u64;
        for fact in &predicted {
            match output_size(fact) {
                OutputSize::Bytes(b) => bytes = bytes.saturating_add(b),
                OutputSize::Symbolic => {}
                OutputSize::Unknown => {
                    return Err(Error::ResourceLimit(format!(
                        "node {} ({}) has only constant inputs, and the size of what it computes cannot be known before computing it",
                        node.name,
                        node.op.name()
                    )))
                }
            }
        }
        let before = charged.get(&id).copied().unwrap_or(0);
        if bytes > before {
            budget.charge(bytes - before, || {
                format!("folding node {} ({}) into a constant", node.name, node.op.name())
            })?;
            charged.insert(id, bytes);
        }
    }
    let inferred = model
        .node_mut(id)
        .op
        .infer(inputs.iter().collect(), outputs.iter().collect(), observed.iter().collect())
        .map_err(|e| {
            let node = &model.nodes()[id];
            Error::UnsupportedModel(format!("node {} ({}): {}", node.name, node.op.name(), chain(&e)))
        })?;
    let node = &model.nodes()[id];
    let mut changed: Vec<(OutletId, InferenceFact)> = Vec::new();
    for (ix, &outlet) in node.inputs.iter().enumerate() {
        if let Some(fact) = inferred.0.get(ix) {
            let old = model.outlet_fact(outlet).map_err(unsupported)?;
            let unified = fact.unify(old).map_err(unsupported)?;
            if &unified != old {
                changed.push((outlet, unified));
            }
        }
    }
    for (ix, fact) in inferred.1.iter().enumerate() {
        let outlet = OutletId::new(id, ix);
        let old = model.outlet_fact(outlet).map_err(unsupported)?;
        let unified = old.unify(fact).map_err(unsupported)?;
        if &unified != old {
            changed.push((outlet, unified));
        }
    }
    for (ix, &outlet) in observed_outlets.iter().enumerate() {
        if let Some(fact) = inferred.2.get(ix) {
            let old = model.outlet_fact(outlet).map_err(unsupported)?;
            let unified = old.unify(fact).map_err(unsupported)?;
            if &unified != old {
                changed.push((outlet, unified));
            }
        }
    }
    let mut outlets = Vec::with_capacity(changed.len());
    for (outlet, fact) in changed {
        model.set_outlet_fact(outlet, fact).map_err(unsupported)?;
        outlets.push(outlet);
    }
    Ok(outlets)
}

/// Step 4 of the module docs, on the typed model before decluttering:
/// constants (weights and everything folded) together within what is left
/// of `budget`, and every other tensor, at each of `worst_cases` (values of
/// the input symbols), within the whole budget on its own. A size that
/// depends on a symbol none of `worst_cases` gives (data-dependent) is not
/// counted.
pub(crate) fn check_typed(
    model: &TypedModel,
    budget: &Budget,
    worst_cases: &[SymbolValues],
) -> Result<()> {
    let mut constants = 0u64;
    for node in model.nodes() {
        for (slot, output) in node.outputs.iter().enumerate() {
            let fact = &output.fact;
            let elem = fact.datum_type.size_of() as u64;
            if let Some(k) = &fact.konst {
                constants = constants.saturating_add((k.len() as u64).saturating_mul(elem));
                continue;
            }
            let cases: &[SymbolValues] =
                if worst_cases.is_empty() { &[SymbolValues::default()] } else { worst_cases };
            for case in cases {
                if let Some(bytes) = run_bytes(fact.shape.dims(), case, elem) {
                    budget.fits(bytes, || {
                        format!("tensor {}:{slot} of shape {:?} in a run", node.name, fact.shape)
                    })?;
                }
            }
        }
    }
    // Constants already charged as tensors (step 1) and folds (steps 2, 3)
    // are the same bytes seen again here, so this compares with the whole limit.
    budget.fits(constants, || "the model's constants together".into())
}

/// Bytes of a tensor of `dims` at the symbol values `case`, multiplied dim by
/// dim with saturation (tract's own volume of a shape wraps on overflow:
/// `[2^40, 2^40]` would count as 0); `None` when a dimension depends on a
/// symbol `case` does not give.
fn run_bytes(dims: &[TDim], case: &SymbolValues, elem: u64) -> Option<u64> {
    let mut count = 1u64;
    for dim in dims {
        let value = dim.eval_to_i64(case).ok()?;
        count = count.saturating_mul(u64::try_from(value).unwrap_or(u64::MAX));
    }
    Some(count.saturating_mul(elem))
}
