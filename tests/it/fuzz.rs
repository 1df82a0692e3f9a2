//! Fuzz regression on stable Rust: the committed seed corpus (tests/fuzz/seeds), hostile inputs
//! built here (alias bombs by bytes, a 120k-key mapping, deep nesting, a huge scalar, a huge
//! name), and a deterministic mutation loop of 20,000 inputs, all through the loader and the
//! validator of the real binary under a 2 GiB address-space cap. Every run must end by
//! itself with exit 0, 1 or 2, no panic, and every finding naming its file.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use crate::common::bin_dir;

/// Inputs made by mutation (the bar: at least 20,000); `KGO_FUZZ_MUTANTS` asks for more and
/// `KGO_FUZZ_SEED` for another sequence, for a longer campaign by hand.
const MUTANTS: usize = 20_000;

fn setting(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}
/// Inputs per `validate` run: many files per process keeps the loop fast.
const BATCH: usize = 250;
/// A run that takes longer than this has hung (a hostile input is answered in well under it).
const RUN_LIMIT: Duration = Duration::from_secs(60);
/// `ulimit -v` for every run, in KiB (2 GiB).
const ADDRESS_SPACE_KIB: u64 = 2 * 1024 * 1024;

/// A small deterministic generator (xorshift64*), so every run tries the same inputs.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

/// Fragments that YAML parsers and our walkers treat specially.
const TOKENS: &[&str] = &[
    "&a ",
    "*a",
    "*undefined",
    "<<: *a\n",
    "!!binary ",
    "!!str ",
    "!custom ",
    "!!map ",
    "? ",
    "---\n",
    "...\n",
    "%YAML 1.1\n",
    "- ",
    ": ",
    "{",
    "}",
    "[",
    "]",
    "\"",
    "'",
    "|\n",
    ">-\n",
    "\t",
    "\r\n",
    "\u{feff}",
    "\0",
    "#",
    "~",
    "null",
    "yes",
    "0644",
    "1e9999",
    "-.inf",
    "kind: Secret\n",
    "kind: List\nitems:\n",
    "apiVersion: v1\n",
    "metadata:\n  name: ",
    "image: ",
    "containers:\n- ",
    "stringData:\n  k: ",
    "\u{1f600}",
    "\\x00",
    "${VAR:=x}",
    "      ",
    "\n  \n",
    "key: value\nkey: value\n",
];

fn mutate(seed: &[u8], rng: &mut Rng) -> Vec<u8> {
    let mut out = seed.to_vec();
    for _ in 0..1 + rng.below(4) {
        let len = out.len();
        match rng.below(7) {
            0 if len > 0 => {
                let i = rng.below(len);
                out[i] ^= 1 << rng.below(8);
            }
            1 if len > 0 => {
                let at = rng.below(len);
                let n = rng.below((len - at).min(64) + 1);
                out.drain(at..at + n);
            }
            2 if len > 0 => {
                let at = rng.below(len);
                let n = rng.below((len - at).min(128) + 1);
                let copy: Vec<u8> = out[at..at + n].to_vec();
                let to = rng.below(out.len() + 1);
                out.splice(to..to, copy);
            }
            3 => out.truncate(rng.below(len + 1)),
            4 => {
                // Re-indent one line: YAML's structure is its indentation.
                let lines: Vec<usize> = (0..len)
                    .filter(|&i| i == 0 || out[i - 1] == b'\n')
                    .collect();
                if !lines.is_empty() {
                    let at = lines[rng.below(lines.len())];
                    let spaces = vec![b' '; 1 + rng.below(6)];
                    out.splice(at..at, spaces);
                }
            }
            _ => {
                let token = TOKENS[rng.below(TOKENS.len())].as_bytes();
                let to = rng.below(len + 1);
                out.splice(to..to, token.iter().copied());
            }
        }
    }
    out
}

fn seeds() -> Vec<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz/seeds");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/fuzz/seeds is committed")
        .map(|e| e.expect("seed entry").path())
        .collect();
    paths.sort();
    let seeds: Vec<Vec<u8>> = paths
        .iter()
        .map(|p| std::fs::read(p).expect("read seed"))
        .collect();
    assert!(seeds.len() >= 10, "the seed corpus is in tests/fuzz/seeds");
    seeds
}

/// Inputs too big to commit, made the same way every time: each one a known way to exhaust
/// memory or time in a YAML reader.
fn hostile() -> Vec<(&'static str, Vec<u8>)> {
    let big_scalar = "x".repeat(160 * 1024);
    let mut alias_bomb = format!("a: &a \"{big_scalar}\"\nb: [");
    for _ in 0..13_000 {
        alias_bomb.push_str("*a, ");
    }
    alias_bomb.push_str("*a]\n");
    let mut wide = String::from("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: wide}\ndata:\n");
    for i in 0..120_000 {
        wide.push_str(&format!("  k{i}: v\n"));
    }
    let mut deep = String::from("a: ");
    deep.push_str(&"[".repeat(100_000));
    let mut nested = String::new();
    for i in 0..20_000 {
        nested.push_str(&" ".repeat(i % 200));
        nested.push_str("k:\n");
    }
    let huge_name = format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {}\n",
        "n".repeat(8 * 1024 * 1024)
    );
    let mut billion = String::from("a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for i in 1..10 {
        let p = i - 1;
        billion.push_str(&format!(
            "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
        ));
    }
    vec![
        ("alias-bomb-by-bytes", alias_bomb.into_bytes()),
        ("billion-laughs", billion.into_bytes()),
        ("120k-keys", wide.into_bytes()),
        ("deep-flow", deep.into_bytes()),
        ("deep-block", nested.into_bytes()),
        ("huge-name", huge_name.into_bytes()),
    ]
}

/// Runs `validate -o json DIR` under the memory cap, failing the test if it hangs.
fn validate(dir: &Path) -> Output {
    let bin = bin_dir().join("kubectl-gitops");
    let child = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "ulimit -v {ADDRESS_SPACE_KIB} && exec \"$0\" validate -o json \"$1\""
        ))
        .arg(&bin)
        .arg(dir)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run the binary");
    // Output is collected on a thread of its own (a pipe left unread would stall the child),
    // and the run is killed if it outlives the limit.
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(RUN_LIMIT) {
        Ok(out) => out.expect("collect output"),
        Err(_) => {
            let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
            panic!("validate {} did not finish in {RUN_LIMIT:?}", dir.display());
        }
    }
}

/// The promises every run keeps, whatever it was given.
fn check(out: &Output, dir: &Path, inputs: usize) {
    let err = String::from_utf8_lossy(&out.stderr);
    let code = out.status.code();
    assert!(
        matches!(code, Some(0..=2)),
        "{}: exit {code:?} (a signal or abort means it fell over):\n{}",
        dir.display(),
        &err[..err.len().min(2000)]
    );
    assert!(!err.contains("panicked"), "{}: {err}", dir.display());
    if code == Some(2) {
        return;
    }
    let report: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{}: output is not JSON ({e})", dir.display()));
    assert!(
        report["summary"]["files"].as_u64().unwrap_or(0) as usize <= inputs,
        "{}",
        dir.display()
    );
    for d in report["diagnostics"].as_array().expect("diagnostics") {
        let file = d["file"].as_str().unwrap_or("");
        assert!(
            file.starts_with(&dir.display().to_string()),
            "a finding that names no input file: {d}"
        );
        let message = d["message"].as_str().unwrap_or("");
        assert!(
            message.len() <= 4096,
            "{file}: a {}-byte message",
            message.len()
        );
    }
}

#[test]
fn hostile_inputs_are_answered_without_falling_over() {
    let root = tempfile::tempdir().expect("temp dir");
    for (name, bytes) in hostile() {
        let dir = root.path().join(name);
        std::fs::create_dir_all(&dir).expect("mkdir");
        std::fs::write(dir.join(format!("{name}.yaml")), &bytes).expect("write input");
        let out = validate(&dir);
        check(&out, &dir, 1);
        if name != "120k-keys" {
            // Each of these is refused with the file named (as a limit or a syntax error).
            let report: serde_json::Value =
                serde_json::from_slice(&out.stdout).expect("validate prints JSON");
            let diagnostics = report["diagnostics"].as_array().expect("diagnostics");
            assert!(
                diagnostics.iter().any(|d| d["severity"] == "error"),
                "{name}: accepted"
            );
        }
    }
}

#[test]
fn twenty_thousand_mutants_of_the_seed_corpus() {
    let seeds = seeds();
    // Kept if the test fails, so the failing batch can be looked at; removed at the end.
    let root = tempfile::tempdir().expect("temp dir").keep();
    let mutants = (setting("KGO_FUZZ_MUTANTS", MUTANTS as u64) as usize).max(MUTANTS);
    let mut rng = Rng(setting("KGO_FUZZ_SEED", 0x9e37_79b9_7f4a_7c15).max(1));
    let mut made = 0;
    let mut batch = 0;
    while made < mutants {
        let dir = root.join(format!("batch-{batch:03}"));
        std::fs::create_dir_all(&dir).expect("mkdir");
        let n = BATCH.min(mutants - made);
        for i in 0..n {
            let seed = &seeds[rng.below(seeds.len())];
            std::fs::write(
                dir.join(format!("input-{i:03}.yaml")),
                mutate(seed, &mut rng),
            )
            .expect("write input");
        }
        let out = validate(&dir);
        check(&out, &dir, n);
        std::fs::remove_dir_all(&dir).expect("clean batch");
        made += n;
        batch += 1;
    }
    assert_eq!(made, mutants);
    std::fs::remove_dir_all(&root).expect("clean up");
}

/// Every YAML file of the repository's fixtures and examples, as more seeds for the reader
/// comparison: real manifests in the block style the fast reader handles. A campaign by hand
/// adds a directory of its own with `KGO_FUZZ_SEEDS_DIR` (e.g. a corpus of public repos).
fn fixture_seeds() -> Vec<Vec<u8>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut stack = vec![root.join("tests/fixtures"), root.join("examples")];
    stack.extend(std::env::var_os("KGO_FUZZ_SEEDS_DIR").map(PathBuf::from));
    let mut out = Vec::new();
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut paths: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
        paths.sort();
        for path in paths {
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
                out.push(std::fs::read(&path).expect("read fixture"));
            }
        }
    }
    out
}

/// The fast reader (block-style manifests) and granit (all of YAML) give the same tree, the
/// same positions included, on every mutant the fast reader takes; the rest it hands over.
/// Both readers run in this process: this compares trees, which the binary cannot show.
#[test]
fn the_fast_yaml_reader_agrees_with_granit_on_every_mutant_it_takes() {
    use kubectl_gitops::manifest::yaml::{parse_stream_fast, parse_stream_granit};
    let mut seeds = seeds();
    seeds.extend(fixture_seeds());
    assert!(seeds.len() > 40, "fixtures found: {}", seeds.len());
    let mutants = (setting("KGO_FUZZ_MUTANTS", 50_000) as usize).max(50_000);
    let mut rng = Rng(setting("KGO_FUZZ_SEED", 0x2545_f491_4f6c_dd1d).max(1));
    let (mut taken, mut utf8) = (0, 0);
    for i in 0..mutants + seeds.len() {
        let input = match seeds.get(i) {
            Some(seed) => seed.clone(),
            None => mutate(&seeds[rng.below(seeds.len())], &mut rng),
        };
        let Ok(text) = std::str::from_utf8(&input) else {
            continue;
        };
        utf8 += 1;
        if let Some(fast) = parse_stream_fast(text) {
            taken += 1;
            assert_eq!(
                fast,
                parse_stream_granit(text),
                "the readers differ on input {i}: {text:?}"
            );
        }
    }
    // About a fifth of the mutants stay in the block style (most mutations break it); a
    // reader that took none would prove nothing.
    assert!(
        taken * 10 > utf8,
        "the fast reader took {taken} of {utf8} inputs"
    );
}
