//! The modules of `payout-app` form layers, each importing only downward: ports (and the error
//! they share) -> config -> services -> use cases -> read models (the HTTP API is a crate of
//! its own above them). This reads every
//! module's `crate::` paths and fails on a cycle, or on a lower layer reaching a higher one.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Top-level modules by layer; a module not listed is a use case.
const LAYERS: [(&str, u8); 7] = [
    ("ports", 0),
    ("error", 0),
    ("config", 1),
    ("services", 2),
    ("health", 4),
    ("insights", 4),
    ("lib", 5),
];
const USE_CASE: u8 = 3;

fn layer(module: &str) -> u8 {
    LAYERS
        .iter()
        .find(|(name, _)| *name == module)
        .map_or(USE_CASE, |(_, layer)| *layer)
}

/// Each top-level module (a directory counts as one) and the modules it names as `crate::x`.
fn imports() -> BTreeMap<String, BTreeSet<String>> {
    fn read(path: &Path, module: &str, graph: &mut BTreeMap<String, BTreeSet<String>>) {
        if path.is_dir() {
            for entry in std::fs::read_dir(path).unwrap() {
                read(&entry.unwrap().path(), module, graph);
            }
            return;
        }
        let text = std::fs::read_to_string(path).unwrap();
        let used = graph.entry(module.to_string()).or_default();
        for (index, _) in text.match_indices("crate::") {
            let name: String = text[index + "crate::".len()..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() && name != module {
                used.insert(name);
            }
        }
    }
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut graph = BTreeMap::new();
    for entry in std::fs::read_dir(&src).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_string_lossy().to_string();
        read(&path, &name, &mut graph);
    }
    graph
}

#[test]
fn modules_import_only_downward_and_never_in_a_circle() {
    let graph = imports();
    for (module, used) in &graph {
        for target in used {
            assert!(
                layer(target) <= layer(module),
                "{module} (layer {}) imports {target} (layer {})",
                layer(module),
                layer(target)
            );
        }
    }
    // Depth-first search for a cycle among everything, use cases with each other included.
    fn visit<'a>(
        module: &'a str,
        graph: &'a BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<&'a str>,
        done: &mut BTreeSet<&'a str>,
    ) {
        if let Some(start) = path.iter().position(|m| *m == module) {
            panic!("import cycle: {} -> {module}", path[start..].join(" -> "));
        }
        if !done.insert(module) {
            return;
        }
        path.push(module);
        for target in graph.get(module).into_iter().flatten() {
            visit(target, graph, path, done);
        }
        path.pop();
    }
    let mut done = BTreeSet::new();
    for module in graph.keys() {
        visit(module, &graph, &mut Vec::new(), &mut done);
    }
}
